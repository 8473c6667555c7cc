"""The outlier thresholds of a spec (its `outliers:` key), parsed and validated when the spec loads.

A unit's value is worth a look (a warning, never a change to the totals) when it is far from its own
history or from the other units of its level (compare DHIS2's min–max and z-score outlier checks):

- `ratio`: a number at least this many times its value of the period before, or at most 1/ratio of it;
- `points`: a percentage that moved more than this many percentage points from the period before;
- `range_margin`: outside the lowest and highest of its earlier periods (with at least `min_history`
  of them), widened by this share (1.0: above twice the highest or below half the lowest);
- `z`: a robust z-score among the units of its level (with at least `min_units` of them) above this;
- `min_value`: numbers below this on both sides are not compared (1 dossier against 9 is no news).
"""

from __future__ import annotations

from dataclasses import dataclass, fields


@dataclass(frozen=True)
class OutlierThresholds:
    """When a unit's value is far from its history or its peers (see the module docstring)."""

    ratio: float = 5.0
    points: float = 30.0
    range_margin: float = 1.0
    min_history: int = 3
    z: float = 3.5
    min_units: int = 5
    min_value: float = 10.0


_WHOLE = ("min_history", "min_units")


def parse_outliers(data, fail) -> OutlierThresholds:
    """The spec's `outliers:` key (absent: the defaults); `fail(where, what)` raises the loader's SpecError."""
    if data is None:
        return OutlierThresholds()
    if not isinstance(data, dict):
        fail("outliers", "phải là một bảng (mapping) YAML, dạng khóa: giá trị")
    known = {f.name for f in fields(OutlierThresholds)}
    for key in set(data) - known:
        fail(f"outliers.{key}", f"khóa không được hỗ trợ (chỉ nhận {', '.join(sorted(known))})")
    for key, value in data.items():
        whole = key in _WHOLE
        if isinstance(value, bool) or not isinstance(value, int if whole else (int, float)) or value < 0:
            fail(f"outliers.{key}", f"phải là một số {'nguyên ' if whole else ''}không âm (nhận được {value!r})")
    if data.get("ratio", 2) <= 1:
        fail("outliers.ratio", f"phải lớn hơn 1 (nhận được {data['ratio']!r})")
    return OutlierThresholds(**data)
