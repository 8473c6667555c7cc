"""The values of the located forms into a `Submission`: each cell parsed as officials type it.

Ratio rows are read last, once their numerators and denominators are known: a ratio of 0.48 in a cell
not formatted as a percent is 48% when its operands say so. A percent-formatted cell stores 48% as 0.48;
a legacy .xls keeps no formats we can read, so a fraction there is noted.

What the unit's number cannot be is an error naming the cell, never a blank or a number in silence:

* a formula error (`#DIV/0!`, `#REF!`, `#VALUE!`: `cell-error`), but a ratio's `#DIV/0!` over a blank or
  zero denominator, which is the 0/0 a ratio may leave blank. An xlsx or ods tells error cells apart; a
  legacy .xls does not (python-calamine gives '' for them): there they read as blank;
* a formula taking its value from another workbook (`external-link`): its cached result is whatever that
  workbook held when last linked (xlsx and ods; .xls cannot tell);
* a number that is not finite or beyond Excel's 15 significant digits (`not-finite`), so that no
  `inf` reaches a total, the JSON or the CSV.
"""

from __future__ import annotations

import math

from cchc_excel.core.values import parse_value
from cchc_excel.ooxml.a1 import cell_name
from cchc_excel.ooxml.cells import CellError, is_empty
from cchc_excel.spec.expr import ratio
from cchc_excel.read.submission import CellRef, Submission

__all__ = ["MAX_MAGNITUDE", "ValueReader"]

MAX_MAGNITUDE = 1e15  # Excel keeps 15 significant digits: no count or amount of these forms comes near


class ValueReader:
    """Reads values, notes and formula flags into `sub`; `warn(rule, message, **where)` records a finding."""

    def __init__(self, sub: Submission, book, warn):
        self.sub, self.book, self.warn = sub, book, warn

    def read(self, spec, places: dict) -> None:
        """`places`: form number -> (sheet, rows, Columns, FormMatch), as the forms were located."""
        for ind in spec.value_indicators:
            self.sub.values[ind.id] = None
        ratios = []
        for form in spec.forms:
            if form.number in places:
                ratios += self._read_form(form, *places[form.number])
        for ind, sheet, ref, raw in ratios:
            self._read_ratio(ind, sheet, ref, raw)

    def _read_form(self, form, sheet, rows, cols, match) -> list:
        """The form's values but its ratios, which are returned as (indicator, sheet, ref, raw)."""
        sub, book = self.sub, self.book
        ratios = []
        for ind in form.indicators:
            r = match.rows.get(ind.id)
            if r is None or ind.kind == "header":
                continue
            row = rows[r]
            ref = cell_name(r, cols.value)
            sub.cells[ind.id] = CellRef(sheet, ref)
            if cols.note is not None and cols.note < len(row) and not is_empty(row[cols.note]):
                text = _note_text(row[cols.note])
                if text:
                    sub.notes[ind.id] = text
            raw = row[cols.value] if cols.value < len(row) else ""
            if ind.kind == "ratio" and (type(raw) is CellError or not is_empty(raw)):
                ratios.append((ind, sheet, ref, raw))
                continue
            if type(raw) is CellError:
                self._cell_error(ind, sheet, ref, raw)
                continue
            if is_empty(raw):
                continue  # blank, and blank is not zero: values[id] stays None
            percent = False
            if ind.kind == "rate" and type(raw) is float and raw > 0:  # 150% is stored 1.5 likewise
                percent = book.is_percent(sheet, ref)
                if not percent and book.format == "xls" and raw < 1:
                    self._percent_unknown(ind, raw, sheet, ref)
            self._store(ind, sheet, ref, raw, percent)
        ratio_refs = {cell_name(match.rows[ind.id], cols.value): ind for ind in form.indicators
                      if ind.kind == "ratio" and ind.id in match.rows}
        if ratio_refs:
            for ref in book.formula_cells(sheet, ratio_refs):
                sub.formulas.add(ratio_refs[ref].id)
        self._external_links(form, sheet, match, cols)
        return ratios

    def _external_links(self, form, sheet: str, match, cols) -> None:
        """Typed rows whose cell takes its number from another workbook: not the unit's number here."""
        refs = {cell_name(match.rows[ind.id], cols.value): ind for ind in form.indicators
                if ind.is_input and ind.id in match.rows and
                (self.sub.values.get(ind.id) is not None or ind.id in self.sub.texts)}
        for ref in sorted(self.book.external_cells(sheet, refs) if refs else ()):
            ind = refs[ref]
            self.sub.values[ind.id] = None
            self.sub.texts.pop(ind.id, None)
            self.warn("external-link", "Ô lấy số liệu bằng công thức liên kết tới một tệp khác, nên không dùng "
                      "được số đang hiện; hãy gõ trực tiếp số liệu của đơn vị vào ô này.",
                      indicator=ind.id, sheet=sheet, cell=ref, severity="error")

    def _cell_error(self, ind, sheet: str, ref: str, error: CellError) -> None:
        self.warn("cell-error", f"Ô báo lỗi công thức {error.code}, không có số liệu; hãy sửa công thức hoặc "
                  "gõ trực tiếp số liệu.", indicator=ind.id, sheet=sheet, cell=ref, severity="error")

    def _read_ratio(self, ind, sheet: str, ref: str, raw) -> None:
        if type(raw) is CellError:
            den = self.sub.values.get(ind.denominator)
            if raw.code.upper() != "#DIV/0!" or den:  # 0/0 may be left blank: a formula shows #DIV/0!
                self._cell_error(ind, sheet, ref, raw)
            return
        percent = False
        if type(raw) is float and raw > 0:
            percent = self.book.is_percent(sheet, ref) or \
                (raw <= 1 and self._looks_like_fraction(ind, raw, sheet, ref))
            if not percent and self.book.format == "xls" and raw < 1 and ind.id not in self.sub.formulas:
                self._percent_unknown(ind, raw, sheet, ref)
        self._store(ind, sheet, ref, raw, percent)

    def _percent_unknown(self, ind, raw: float, sheet: str, ref: str) -> None:
        """.xls keeps no number formats we can read: 0.48 may be 48% typed in a percent-formatted cell."""
        shown = f"{raw:g}".replace(".", ",")
        self.warn("read-conversion", f"Ô ghi {shown}: nếu ô được định dạng phần trăm thì đây là {shown}×100 %; "
                  f"tệp .xls không cho biết định dạng nên đã giữ nguyên {shown}. Hãy gõ số phần trăm (ví dụ 48).",
                  indicator=ind.id, sheet=sheet, cell=ref, severity="info")

    def _looks_like_fraction(self, ind, raw: float, sheet: str, ref: str) -> bool:
        """A ratio stored as a fraction (0.48 for 48%) where its operands say so; noted as info."""
        expected = ratio(self.sub.values.get(ind.numerator), self.sub.values.get(ind.denominator))
        if expected is None:
            return False
        if abs(raw * 100 - expected) < 0.5 and abs(raw - expected) >= 1:
            shown = f"{raw:g}".replace(".", ",")
            self.warn("read-conversion", f"Đã hiểu {shown} là {shown}×100 % (tử số chia mẫu số bằng {shown}).",
                      indicator=ind.id, sheet=sheet, cell=ref, severity="info")
            return True
        return False

    def _store(self, ind, sheet: str, ref: str, raw, percent: bool) -> None:
        if type(raw) is float and not math.isfinite(raw):
            return self._not_finite(ind, sheet, ref, raw)
        parsed = parse_value(raw, ind.kind, percent_format=percent)
        if parsed.ok and parsed.value is not None and not abs(parsed.value) < MAX_MAGNITUDE:
            return self._not_finite(ind, sheet, ref, parsed.value)  # also what a percent scaling overflowed
        if parsed.note:
            self.warn("read-conversion", parsed.note, indicator=ind.id, sheet=sheet, cell=ref, severity="info")
        if parsed.ok:
            self.sub.values[ind.id] = parsed.value
        else:
            self.sub.texts[ind.id] = parsed.value if isinstance(parsed.value, str) else str(raw)

    def _not_finite(self, ind, sheet: str, ref: str, value) -> None:
        try:
            shown = f"{float(value):.6g}".replace(".", ",")  # 1,5e+20; inf; nan
        except OverflowError:  # an int of hundreds of digits
            shown = f"{str(value)[:12]}…"
        self.warn("not-finite", f"Ô ghi {shown}: số quá lớn hoặc không xác định, không thể là số liệu của chỉ "
                  "tiêu này; hãy gõ lại số liệu đúng.", indicator=ind.id, sheet=sheet, cell=ref, severity="error")


def _note_text(value) -> str:
    if type(value) is float:
        return str(int(value)) if value.is_integer() else str(value)
    return str(value).strip()
