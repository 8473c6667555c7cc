"""The report's sentences filled in from a merge: the spec's templates (`spec.report_text`) with the merged
totals written as Vietnamese write numbers, the units behind them, and the units that did not report.

A rendered paragraph is a list of `(text, gap)` segments; `gap` marks text a person must write (`[…]`),
which the document highlights.
"""

from __future__ import annotations

from dataclasses import dataclass

from cchc_excel.check.rules import format_number
from cchc_excel.merge.result import MergeResult
from cchc_excel.spec.report_text import PLACEHOLDER, Field, Gap, Sentence, Template

# Words that open a unit's name and say what kind of unit it is ("Thị xã Hoài Nhơn"), longest first.
UNIT_KINDS = ("Thành phố", "Thị trấn", "Thị xã", "Huyện", "Quận", "Phường", "Xã", "Tỉnh", "Sở", "Ban")


def vn_number(value, *, percent: bool = False) -> str:
    """`16.634`, `13.692,3`; with `percent` two decimals at most and a `%`: `98,62%`.

    The one place numbers become text in the report (swap for `core.text.vn_number` when it exists).
    """
    text = format_number(value, percent=percent)
    return text + "%" if percent else text


def unit_kind(name: str) -> tuple[str, str]:
    """("Thị xã", "Hoài Nhơn") for "Thị xã Hoài Nhơn"; ("", name) when no kind word opens it."""
    for kind in UNIT_KINDS:
        if name.lower().startswith(kind.lower() + " "):
            return name[:len(kind)], name[len(kind) + 1:].strip()
    return "", name


class _Drop(Exception):
    """The sentence is left out (a row the report's level does not have, `skip`, `only_if`)."""


class _Missing(Exception):
    """A value the sentence needs is blank."""


@dataclass
class ReportContext:
    """What the templates are filled from: the merge, and whether it merges several units."""

    result: MergeResult

    @property
    def expected(self) -> int:
        return self.result.expected if self.result.expected is not None else len(self.result.units)

    @property
    def merged(self) -> bool:
        """A report merging units (not one unit's own return)."""
        return self.expected > 1 or self.result.merged_units > 1

    @property
    def name(self) -> str:
        root = self.result.root
        return root.name if root else self.result.spec.level_name(self.result.level)

    @property
    def issuer(self) -> str:
        """`UBND thị xã Hoài Nhơn`, `Sở Nội vụ`."""
        kind, rest = unit_kind(self.name)
        if kind in ("Sở", "Ban") or not kind:
            return self.name
        return f"UBND {kind.lower()} {rest}"

    def general(self, name: str) -> str:
        """A general field's text; raises _Missing when it has none (an empty list of units)."""
        r = self.result
        if name == "period":
            return r.period.in_sentence
        if name == "scope":
            kind = unit_kind(self.name)[0].lower() or "địa phương"
            return f"toàn {kind}" if self.merged else f"UBND {kind}"
        if name == "unit":
            return self.name
        if name == "issuer":
            return self.issuer
        if name in ("previous_period", "year_before_period"):
            comparison = r.comparisons.get(name[:-len("_period")])
            if comparison is None:
                raise _Missing(name)
            return comparison.period.in_sentence
        if name == "reported":
            return vn_number(r.merged_units)
        if name == "expected":
            return vn_number(self.expected)
        codes = {"missing_units": r.units_with("missing"), "error_units": r.units_with("errors"),
                 "late_units": r.late_units}[name]
        if not codes:
            raise _Missing(name)
        return ", ".join(self._unit_name(code) for code in codes)

    def _unit_name(self, code: str) -> str:
        unit = self.result.unit_info.get(code)
        if unit is None:
            unit = next((u.unit for u in self.result.units if u.unit.code == code), None)
        return unit.name if unit and unit.name else code

    def row(self, f: Field) -> str:
        """A row field's text; raises _Drop for a row outside the report's levels, _Missing when blank."""
        r = self.result
        ind = r.spec[f.name]
        if r.reported_levels and not (ind.levels & r.reported_levels):
            raise _Drop(f.name)
        total = r.totals.get(f.name)
        if total is None or total.units == 0 or total.value is None:
            raise _Missing(f.name)
        if f.modifier in ("previous", "year_before"):
            comparison = r.comparisons.get(f.modifier)
            change = comparison.changes.get(f.name) if comparison is not None else None
            words = change.words() if change is not None else ""
            if not words:
                raise _Missing(f.name)
            return words
        if f.modifier == "units":
            return f"{vn_number(total.units)}/{vn_number(self.expected)} đơn vị"
        if f.modifier in ("min", "max"):
            return vn_number(total.minimum if f.modifier == "min" else total.maximum, percent=True)
        if f.modifier == "answered":
            return vn_number(total.answered)
        if f.modifier == "counts":
            labels = dict(ind.choices)
            return ", ".join(f"{_lower_first(labels[code])} {vn_number(total.value.get(str(code)))} đơn vị"
                             for code in ind.choice_codes if total.value.get(str(code)))
        if f.modifier == "label" or ind.kind == "choice":
            value = total.report_value
            if value is None:
                raise _Missing(f.name)
            return dict(ind.choices).get(int(value), str(value))
        return vn_number(total.value, percent=ind.kind in ("ratio", "rate"))

    def positive(self, ind_id: str) -> bool:
        total = self.result.totals.get(ind_id)
        value = total.value if total is not None else None
        return isinstance(value, (int, float)) and value > 0


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def fill(template: Template, ctx: ReportContext, *, gaps: bool = True) -> list:
    """The segments of `template`; a blank value becomes a `[…]` gap, or raises _Missing without `gaps`."""
    out = []
    for part in template.parts:
        if isinstance(part, str):
            out.append((part, False))
        elif isinstance(part, Gap):
            out.append((part.text, True))
        else:
            try:
                out.append((ctx.row(part) if part.is_row else ctx.general(part.name), False))
            except _Missing:
                if not gaps:
                    raise
                out.append((PLACEHOLDER, True))
    return out


def sentence(s: Sentence, ctx: ReportContext) -> list | None:
    """One sentence's segments, or None when it is left out."""
    if s.audience != "all" and (s.audience == "merged") != ctx.merged:
        return None
    try:
        if s.only_if is not None and not ctx.positive(s.only_if):
            raise _Missing(s.only_if)
        return fill(s.text, ctx, gaps=s.if_missing == "placeholder")
    except _Drop:
        return None
    except _Missing:
        if s.if_missing == "skip":
            return None
        if s.if_missing == "placeholder":  # only_if failed: the sentence has nothing to say
            return None
        try:
            return fill(s.if_missing, ctx)
        except _Drop:
            return None


def paragraph(sentences: tuple, ctx: ReportContext) -> list:
    """The segments of a paragraph (its sentences that are kept, joined by spaces); [] when none is."""
    out: list = []
    for s in sentences:
        segments = sentence(s, ctx)
        if segments:
            if out:
                out.append((" ", False))
            out.extend(segments)
    return _merge(out)


def _merge(segments: list) -> list:
    """Adjacent segments of the same kind as one (fewer runs in the document)."""
    out: list = []
    for text, gap in segments:
        if out and out[-1][1] == gap:
            out[-1] = (out[-1][0] + text, gap)
        else:
            out.append((text, gap))
    return out


def plain(segments: list) -> str:
    return "".join(text for text, _ in segments)
