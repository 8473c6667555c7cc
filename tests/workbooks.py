"""Builders of small returned workbooks for tests: our template's contract and hand-made layouts.

* `write_template(path, spec, ...)`: one of our templates (`cchc_excel.template.build.write_template` when it
  exists, else a stand-in written here to the `metadata.py` contract: sheets `Biểu mẫu 1..7`, rows
  `STT | Chỉ tiêu thống kê | Đơn vị tính | Số liệu | Ghi chú`, ratio formulas, protection, the very hidden
  `_cchc` sheet and a defined name per value cell).
* `write_handmade(path, spec, values, layout="stacked" | "sheets", ...)`: what officials make themselves,
  with title rows, a two-row header, a column-number row, page-break header repeats and extra columns.

Values are given per indicator id as they would sit in the cell: a number, a string (typed text),
`Pct(0.48)` for a number in a percent-formatted cell, or `Formula("=1/0", "#DIV/0!")` for a formula with
its cached result.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import xlsxwriter

from cchc_excel.template import metadata

HEADER = ("STT", "Chỉ tiêu thống kê", "Đơn vị tính", "Số liệu", "Ghi chú")


@dataclass(frozen=True)
class Pct:
    """A number stored in a percent-formatted cell (Excel stores 48% as 0.48)."""

    value: float


@dataclass(frozen=True)
class Formula:
    """A formula cell and the result the file keeps for it (an error code such as `#DIV/0!` is kept as an
    error cell)."""

    text: str
    cached: object = 0


def stt(code: str, style: str = "dot"):
    """The STT cell as people write it: `3.1.2.` (dot), `3.1.2` (plain) or a number where one can be."""
    if style == "dot":
        return code + "."
    if style == "float" and code.count(".") <= 1:
        return float(code)
    return code


def _write(ws, row, col, value, formats):
    if isinstance(value, Pct):
        ws.write_number(row, col, value.value, formats["pct"])
    elif isinstance(value, Formula):
        ws.write_formula(row, col, value.text, None, value.cached)
    elif isinstance(value, bool) or value is None:
        if value is not None:
            ws.write_boolean(row, col, value)
    elif isinstance(value, (int, float)):
        ws.write_number(row, col, value)
    else:
        ws.write_string(row, col, str(value))


def _formats(wb):
    return {"pct": wb.add_format({"num_format": "0%"}), "bold": wb.add_format({"bold": True}),
            "unlocked": wb.add_format({"locked": False})}


def write_template(path, spec, *, level="xa", unit=None, period="2023-Q2", values=None,
                   real: bool | None = None) -> Path:
    """Our template for `unit` (a roster `Unit` or None for a blank one), filled with `values`.

    Uses `cchc_excel.template.build.write_template` when it exists (or when `real` is True).
    """
    if real is not False:
        try:
            from cchc_excel.template import build as template
        except ImportError:
            if real:
                raise
        else:
            template.write_template(path, spec, level=level, unit=unit, period=period, values=values or {})
            return Path(path)
    return write_template_standin(path, spec, level=level, unit=unit, period=period, values=values)


def write_template_standin(path, spec, *, level="xa", unit=None, period="2023-Q2", values=None) -> Path:
    """The stand-in template, written to the `metadata.py` contract with xlsxwriter."""
    values = values or {}
    wb = xlsxwriter.Workbook(str(path))
    fmt = _formats(wb)
    layout = []
    for form in spec.forms:
        ws = wb.add_worksheet(form.name)
        ws.write_string(0, 0, form.name, fmt["bold"])
        ws.write_string(1, 0, form.title, fmt["bold"])
        ws.write_row(3, 0, HEADER, fmt["bold"])
        rows = {ind.id: 4 + i for i, ind in enumerate(form.indicators)}
        for ind in form.indicators:
            r = rows[ind.id]
            ws.write_string(r, 0, ind.code + ".")
            ws.write_string(r, 1, ind.full_label)
            ws.write_string(r, 2, ind.unit)
            ref = f"D{r + 1}"
            if ind.kind == "header":
                continue
            layout.append((ind.id, form.name, ref))
            wb.define_name(metadata.defined_name(ind.id), f"='{form.name}'!$D${r + 1}")
            if ind.kind == "ratio" and ind.id not in values:
                num, den = f"D{rows[ind.numerator] + 1}", f"D{rows[ind.denominator] + 1}"
                ws.write_formula(r, 3, f'=IF(OR({num}="",{den}="",{den}=0),"",{num}/{den}*100)', None, "")
            elif ind.id in values:
                _write(ws, r, 3, values[ind.id], fmt)
            else:
                ws.write_blank(r, 3, None, fmt["unlocked"])
        ws.protect()
    meta = {
        "generator": f"{metadata.GENERATOR} test", "spec_id": spec.id, "spec_version": spec.version,
        "fingerprint": spec.fingerprint, "level": level, "reported_levels": level,
        "unit_code": unit.code if unit else "", "unit_name": unit.name if unit else "",
        "period": str(period or ""), "generated_at": "2023-06-01T00:00:00+00:00", "merged": "0",
        "units_merged": "",
    }
    hidden = wb.add_worksheet(metadata.SHEET)
    for i, key in enumerate(metadata.KEYS):
        hidden.write_string(i, 0, key)
        hidden.write_string(i, 1, meta[key])
    hidden.write_row(metadata.LAYOUT_ROW - 1, 0, metadata.LAYOUT_HEADER)
    for i, entry in enumerate(layout):
        hidden.write_row(metadata.LAYOUT_ROW + i, 0, entry)
    hidden.very_hidden()
    wb.set_custom_property("cchc_spec_id", spec.id)
    wb.close()
    return Path(path)


def write_handmade(path, spec, values=None, *, layout="stacked", title_rows=(), notes=None,
                   two_row_header=True, column_numbers=True, extra_columns=False, page_break=None,
                   stt_style="dot", skip=(), extra_rows=None, form_titles=True, sheet_names=None,
                   value_header="Số liệu", left_margin=0) -> Path:
    """A workbook laid out by hand, like the seed's Phụ lục I.

    Args:
        layout: "stacked" (all forms down one sheet) or "sheets" (one sheet per form).
        title_rows: lines written above the first form (unit name, report title with the period).
        notes: indicator id -> Ghi chú text.
        two_row_header: "Kết quả thống kê" above "Đơn vị tính | Số liệu", as printed in the seed.
        column_numbers: a "(1) (2) (3) (4) (5)" row under the header.
        extra_columns: a "Kỳ trước" column between the unit and the value, and a trailing "Người nhập".
        page_break: repeat the header every this many rows of a form (as printed pages do).
        stt_style: "dot" (`3.1.2.`), "plain" (`3.1.2`) or "float" (2.1 as a number where possible).
        skip: indicator ids whose rows are left out.
        extra_rows: form number -> [(stt, label, value)] appended to that form.
        form_titles: write the "Biểu mẫu N" title rows (sheets are then found by their names).
        sheet_names: form number -> sheet title for layout="sheets".
        value_header: the header of the value column.
        left_margin: empty columns left of the table.
    """
    values = values or {}
    notes = notes or {}
    extra_rows = extra_rows or {}
    wb = xlsxwriter.Workbook(str(path))
    fmt = _formats(wb)
    cols = ["STT", "Chỉ tiêu thống kê", "Đơn vị tính"] + (["Kỳ trước"] if extra_columns else []) + \
        [value_header, "Ghi chú"] + (["Người nhập"] if extra_columns else [])
    value_col = cols.index(value_header) + left_margin
    note_col = cols.index("Ghi chú") + left_margin
    sheets = {}
    row_of = {}

    def sheet_for(form):
        key = "all" if layout == "stacked" else form.number
        if key not in sheets:
            name = "Phụ lục I" if layout == "stacked" else (sheet_names or {}).get(form.number, form.name)
            ws = wb.add_worksheet(name)
            r = 0
            if layout == "stacked" or form is spec.forms[0]:
                for line in title_rows:
                    ws.write_string(r, left_margin, line, fmt["bold"])
                    r += 1
                r += 1 if title_rows else 0
            sheets[key] = [ws, r]
            row_of[key] = r
        return sheets[key]

    def header(ws, r):
        if two_row_header:
            ws.write_string(r, left_margin, "STT")
            ws.write_string(r, left_margin + 1, "Chỉ tiêu thống kê (Sử dụng trong kỳ báo cáo hàng quý, 6 tháng, năm)")
            ws.write_string(r, left_margin + 2, "Kết quả thống kê")
            ws.write_string(r, note_col, "Ghi chú")
            for c, name in enumerate(cols):
                if name not in ("STT", "Chỉ tiêu thống kê", "Ghi chú"):
                    ws.write_string(r + 1, left_margin + c, name)
            r += 2
        else:
            for c, name in enumerate(cols):
                ws.write_string(r, left_margin + c, name)
            r += 1
        return r

    for form in spec.forms:
        entry = sheet_for(form)
        ws, r = entry
        if form_titles:
            ws.write_string(r, left_margin, form.name, fmt["bold"])
            ws.write_string(r + 1, left_margin, form.title, fmt["bold"])
            r += 2
        r = header(ws, r)
        if column_numbers:
            for c in range(len(cols)):
                ws.write_string(r, left_margin + c, f"({c + 1})")
            r += 1
        lines = [(stt(ind.code, stt_style), ind.full_label, ind.unit, ind.id) for ind in form.indicators
                 if ind.id not in skip]
        lines += [(code, label, "", ("extra", value)) for code, label, value in extra_rows.get(form.number, [])]
        for i, (code, label, unit, key) in enumerate(lines):
            if page_break and i and i % page_break == 0:
                r = header(ws, r)
            _write(ws, r, left_margin, code, fmt)
            ws.write_string(r, left_margin + 1, label)
            ws.write_string(r, left_margin + 2, unit)
            if extra_columns:
                ws.write_number(r, left_margin + 3, 999)
                ws.write_string(r, left_margin + len(cols) - 1, "Nguyễn Văn A")
            if isinstance(key, tuple):
                _write(ws, r, value_col, key[1], fmt)
            else:
                if key in values:
                    _write(ws, r, value_col, values[key], fmt)
                if key in notes:
                    ws.write_string(r, note_col, notes[key])
            r += 1
        if form.footnote:
            ws.write_string(r, left_margin, form.footnote)
            r += 1
        r += 2
        entry[1] = r
    wb.close()
    return Path(path)
