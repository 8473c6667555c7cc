"""Reading a returned workbook into a `Submission`: our templates and hand-made workbooks alike.

`read_workbook(path)`:

1. checks the file (`safety.open_checked`) and opens it (`workbook_io.Book`: python-calamine, or for our
   templates the few columns it needs straight from the sheet XML);
2. recognises our templates by the very hidden `_cchc` sheet (`metadata.py`): spec, level, unit, period
   and where each value cell is. The layout is trusted form by form, after checking the STT code printed
   on every row (`locate.py`); a form whose rows moved (rows inserted or deleted, sheet renamed) is found
   like a hand-made one, and a warning says what differs from the template;
3. finds, in a hand-made workbook, each Biểu mẫu by its title, its columns by their headers and its rows by
   their STT codes (`layout.py`), whether one sheet per form or all seven down one sheet;
4. parses every value as officials type it (`values.parse_value`), records which ratio cells still hold a
   formula (`form_values.py`), and reads unit and period from the arguments, the metadata, the roster or
   the title rows.

Cached formula results are never trusted: ratio rows hold what the file showed, and the rules engine
recomputes them from their numerator and denominator. Findings made while reading are `Issue`s in
`Submission.issues`; only a file that cannot be read at all raises `UnreadableFile`.

Rules of the findings: `read-conversion` (info: how a typed value was understood), `template-changed`,
`other-spec`, `other-level`, `other-unit`, `other-period`, `unit-unknown`, `period-unknown`,
`form-missing`, `form-duplicate`, `row-missing`, `row-unknown`, `row-duplicate`, `row-by-label`,
`value-column-guessed`, `sheet-truncated`; errors naming the cell where a value cannot be the unit's
number (`form_values.py`): `cell-error`, `external-link`, `not-finite`.
"""

from __future__ import annotations

from pathlib import Path

from cchc_excel.read import layout as lay
from cchc_excel.template import metadata
from cchc_excel.errors import CchcError, UnreadableFile
from cchc_excel.read.identify import check_spec, identify
from cchc_excel.core.periods import Period, parse_period
from cchc_excel.core.findings import Issue
from cchc_excel.core.roster import Roster
from cchc_excel.spec.model import FormSpec
from cchc_excel.spec.loader import available_specs, load_spec
from cchc_excel.read.submission import Submission
from cchc_excel.read.form_values import ValueReader
from cchc_excel.read.locate import FormLocator
from cchc_excel.read.meta_sheet import read_meta_sheet
from cchc_excel.read.workbook_io import Book

from cchc_excel.ooxml.gate import Limits, open_checked

__all__ = ["read_workbook", "Limits"]

TITLE_ROWS = 12  # rows of a sheet's top searched for the unit's name and the period
TITLE_SHEETS = 3  # first sheets searched
MAX_TITLE_ROWS = 30


def read_workbook(path, spec: FormSpec | str | Path | None = None, *, roster: Roster | None = None,
                  unit_code: str | None = None, period: Period | str | None = None,
                  limits: Limits = Limits(), data: bytes | None = None) -> Submission:
    """Read one returned workbook (.xlsx, .xls or .ods).

    Args:
        path: the file; it is never modified.
        spec: the form spec (or its id or path); by default the one named in our template's metadata,
            else the bundled default.
        roster: units, to recognise the unit by code or by the name written in the workbook.
        unit_code: the unit that sent it (wins over what the file says; a warning when they differ).
        period: the period it reports (`2023-Q2`, a `Period`), likewise.
        limits: bounds on the file, checked by `safety.open_checked` first, and on what is read of each
            sheet (`max_rows`, `max_cols`).
        data: the file's bytes, when they are not on disk (a member of a zip); `path` then only names it.

    Returns:
        A `Submission`; what was odd about the file is in its `issues`.

    Raises:
        UnreadableFile: naming the file, when it is not a spreadsheet we can open at all.
        PeriodError: `period` cannot be understood.
    """
    path = Path(path)
    asked_period = parse_period(period) if period is not None and period != "" else None
    checked = open_checked(path, limits, data=data)
    book = None
    try:
        book = Book(path, checked.format, limits.max_rows, limits.max_cols, data=checked.data, zip=checked.zip,
                    max_cells=limits.max_cells)
        reader = _Reader(book, spec, roster, unit_code, asked_period)
        return reader.read()
    except CchcError:
        raise
    except Exception as e:  # any parser failure: the user gets a sentence, never a traceback
        raise UnreadableFile(_unreadable(path, e)) from e
    finally:
        try:
            if book is not None:
                book.close()  # closes the zip it was given too
            else:
                checked.close()
        except Exception:  # closing a half-open workbook must not hide the real error
            pass


def _unreadable(path: Path, error: Exception) -> str:
    kind = type(error).__name__
    if kind == "PasswordError":
        why = "tệp được đặt mật khẩu; hãy gỡ mật khẩu rồi gửi lại"
    elif kind in ("ZipError", "BadZipFile"):
        why = "tệp nén .xlsx bị hỏng hoặc không trọn vẹn"
    elif kind == "XmlError" or type(error).__module__.startswith("python_calamine"):
        why = "nội dung bảng tính bị hỏng"
    elif isinstance(error, MemoryError):
        why = "tệp quá lớn"
    else:
        detail = str(error).strip().splitlines()[0][:160] if str(error).strip() else kind
        why = f"tệp bị hỏng hoặc không phải bảng tính ({detail})"
    return f"Không đọc được tệp {path.name}: {why}."


class _Reader:
    def __init__(self, book: Book, spec, roster, unit_code, period):
        self.book = book
        self.roster = roster
        self.asked_unit = (str(unit_code).strip() or None) if unit_code is not None else None
        self.asked_period = period
        self.meta, self.layout = self._metadata()
        self.spec = self._spec(spec)
        self.sub = Submission(path=book.path, spec=self.spec, file_format=book.format,
                              template=self.meta or None)
        # Sheets searched for forms and for the unit's name and period: neither our metadata nor the list of
        # findings that leads a feedback workbook sent back (`Lỗi cần sửa`), whose lines quote files, units
        # and periods.
        self.searched = [s for s in book.sheet_names if s not in (metadata.SHEET, lay.FEEDBACK_SHEET)]
        self.locator = FormLocator(book, self.spec, self.layout, self.searched, self.warn)

    # -- metadata and spec --

    def _metadata(self) -> tuple[dict, dict]:
        if metadata.SHEET not in self.book.sheet_names:
            return {}, {}
        meta, layout = read_meta_sheet(self.book)
        if not (meta.get("spec_id") or meta.get("generator", "").startswith(metadata.GENERATOR)):
            return {}, {}
        return meta, layout

    def _spec(self, spec) -> FormSpec:
        if isinstance(spec, FormSpec):
            return spec
        if spec is not None:
            return load_spec(spec)
        return _bundled_spec(self.meta.get("spec_id") or None)

    def warn(self, rule: str, message: str, indicator: str = "", sheet: str = "", cell: str = "",
             severity: str = "warning") -> None:
        self.sub.add(Issue(severity, rule, indicator, sheet, cell, message))

    # -- the whole file --

    def read(self) -> Submission:
        sub = self.sub
        sub.saved_at = self.book.saved_at()
        self.locator.locate()
        ValueReader(sub, self.book, self.warn).read(self.spec, self.locator.places)
        self._identify()
        self._report_missing_rows()
        for sheet in self.book.truncated:
            self.warn("sheet-truncated", f"Trang tính có quá nhiều dòng; chỉ đọc {self.book.max_rows} dòng "
                      "đầu, phần sau bị bỏ qua.", sheet=sheet)
        for sheet in sorted(self.book.too_wide):
            self.warn("sheet-truncated", f"Trang tính có quá nhiều cột; chỉ đọc {self.book.max_cols} cột "
                      "đầu, phần sau bị bỏ qua.", sheet=sheet)
        return sub

    # -- where the forms are --

    def _report_missing_rows(self) -> None:
        """Rows of a found form not found, among those the unit's level reports (all when unknown)."""
        levels = self.sub.reported_levels or ({self.sub.level} if self.sub.level else set())
        for form, sheet, ind in self.locator.missing:
            if levels and not any(self.spec.concerns(ind, lv) for lv in levels):
                continue
            self.warn("row-missing", f"{form.name}: không tìm thấy dòng {ind.code}. {ind.label}.",
                      indicator=ind.id, sheet=sheet)


    # -- values --

    # -- unit, period, level --

    def _identify(self) -> None:
        texts = []

        def title_texts() -> list[str]:
            if not texts:
                texts.extend(self._title_texts())
            return texts

        for issue in check_spec(self.meta, self.spec) + identify(
                self.sub, self.meta, roster=self.roster, unit_code=self.asked_unit, period=self.asked_period,
                title_texts=title_texts, file_stem=self.book.path.stem):
            self.sub.add(issue)

    def _title_texts(self) -> list[str]:
        """Text cells above the first table of the first sheets, then the sheet names."""
        spec = self.spec
        skip = {lay.fold(t) for t in (spec.title, spec.issued_with, spec.column_note, spec.appendix) if t}
        texts = []
        sheets = [s for s in self.searched if s not in self.book.hidden][:TITLE_SHEETS]
        sections = self.locator.sections()
        for sheet in sheets:
            rows = self.book.rows(sheet)
            stop = min(len(rows), TITLE_ROWS)
            firsts = [s.start for s in sections.values() if s.sheet == sheet]
            if firsts:  # down to the first table's header, which may sit below a long title
                header = lay.header_rows_end(rows, min(firsts), len(rows))
                stop = min(header[0] if header else min(firsts) + 1, MAX_TITLE_ROWS)
            for row in rows[:stop]:
                for v in row:
                    if type(v) is str and v.strip() and len(v) < 300:
                        folded = lay.fold(v)
                        if folded in skip or "ban hanh kem theo" in folded:
                            continue
                        texts.append(v)
        return texts + self.searched


_BUNDLED: dict = {}


def _bundled_spec(spec_id: str | None) -> FormSpec:
    """The bundled spec named `spec_id` (the default one when it is not bundled), loaded once."""
    spec = _BUNDLED.get(spec_id)
    if spec is None:
        spec = load_spec(spec_id if spec_id in available_specs() else None)
        if len(_BUNDLED) < 64:
            _BUNDLED[spec_id] = spec
    return spec
