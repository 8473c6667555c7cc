"""Finding the forms, their columns and their rows in a sheet, the way people lay them out.

A form is found by its title ("Biểu mẫu 3", "BIỂU MẪU SỐ 03: ...") in one of the first columns, or, when
a sheet has no title, by the sheet's name ("Biểu mẫu 3", "BM3"). A sheet may hold one form or all seven
down the page; a form's section runs from its title to the next title. In a section, the header row is
the one with "STT"; the value column is the one headed "Số liệu" (two header rows when "Kết quả thống kê"
spans "Đơn vị tính | Số liệu"). Header rows repeated where printed pages broke and a column-number row
such as "(1) (2) (3)" are skipped. Rows are matched to the form's rows by their STT code, within the
section only, since codes repeat in every form; a row without a code can still match by its label.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from cchc_excel.core.text import fold as _fold_text
from cchc_excel.ooxml.cells import is_empty
from cchc_excel.spec.model import Form

__all__ = [
    "Section", "Columns", "FormMatch", "fold", "stt_code", "find_sections", "find_columns",
    "match_form", "header_rows_end",
]

# The first sheet of a feedback workbook (`feedback.py`): a list of findings, never a form. Defined here so
# that the reader need not import the feedback writer (and xlsxwriter) into every worker process.
FEEDBACK_SHEET = "Lỗi cần sửa"
TITLE_COLUMNS = 6  # a form's title is looked for in the first columns only
HEADER_SEARCH = 15  # rows after a title where the header row is looked for
TABLE_GAP = 10  # empty rows that end a form's table

_CODE_RE = re.compile(r"^\d{1,2}(\.\d{1,2})*$")
_TITLE_RE = re.compile(r"^(?:phu luc\s*\S{0,4}\s*[-:.,]?\s*)?bieu mau\s*(?:so\s*)?0*(\d{1,2})(?![\d.])")
_SHEET_RE = re.compile(r"^(?:bieu mau|bm|mau)\s*[-_.]?\s*(?:so\s*)?0*(\d{1,2})\s*$")
_COLNUM_RE = re.compile(r"^\(?\s*(\d{1,2}|[a-e])\s*\)?$")


# `roster.fold` folds case and diacritics; cells repeat across files, so remember the last few thousand.
fold = lru_cache(maxsize=8192)(_fold_text)


def _text(value) -> str:
    """A cell's folded text, or '' for numbers and blanks."""
    return fold(value) if type(value) is str and value and len(value) < 400 else ""


def stt_code(value) -> str | None:
    """The row code in an STT cell: `"3.1.2."`, `"3.1.2"`, `"2.1 "`, 2.1 (a float), 1.0 -> `"1"`; else None."""
    t = type(value)
    if t is float:
        if value != value or value <= 0 or value >= 100:
            return None
        s = str(int(value)) if value.is_integer() else repr(value)
    elif t is int:
        s = str(value)
    elif t is str:
        s = value.strip()
        if not s or not s[0].isdigit():
            return None
        if " " in s or "," in s or "\t" in s or "\n" in s or "\xa0" in s:
            s = re.sub(r"\s+", "", s).replace(",", ".")
        s = s.rstrip(".")
    else:
        return None
    return s if _CODE_RE.match(s) else None


@dataclass(frozen=True)
class Section:
    """Where one form lies: rows [start, end) of a sheet (0-based); `start` is its title row."""

    form: int
    sheet: str
    start: int
    end: int
    titled: bool = True  # found by a title cell, else by the sheet's name


@dataclass(frozen=True)
class Columns:
    """0-based columns of a form's table, and the first row after its header."""

    stt: int
    value: int
    label: int | None = None
    unit: int | None = None
    note: int | None = None
    data_start: int = 0
    guessed: bool = False  # the value column was not found by its header "Số liệu"


@dataclass
class FormMatch:
    """The rows of one form found in its section."""

    rows: dict = field(default_factory=dict)  # indicator id -> 0-based row
    unknown: list = field(default_factory=list)  # (row, code or None, label) of rows not in the form
    duplicates: list = field(default_factory=list)  # (row, indicator id) of codes seen twice
    by_label: list = field(default_factory=list)  # indicator ids matched by label, not by code


def form_in_title(value) -> int | None:
    """The form number of a title cell ("Biểu mẫu 3", "BIỂU MẪU SỐ 03: ..."), else None."""
    text = _text(value)
    if not text or "bieu mau" not in text:
        return None
    m = _TITLE_RE.match(text)
    return int(m.group(1)) if m else None


def form_in_sheet_name(name: str) -> int | None:
    m = _SHEET_RE.match(fold(name))
    return int(m.group(1)) if m else None


def find_sections(sheet: str, rows: list, forms: set) -> list[Section]:
    """The forms laid out in one sheet, in order; `forms` holds the form numbers of the spec.

    A title counts only when a table follows it (a row headed "STT", or rows with STT codes) before the
    next title: a list of the forms on a cover sheet is not seven forms.
    """
    titles = []
    for r, row in enumerate(rows):
        for value in row[:TITLE_COLUMNS]:
            # a title starts with "Biểu mẫu" or "Phụ lục": skip the other cells before folding them
            if type(value) is str and value and value.lstrip()[:1] in "BbPp":
                number = form_in_title(value)
                if number in forms:
                    titles.append((r, number))
                    break
    kept = [(r, number) for i, (r, number) in enumerate(titles)
            if _has_table(rows, r, titles[i + 1][0] if i + 1 < len(titles) else len(rows))]
    sections = []
    for i, (r, number) in enumerate(kept):
        end = kept[i + 1][0] if i + 1 < len(kept) else len(rows)
        sections.append(Section(number, sheet, r, end))
    if not sections:
        number = form_in_sheet_name(sheet)
        if number in forms and _has_table(rows, 0, len(rows)):
            sections.append(Section(number, sheet, 0, len(rows), titled=False))
    return sections


def _has_table(rows: list, start: int, end: int) -> bool:
    stop = min(end, start + HEADER_SEARCH + 3)
    if header_rows_end(rows, start, stop) is not None:
        return True
    codes = 0
    for r in range(start + 1, stop):
        if any(stt_code(v) for v in rows[r][:TITLE_COLUMNS]):
            codes += 1
    return codes >= 2


# --- columns -------------------------------------------------------------------------------------------

def _is_stt(text: str) -> bool:
    return text in ("stt", "tt", "so tt", "s tt", "so thu tu")


def _header_kind(text: str) -> str | None:
    if not text:
        return None
    if _is_stt(text):
        return "stt"
    if text.startswith("so lieu"):
        return "value"
    if text.startswith(("don vi tinh", "dvt")) or text == "don vi":
        return "unit"
    if text.startswith(("chi tieu", "ten chi tieu", "noi dung")):
        return "label"
    if text.startswith("ghi chu"):
        return "note"
    if text.startswith("ket qua"):
        return "result"
    return None


def header_rows_end(rows: list, start: int, end: int) -> tuple[int, int] | None:
    """(first, last + 1) of the header rows after `start`: the row with "STT" and those under it."""
    for r in range(start, min(end, start + HEADER_SEARCH)):
        row = rows[r]
        if any(_is_stt(_text(v)) for v in row[:TITLE_COLUMNS + 2]):
            last = r + 1
            while last < min(end, r + 4) and _is_header_like(rows[last]):
                last += 1
            return r, last
    return None


def _is_header_like(row: list) -> bool:
    kinds = [_header_kind(_text(v)) for v in row]
    return any(k is not None for k in kinds) and not any(stt_code(v) for v in row[:TITLE_COLUMNS])


def find_columns(rows: list, section: Section) -> Columns | None:
    """The table's columns in a section, by their headers; positions guessed when there is no header."""
    header = header_rows_end(rows, section.start, section.end)
    if header is None:
        return _guess_columns(rows, section)
    first, last = header
    found: dict[str, list[tuple[int, str]]] = {}
    for r in range(first, last):
        for c, value in enumerate(rows[r]):
            text = _text(value)
            kind = _header_kind(text)
            if kind:
                found.setdefault(kind, []).append((c, text))
    stt = found["stt"][0][0]
    value = _pick_value(found)
    unit = found["unit"][0][0] if "unit" in found else None
    label = found["label"][0][0] if "label" in found else stt + 1
    note = found["note"][0][0] if "note" in found else None
    guessed = False
    if value is None:
        guessed = True
        value = unit + 1 if unit is not None else stt + 3
    data_start = last
    while data_start < section.end and _is_column_numbers(rows[data_start]):
        data_start += 1
    return Columns(stt, value, label, unit, note, data_start, guessed)


def _pick_value(found: dict) -> int | None:
    values = found.get("value", [])
    if values:
        exact = [c for c, t in values if t == "so lieu"]
        if exact:
            return exact[0]
        current = [c for c, t in values if "ky nay" in t or "ky bao cao" in t]
        return current[0] if current else values[0][0]
    units = {c for c, _ in found.get("unit", [])}
    results = [c for c, _ in found.get("result", []) if c not in units]
    return results[0] if results else None


def _guess_columns(rows: list, section: Section) -> Columns | None:
    """No "STT" header: the STT column is where most codes are; the others follow the printed order."""
    counts: dict[int, int] = {}
    for r in range(section.start, section.end):
        for c, v in enumerate(rows[r][:TITLE_COLUMNS]):
            if stt_code(v):
                counts[c] = counts.get(c, 0) + 1
                break
    if not counts:
        return None
    stt = max(counts, key=lambda c: (counts[c], -c))
    return Columns(stt, stt + 3, stt + 1, stt + 2, stt + 4, section.start + 1, True)


def _is_column_numbers(row: list) -> bool:
    """A row numbering the columns: "(1) (2) (3) (4) (5)", "1 2 3 4 5" or "A B C"."""
    marks = 0
    for v in row:
        if is_empty(v):
            continue
        if type(v) is float and v.is_integer() and 0 < v < 30:
            marks += 1
        elif type(v) is str and _COLNUM_RE.match(v.strip().lower()):
            marks += 1
        else:
            return False
    return marks >= 3


def is_repeated_header(row: list, cols: Columns) -> bool:
    """A header row repeated where a printed page broke, or a column-number row."""
    for c in (cols.stt, cols.label, cols.unit, cols.value):
        if c is not None and c < len(row) and _header_kind(_text(row[c])):
            return True
    return _is_column_numbers(row)


# --- rows ----------------------------------------------------------------------------------------------

def _cell(row: list, c: int | None):
    return row[c] if c is not None and c < len(row) else ""


def _label_key(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", fold(text)).strip()


def match_form(rows: list, section: Section, cols: Columns, form: Form) -> FormMatch:
    """Find each of the form's rows in its section by the STT code, else by the label."""
    by_code = {ind.code: ind for ind in form.indicators}
    match = FormMatch()
    loose = []  # rows without a code: (row, label)
    blank_run = 0
    for r in range(cols.data_start, section.end):
        row = rows[r]
        if not row or all(is_empty(v) for v in row):
            blank_run += 1
            if blank_run >= TABLE_GAP and match.rows:
                break  # the table has ended; what follows is not part of the form
            continue
        blank_run = 0
        stt = _cell(row, cols.stt)
        code = stt_code(stt)
        if code is None:
            if stt in ("", None) or type(stt) is str:
                label = _cell(row, cols.label)
                if type(label) is str and label.strip() and not is_repeated_header(row, cols):
                    loose.append((r, label))
                elif type(_cell(row, cols.value)) in (int, float):
                    match.unknown.append((r, None, label if type(label) is str else ""))
            continue
        ind = by_code.get(code)
        if ind is None:
            label = _cell(row, cols.label)
            match.unknown.append((r, code, label if type(label) is str else ""))
        elif ind.id in match.rows:
            match.duplicates.append((r, ind.id))
        else:
            match.rows[ind.id] = r
    if loose and len(match.rows) < len(form.indicators):
        missing = {_label_key(ind.label): ind for ind in form.indicators if ind.id not in match.rows}
        for r, label in loose:
            key = _label_key(label)
            ind = missing.get(key) or next(
                (i for k, i in missing.items() if len(k) > 12 and key.startswith(k)), None)
            if ind is not None and ind.id not in match.rows:
                match.rows[ind.id] = r
                match.by_label.append(ind.id)
                missing = {k: i for k, i in missing.items() if i.id != ind.id}
            elif type(_cell(rows[r], cols.value)) in (int, float):
                match.unknown.append((r, None, label))
    return match
