"""Who sent a workbook, for which period, with which forms: from the arguments, our template's metadata,
the roster, or, in a hand-made workbook, its title rows and its file name.

Officials head their sheets with text such as "UBND PHƯỜNG TAM QUAN BẮC" and "BÁO CÁO CÔNG TÁC CẢI CÁCH
HÀNH CHÍNH QUÝ II/2023", and name files `BC_CCHC_Quy_II_2023_Tam_Quan_Bac.xlsx`. Units are matched against
the roster by name, ignoring case, diacritics and the "UBND"/"phường" prefixes; the longest name found
wins, and two different units named alike give no answer rather than a wrong one.
"""

from __future__ import annotations

import re

from cchc_excel.core.findings import Issue
from cchc_excel.errors import CchcError
from cchc_excel.core.periods import Period, find_period, parse_period
from cchc_excel.core.roster import Roster, Unit, unit_code
from cchc_excel.core.text import fold
from cchc_excel.spec.model import FormSpec

__all__ = ["identify", "check_spec", "find_unit", "find_period_in", "file_name_text"]

# Period codes as they appear in file names: Q2_2023, 2023-Q2, 2023Q2, 6T_2023.
_SHORT_QUARTER = re.compile(r"(?<![a-z0-9])(?:q([1-4])[\s._-]*(\d{4})|(\d{4})[\s._-]*q([1-4]))(?![0-9])")
_SHORT_HALF = re.compile(r"(?<![a-z0-9])(?:(6|9)t(?:hang)?[\s._-]*(\d{4})|(\d{4})[\s._-]*(h1|9m))(?![0-9a-z])")


def file_name_text(stem: str) -> str:
    """A file name as words: `BC_CCHC_Quy-II_2023` -> `BC CCHC Quy-II 2023`."""
    return re.sub(r"[_+]+", " ", stem)


def find_period_in(texts, file_stem: str = "") -> Period | None:
    """The first period written in `texts` (quarters and half-years before a bare "năm 2023"), else in
    the file name."""
    year_only = None
    for text in texts:
        found = find_period(text)
        if found is None:
            continue
        if found[0].kind != "Y":
            return found[0]
        if len(text) <= 150:  # a title, not a sentence that happens to say "năm 2015"
            year_only = year_only or found[0]
    if year_only:
        return year_only
    if not file_stem:
        return None
    name = fold(file_name_text(file_stem))
    m = _SHORT_QUARTER.search(name)
    if m:
        quarter, year = (m.group(1), m.group(2)) if m.group(1) else (m.group(4), m.group(3))
        return Period(int(year), f"Q{quarter}")
    m = _SHORT_HALF.search(name)
    if m:
        if m.group(1):
            return Period(int(m.group(2)), "H1" if m.group(1) == "6" else "9M")
        return Period(int(m.group(3)), m.group(4).upper())
    found = find_period(name)
    return found[0] if found else None


def find_unit(texts, roster: Roster | None, file_stem: str = "") -> Unit | None:
    """The roster unit named in `texts` (else in the file name), or None when none or several match.

    A letterhead names the parent above the unit ("UBND THỊ XÃ HOÀI NHƠN" over "UBND PHƯỜNG TAM QUAN
    BẮC"): of a unit and its ancestors, the unit is meant.
    """
    if roster is None or not len(roster):
        return None
    index = roster.name_patterns
    for sources in ([fold(t) for t in texts if t], [fold(re.sub(r"[_.+-]+", " ", file_stem))] if file_stem else []):
        found = {}
        for text in sources:
            unit = _best(text, index)
            if unit is not None:
                found[unit.code] = unit
        ancestors = set()
        for unit in found.values():
            parent, seen = unit.parent, set()
            while parent and parent not in seen:
                seen.add(parent)
                ancestors.add(parent)
                parent = roster.get(parent).parent if parent in roster else None
        candidates = [u for code, u in found.items() if code not in ancestors]
        if len(candidates) == 1:
            return candidates[0]
        if candidates:
            return None
    return None


def _best(text: str, index: list) -> Unit | None:
    best_len, found = 0, {}
    for name, pattern, unit in index:
        if len(name) < best_len:
            break
        if name in text and pattern.search(text):
            best_len = len(name)
            found[unit.code] = unit
    if len(found) == 1:
        return next(iter(found.values()))
    return None


def _warning(rule: str, message: str) -> Issue:
    return Issue("warning", rule, message=message)


def check_spec(meta: dict, spec: FormSpec) -> list[Issue]:
    """A warning when our template was made from another spec, version or structure than `spec`."""
    if not meta:
        return []
    if meta.get("spec_id") and meta["spec_id"] != spec.id or \
            meta.get("spec_version") and meta["spec_version"] != spec.version:
        return [_warning("other-spec", f"Tệp được tạo từ bộ biểu mẫu {meta.get('spec_id')} (phiên bản "
                         f"{meta.get('spec_version')}), khác bộ biểu mẫu đang dùng {spec.id} (phiên bản "
                         f"{spec.version}).")]
    if meta.get("fingerprint") and meta["fingerprint"] != spec.fingerprint:
        return [_warning("other-spec", f"Tệp được tạo từ một bản khác của bộ biểu mẫu {spec.id} (phiên bản "
                         f"{spec.version}); hãy dùng mẫu mới nhất.")]
    return []


def identify(sub, meta: dict, *, roster: Roster | None, unit_code: str | None, period: Period | None,
             title_texts, file_stem: str) -> list[Issue]:
    """Set `sub.unit`, `sub.period`, `sub.level` and `sub.reported_levels`; return the warnings.

    The arguments win, then our template's metadata, then what the workbook's title rows
    (`title_texts()`, called only when needed) and file name say.
    """
    issues = []
    meta_unit = _meta_unit(meta, roster)
    found_unit = None if meta_unit else find_unit(title_texts(), roster, file_stem)
    if unit_code:
        sub.unit = _unit_by_code(unit_code, meta_unit, roster)
        other = meta_unit or found_unit
        if other is not None and other.code != sub.unit.code:
            where = "là mẫu của" if meta_unit else "ghi tên"
            issues.append(_warning("other-unit", f"Tệp này {where} đơn vị {other.name} ({other.code}), "
                                   f"không phải {sub.unit.name} ({sub.unit.code})."))
    else:
        sub.unit = meta_unit or found_unit
    if sub.unit is None:
        issues.append(_warning("unit-unknown", "Không xác định được đơn vị gửi báo cáo; hãy ghi tên đơn vị ở "
                               "đầu biểu mẫu hoặc chỉ rõ mã đơn vị (--unit)."))

    meta_period = None
    if meta.get("period"):
        try:
            meta_period = parse_period(meta["period"])
        except CchcError:
            meta_period = None
    found_period = meta_period or find_period_in(title_texts(), file_stem)
    sub.stated_period = found_period
    if period:
        sub.period = period
        if found_period and found_period != period:
            where = "là mẫu của kỳ" if meta_period else "ghi kỳ"
            issues.append(_warning("other-period", f"Tệp này {where} {found_period.label}, không phải kỳ "
                                   f"{period.label}."))
    else:
        sub.period = found_period
    if sub.period is None:
        issues.append(_warning("period-unknown", "Không xác định được kỳ báo cáo; hãy ghi kỳ (ví dụ \"Quý "
                               "II/2023\") ở đầu biểu mẫu hoặc chỉ rõ kỳ (--period)."))

    roster_unit = roster.get(sub.unit.code) if roster is not None and sub.unit else None
    level = meta.get("level") or None
    if level and roster_unit and roster_unit.level != level:
        spec = sub.spec
        issues.append(_warning("other-level", f"Tệp là mẫu dành cho {spec.level_name(level)}, nhưng đơn vị "
                               f"{roster_unit.name} thuộc {spec.level_name(roster_unit.level)}."))
    sub.level = level or (roster_unit.level if roster_unit else None) or \
        (sub.unit.level if sub.unit and sub.unit.level else None)
    reported = [lv.strip() for lv in meta.get("reported_levels", "").split(",") if lv.strip()]
    sub.reported_levels = frozenset(reported) if reported else \
        (frozenset({sub.level}) if sub.level else frozenset())
    return issues


def _roster_code(code: str, roster: Roster | None) -> str:
    """`code`, or the roster's code it stands for when Excel changed it (`22202.0` for `22202`)."""
    if roster is None or code in roster:
        return code
    try:
        known = unit_code(code)
    except ValueError:
        return code
    return known if known in roster else code


def _meta_unit(meta: dict, roster: Roster | None) -> Unit | None:
    code = _roster_code(meta.get("unit_code", "").strip(), roster)
    if not code:
        return None
    if roster is not None and code in roster:
        return roster.get(code)
    return Unit(code, meta.get("unit_name") or code, meta.get("level") or "")


def _unit_by_code(code: str, meta_unit: Unit | None, roster: Roster | None) -> Unit:
    code = _roster_code(code, roster)
    if roster is not None and code in roster:
        return roster.get(code)
    if meta_unit is not None and meta_unit.code == code:
        return meta_unit
    return Unit(code, code, "")
