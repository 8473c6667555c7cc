"""Reading a return sent as a Word report (.docx, and .doc through `convert.py`) into a `Submission`.

Officials often send the report itself: the narrative, then "Phụ lục I" with one table per Biểu mẫu (its
title in paragraphs above it) or one long table with the titles as merged rows, the two header rows
repeated where pages broke. The document's body is laid out as one sheet of rows (`DocxBook`): a
paragraph is a row of one cell, a table row a row of its grid columns. The workbook reader's own steps
then find the forms by title, the value column by "Số liệu" and the rows by STT code (`locate.py`,
`layout.py`), and read the values as typed (`form_values.py`): `02`, `16,2`, `48%` read as in a workbook,
so the same numbers give the same findings whichever format they came in.

Word quirks: python-docx gives a merged cell once per grid column it spans, and a vertically merged cell
again in each row below; the rows here are built from the `w:tc` elements themselves, so a merged cell's
text stands once, in its first grid column and its first row. Places are told as a person finds them in
Word: `Biểu mẫu 3, mục 3.1.2 (bảng 3, dòng 21)`, tables counted from Phụ lục I's first.
"""

from __future__ import annotations

import dataclasses
import io
import re
import zipfile
from datetime import timezone
from pathlib import Path

from cchc_excel.core.findings import Issue
from cchc_excel.core.periods import Period, parse_period
from cchc_excel.core.roster import Roster
from cchc_excel.errors import CchcError
from cchc_excel.ooxml import custom
from cchc_excel.ooxml.a1 import split_ref
from cchc_excel.ooxml.custom import read_custom_properties
from cchc_excel.ooxml.gate import Limits, NotWorkbook, open_checked
from cchc_excel.read import layout as lay
from cchc_excel.read.reader import _Reader
from cchc_excel.read.submission import CellRef, Submission
from cchc_excel.spec.model import FormSpec
from cchc_excel.template import metadata

__all__ = ["read_docx", "DocxBook", "SHEET"]

SHEET = "Phụ lục I"  # the one sheet a document is laid out as (never shown: places are told in Word's terms)
HEAD_PARAGRAPHS = 20  # paragraphs at the top searched for the unit's name and the period
_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_CLOSING = ("tren day la bao cao", "tren day la ket qua")
_GROUPED = re.compile(r"^[1-9][0-9]{0,2}(?:\.[0-9]{3})+(?:,[0-9]+)?$")
_INSTEAD = "hãy đề nghị đơn vị gửi lại, hoặc gửi tệp Excel biểu mẫu đã điền"


def read_docx(path, spec: FormSpec | str | Path | None = None, *, roster: Roster | None = None,
              unit_code: str | None = None, period: Period | str | None = None,
              limits: Limits = Limits(), data: bytes | None = None) -> Submission:
    """Read one return sent as a Word document (.docx; a .doc is converted first when LibreOffice is
    installed). Arguments as for `reader.read_workbook`.

    Raises:
        UnreadableFile: naming the file, when the gate refuses it.
        NotWorkbook: naming the file, when it is broken, holds no Phụ lục I, or is a .doc that cannot be
            converted: it is then listed as no return, saying what to send instead.
    """
    path = Path(path)
    asked_period = parse_period(period) if period is not None and period != "" else None
    checked = open_checked(path, limits, data=data, word=True)
    what = "tài liệu Word (.doc)" if checked.format == "doc" else "tài liệu Word (.docx)"
    try:
        if checked.format == "doc":
            from cchc_excel.read.convert import doc_to_docx

            converted = doc_to_docx(path, data)
            checked.close()
            checked = open_checked(path, limits, data=converted, word=True)
        if checked.format != "docx":
            raise NotWorkbook(f'Tệp "{path.name}" không phải tài liệu Word.', checked.format)
        book = DocxBook(path, checked.data, limits.max_rows, limits.max_cols, zip=checked.zip)
        return _DocxReader(book, spec, roster, unit_code, asked_period, what=what).read()
    except CchcError:
        raise
    except Exception as e:  # any parser failure: the user gets a sentence, never a traceback
        raise NotWorkbook(f'Tệp "{path.name}" là {what}, không phải sổ tính Excel, và bị hỏng nên không đọc được '
                          f"số liệu; {_INSTEAD}.", "docx") from e
    finally:
        checked.close()


# --- the document as rows ------------------------------------------------------------------------------

def _text(element) -> str:
    """The text of a paragraph or a cell: its runs, tabs and breaks as spaces and newlines."""
    parts = []
    for p in element.iter(_W + "p"):
        line = []
        for node in p.iter(_W + "t", _W + "tab", _W + "br", _W + "cr"):
            tag = node.tag[len(_W):]
            line.append(node.text or "" if tag == "t" else "\t" if tag == "tab" else "\n")
        parts.append("".join(line))
    return "\n".join(parts).strip()


def _blocks(body):
    """The paragraphs and tables of the body in order, through content controls (`w:sdt`)."""
    for child in body:
        tag = child.tag
        if tag == _W + "p" or tag == _W + "tbl":
            yield child
        elif tag == _W + "sdt":
            content = child.find(_W + "sdtContent")
            if content is not None:
                yield from _blocks(content)


def _table_rows(tbl, max_cols: int):
    """Each row of a table as its grid columns' texts: a merged cell's text once, where it starts."""
    for tr in tbl.iter(_W + "tr"):
        if tr.getparent() is not tbl:  # a nested table's rows belong to that table
            continue
        row = []
        pr = tr.find(_W + "trPr")
        before = pr.find(_W + "gridBefore") if pr is not None else None
        if before is not None:
            row += [""] * int(before.get(_W + "val", "0") or 0)
        for tc in tr.iterchildren(_W + "tc"):
            props = tc.find(_W + "tcPr")
            span, continued = 1, False
            if props is not None:
                grid = props.find(_W + "gridSpan")
                span = max(1, int(grid.get(_W + "val", "1") or 1)) if grid is not None else 1
                merge = props.find(_W + "vMerge")
                continued = merge is not None and merge.get(_W + "val", "continue") == "continue"
            row.append("" if continued else _text(tc))
            row += [""] * (span - 1)
        yield row[:max_cols]


class DocxBook:
    """A Word document's body as one sheet of rows, with the few answers `locate.py` and `form_values.py`
    ask of a workbook (no formulas, no number formats, no defined names in a document).

    Attributes:
        places: row index -> (table number, row number in it), both 1-based, tables counted in the body.
        paragraphs: the body's paragraph texts, in order (for the unit and the period).
    """

    format = "docx"

    def __init__(self, path: Path, data: bytes, max_rows: int, max_cols: int = 256, *, zip=None):
        from docx import Document

        self.path = Path(path)
        self.meta = _our_metadata(zip or zipfile.ZipFile(io.BytesIO(data)))
        self.max_rows, self.max_cols = max_rows, max_cols
        self.sheet_names, self.hidden = [SHEET], set()
        self.truncated: dict = {}
        self.too_wide: set = set()
        self.document = Document(io.BytesIO(data))
        self.places: dict[int, tuple[int, int]] = {}
        self.paragraphs: list[str] = []
        self.first_table: list[str] = []  # the letterhead, when the body starts with a table
        self._rows: list[list] = []
        self._lay_out()

    def _lay_out(self) -> None:
        rows, tables = self._rows, 0
        for block in _blocks(self.document.element.body):
            if len(rows) >= self.max_rows:
                self.truncated[SHEET] = 1
                break
            if block.tag == _W + "p":
                text = _text(block)
                rows.append([text] if text else [])
                self.paragraphs.append(text)
                continue
            tables += 1
            for n, row in enumerate(_table_rows(block, self.max_cols), 1):
                if self.meta:  # our report writes 7.708 and 13.692,3: its dots group thousands, no doubt
                    row = [_GROUPED.sub(lambda m: m[0].replace(".", ""), t) for t in row]
                self.places[len(rows)] = (tables, n)
                rows.append(row)
                if tables == 1 and not any(self.paragraphs):
                    self.first_table += [t for t in row if t]

    def rows(self, sheet: str) -> list[list]:
        return self._rows

    def column_rows(self, sheet: str, columns) -> list[list]:
        return self._rows

    def loaded(self, sheet: str) -> bool:
        return True

    def defined_names(self) -> dict:
        return {}

    def formula_cells(self, sheet: str, refs) -> set:
        return set()

    def external_cells(self, sheet: str, refs) -> set:
        return set()  # a document has no formulas, so no links to other workbooks either

    def is_percent(self, sheet: str, ref: str) -> bool:
        return False  # a document holds what was typed: "48%" is text, read as 48

    def is_protected(self, sheet: str):
        return None

    def saved_at(self):
        modified = self.document.core_properties.modified
        if modified is not None and modified.tzinfo is None:
            modified = modified.replace(tzinfo=timezone.utc)  # docProps/core.xml keeps W3CDTF in UTC
        return modified

    def close(self) -> None:
        pass


def _our_metadata(zf) -> dict:
    """Our metadata (`template.metadata.KEYS`) from the custom properties `word.report` writes; {} in a
    document we did not make."""
    if custom.PART not in zf.NameToInfo:
        return {}
    info = zf.getinfo(custom.PART)
    with zf.open(info) as f:
        props = read_custom_properties(f.read(info.file_size))
    meta = {key: props.get(metadata.PROPERTY_PREFIX + key, "") for key in metadata.KEYS}
    return meta if meta["generator"].startswith(metadata.GENERATOR) and meta["spec_id"] else {}


# --- the reader --------------------------------------------------------------------------------------

class _DocxReader(_Reader):
    """The workbook reader's steps on a `DocxBook`; places told in Word's terms afterwards. `what` names
    the document ("tài liệu Word (.docx)") in messages."""

    def __init__(self, book: DocxBook, spec, roster, unit_code, period, *, what: str):
        super().__init__(book, spec, roster, unit_code, period)
        self.what = what

    def _metadata(self) -> tuple[dict, dict]:
        return dict(self.book.meta), {}  # no layout: a document's rows are found by their STT codes

    def read(self) -> Submission:
        sub = super().read()
        if not self.locator.places:  # a narrative alone is no return: said, never silence
            raise NotWorkbook(
                f'Tệp "{self.book.path.name}" là {self.what} nhưng không tìm thấy Phụ lục I (bảng số liệu các '
                f"Biểu mẫu 1 đến {self.spec.forms[-1].number} có cột STT và cột \"Số liệu\"); hãy đề nghị "
                "đơn vị gửi kèm Phụ lục I, hoặc gửi tệp Excel biểu mẫu đã điền.", "docx")
        sub.file_format = "docx"
        self._word_places(sub)
        return sub

    def _title_texts(self) -> list[str]:
        """The heading (letterhead, kind and subject) and the closing sentence, then Phụ lục I's titles."""
        book = self.book
        head = [t for t in book.paragraphs if t][:HEAD_PARAGRAPHS]
        for i, text in enumerate(head):
            if re.match(r"^(?:I|1)\s*[.:]\s", text):  # the first section: the heading has ended
                head = head[:i]
                break
        closing = [t for t in book.paragraphs if lay.fold(t[:40]).startswith(_CLOSING)]
        spec = self.spec
        skip = {lay.fold(t) for t in (spec.title, spec.issued_with, spec.column_note, spec.appendix) if t}
        return [t for t in book.first_table + head + closing if lay.fold(t) not in skip]

    # -- places --

    def _word_places(self, sub: Submission) -> None:
        tables = sorted({self.book.places[r][0] for _, rows, _, match in self.locator.places.values()
                         for r in match.rows.values() if r in self.book.places})
        self._first_table = tables[0] if tables else 1
        self._forms = sorted((s.start, s.form) for s in self.locator.sections().values())
        rows_of = {ind_id: r for _, _, _, match in self.locator.places.values() for ind_id, r in match.rows.items()}
        for ind_id in list(sub.cells):
            r = rows_of.get(ind_id)
            if r is not None:
                sub.cells[ind_id] = self._place(r, ind_id)
        sub.issues[:] = [self._issue_place(issue, rows_of) for issue in sub.issues]

    def _place(self, r: int, ind_id: str = "") -> CellRef:
        """`CellRef("Biểu mẫu 3", "mục 3.1.2 (bảng 3, dòng 21)")` for row `r` of the laid-out body."""
        ind = self.spec.indicators.get(ind_id)
        form = ind.form if ind is not None else next((f for start, f in reversed(self._forms) if start <= r), None)
        sheet = f"Biểu mẫu {form}" if form else ""
        table = self.book.places.get(r)
        where = f"bảng {table[0] - self._first_table + 1}, dòng {table[1]}" if table else ""
        if ind is not None:
            return CellRef(sheet, f"mục {ind.code} ({where})" if where else f"mục {ind.code}")
        return CellRef(sheet, where)

    def _issue_place(self, issue: Issue, rows_of: dict) -> Issue:
        if issue.sheet != SHEET:
            return issue
        pos = split_ref(issue.cell) if issue.cell else None
        if issue.indicator in rows_of:
            place = self._place(rows_of[issue.indicator], issue.indicator)
        elif pos is not None:
            place = self._place(pos[0], issue.indicator)
        else:
            ind = self.spec.indicators.get(issue.indicator)
            place = CellRef(f"Biểu mẫu {ind.form}" if ind is not None else "", "")
        return dataclasses.replace(issue, sheet=place.sheet, cell=place.cell)
