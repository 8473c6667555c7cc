"""Reading a returned workbook into a `Submission`: our templates and hand-made workbooks alike.

`read_workbook(path)`:

1. checks the file (`safety.open_checked`) and opens it (`workbook_io.Book`: python-calamine, or for our
   templates the few columns it needs straight from the sheet XML);
2. recognises our templates by the very hidden `_cchc` sheet (`metadata.py`): spec, level, unit, period
   and where each value cell is. The layout is trusted form by form, after checking the STT code printed
   on every row; a form whose rows moved (rows inserted or deleted, sheet renamed) is found like a
   hand-made one, and a warning says what differs from the template;
3. finds, in a hand-made workbook, each Biểu mẫu by its title, its columns by their headers and its rows by
   their STT codes (`layout.py`), whether one sheet per form or all seven down one sheet;
4. parses every value as officials type it (`values.parse_value`), records which ratio cells still hold a
   formula, and reads unit and period from the arguments, the metadata, the roster or the title rows.

Cached formula results are never trusted: ratio rows hold what the file showed, and the rules engine
recomputes them from their numerator and denominator. Findings made while reading are `Issue`s in
`Submission.issues`; only a file that cannot be read at all raises `UnreadableFile`.

Rules of the findings: `read-conversion` (info: how a typed value was understood), `template-changed`,
`other-spec`, `other-level`, `other-unit`, `other-period`, `unit-unknown`, `period-unknown`,
`form-missing`, `form-duplicate`, `row-missing`, `row-unknown`, `row-duplicate`, `row-by-label`,
`value-column-guessed`, `sheet-truncated`.
"""

from __future__ import annotations

from pathlib import Path

from cchc_excel.read import layout as lay
from cchc_excel.ooxml.a1 import cell_name, col_letters, split_ref
from cchc_excel.template import metadata
from cchc_excel.errors import CchcError, UnreadableFile
from cchc_excel.read.identify import check_spec, identify
from cchc_excel.core.periods import Period, parse_period
from cchc_excel.core.findings import Issue
from cchc_excel.core.roster import Roster
from cchc_excel.spec.model import FormSpec, available_specs, load_spec
from cchc_excel.read.submission import CellRef, Submission
from cchc_excel.core.values import parse_value
from cchc_excel.read.workbook_io import Book, read_meta_sheet

from cchc_excel.ooxml.gate import Limits, open_checked

__all__ = ["read_workbook", "Limits"]

TITLE_ROWS = 12  # rows of a sheet's top searched for the unit's name and the period
TITLE_SHEETS = 3  # first sheets searched
MAX_TITLE_ROWS = 30
MAX_ROW_FINDINGS = 20  # rows not in a form reported one by one, the rest counted


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
        book = Book(path, checked.format, limits.max_rows, limits.max_cols, data=checked.data, zip=checked.zip)
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
        self._sections: dict[int, lay.Section] | None = None
        self.places: dict[int, tuple] = {}  # form -> (sheet, rows, Columns, FormMatch)
        self.missing: list = []  # (form, sheet, indicator) of rows not found in a found form

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
        self._locate_forms()
        self._read_values()
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

    def _locate_forms(self) -> None:
        spec = self.spec
        moved = []  # forms of our template not where its layout says
        for form in spec.forms:
            where = self._place_from_layout(form) if self.layout else None
            if where == "layout":
                continue
            if where is None:
                self._place_by_title(form)
            moved.append(form)
        found = [f.number for f in spec.forms if f.number in self.places]
        if not found:
            self.warn("form-missing", "Không tìm thấy biểu mẫu nào (Biểu mẫu 1 đến "
                      f"{spec.forms[-1].number}) trong tệp: tệp không phải báo cáo thống kê CCHC theo mẫu, "
                      "hoặc tiêu đề \"Biểu mẫu ...\" và cột STT đã bị xoá.", severity="error")
            return
        for form in spec.forms:
            if form.number not in self.places:
                self.warn("form-missing", f"Không tìm thấy {form.name} ({form.title}) trong tệp.")
        if self.layout:
            self._compare_with_template(moved)

    def _place_from_layout(self, form) -> str | None:
        """Place `form` where the template's layout says ("layout") or where the workbook's defined names
        point ("names": Excel moves them with inserted rows and renamed sheets), when the STT codes there
        match; None when neither does."""
        placed = {ind.id: self.layout[ind.id] for ind in form.indicators if ind.id in self.layout}
        if placed and self._verify(form, placed):
            return "layout"
        names = self._positions_from_names(form)
        if names and self._verify(form, names):
            return "names"
        return None

    def _positions_from_names(self, form) -> dict:
        """Where the workbook's defined names (`BM3_3.1.2`) point: Excel moves them with the cells."""
        names = self.book.defined_names() if self.book.format == "xlsx" else {}
        out = {}
        for ind in form.indicators:
            target = names.get(metadata.defined_name(ind.id))
            if not target or "!" not in target:
                continue
            sheet, ref = target.rsplit("!", 1)
            sheet = sheet.strip()
            if sheet.startswith("'") and sheet.endswith("'"):
                sheet = sheet[1:-1].replace("''", "'")
            out[ind.id] = (sheet, ref.replace("$", ""))
        return out

    def _verify(self, form, positions: dict) -> bool:
        """Whether every row of `form` is at `positions` (id -> (sheet, ref)): its STT code printed there."""
        sheets = {sheet for sheet, _ in positions.values()}
        if len(sheets) != 1:
            return False
        sheet = sheets.pop()
        if sheet not in self.book.sheet_names:
            return False
        first = split_ref(next(iter(positions.values()))[1])
        if first is None:
            return False
        value_col = first[1]
        # STT, value and note columns are enough when the STT code sits in column A, as we write it.
        rows = self.book.column_rows(sheet, ("A", col_letters(value_col), col_letters(value_col + 1)))
        rowmap = self._rows_at(positions, rows, value_col)
        if rowmap is None and not self.book.loaded(sheet):
            rows = self.book.rows(sheet)
            rowmap = self._rows_at(positions, rows, value_col)
        if rowmap is None:
            return False
        if any(ind.id not in rowmap and ind.kind != "header" for ind in form.indicators):
            return False
        first = min(rowmap.values())
        note = None  # "Ghi chú" heads the column right of the values in our template
        for r in range(first - 1, max(-1, first - 6), -1):
            v = rows[r][value_col + 1] if value_col + 1 < len(rows[r]) else ""
            if type(v) is str and lay.fold(v).startswith("ghi chu"):
                note = value_col + 1
                break
        cols = lay.Columns(stt=0, value=value_col, note=note, data_start=first)
        self.places[form.number] = (sheet, rows, cols, lay.FormMatch(rows=rowmap))
        return True

    def _rows_at(self, positions: dict, rows: list, value_col: int) -> dict | None:
        rowmap = {}
        for ind_id, (_, ref) in positions.items():
            pos = split_ref(ref)
            if pos is None or pos[0] >= len(rows) or pos[1] != value_col:
                return None
            r, c = pos
            row = rows[r]
            code = self.spec[ind_id].code
            if not (row and row[0] == code + ".") and not any(lay.stt_code(v) == code for v in row[:c]):
                return None
            rowmap[ind_id] = r
        return rowmap

    def sections(self) -> dict[int, lay.Section]:
        """Every form found by title or sheet name, in all sheets (visible first)."""
        if self._sections is None:
            self._sections = {}
            numbers = {f.number for f in self.spec.forms}
            hidden = self.book.hidden
            order = [s for s in self.searched if s not in hidden] + [s for s in self.searched if s in hidden]
            for sheet in order:
                for section in lay.find_sections(sheet, self.book.rows(sheet), numbers):
                    if section.form in self._sections:
                        first = self._sections[section.form]
                        if first.titled or not section.titled:
                            self.warn("form-duplicate", f"Biểu mẫu {section.form} xuất hiện nhiều lần; chỉ đọc "
                                      f"bản đầu tiên (trang tính '{first.sheet}').", sheet=sheet,
                                      cell=cell_name(section.start, 0))
                            continue
                    self._sections[section.form] = section
        return self._sections

    def _place_by_title(self, form) -> None:
        section = self.sections().get(form.number)
        if section is None:
            return
        rows = self.book.rows(section.sheet)
        cols = lay.find_columns(rows, section)
        if cols is None:
            self.warn("form-missing", f"Tìm thấy tiêu đề {form.name} nhưng không thấy bảng số liệu (cột STT) "
                      "bên dưới.", sheet=section.sheet, cell=cell_name(section.start, 0))
            return
        if cols.guessed:
            self.warn("value-column-guessed", f"{form.name}: không thấy cột \"Số liệu\"; đã đọc số liệu ở cột "
                      f"{cell_name(0, cols.value)[:-1]}. Hãy kiểm tra lại.", sheet=section.sheet)
        match = lay.match_form(rows, section, cols, form)
        self.places[form.number] = (section.sheet, rows, cols, match)
        self._report_rows(form, section.sheet, rows, cols, match)

    def _report_rows(self, form, sheet, rows, cols, match) -> None:
        for r, code, label in match.unknown[:MAX_ROW_FINDINGS]:
            raw = rows[r][cols.value] if cols.value < len(rows[r]) else ""
            filled = raw not in ("", None)
            what = f"STT {code}" if code else f"\"{str(label).strip()[:60]}\""
            self.warn("row-unknown", f"{form.name}: dòng {what} không có trong biểu mẫu"
                      + ("; số liệu của dòng này không được tính." if filled else "."),
                      sheet=sheet, cell=cell_name(r, cols.value), severity="warning" if filled else "info")
        if len(match.unknown) > MAX_ROW_FINDINGS:
            self.warn("row-unknown", f"{form.name}: còn {len(match.unknown) - MAX_ROW_FINDINGS} dòng khác không có "
                      "trong biểu mẫu.", sheet=sheet)
        for r, ind_id in match.duplicates:
            self.warn("row-duplicate", f"{form.name}: dòng STT {self.spec[ind_id].code} lặp lại; chỉ đọc dòng "
                      "đầu tiên.", indicator=ind_id, sheet=sheet, cell=cell_name(r, cols.value))
        for ind_id in match.by_label:
            ind = self.spec[ind_id]
            self.warn("row-by-label", f"{form.name}: dòng \"{ind.label[:60]}\" không có STT {ind.code}; đã nhận "
                      "ra theo tên chỉ tiêu.", indicator=ind_id, sheet=sheet,
                      cell=cell_name(match.rows[ind_id], cols.value), severity="info")
        for ind in form.indicators:
            if ind.kind != "header" and ind.id not in match.rows:
                self.missing.append((form, sheet, ind))

    def _report_missing_rows(self) -> None:
        """Rows of a found form not found, among those the unit's level reports (all when unknown)."""
        levels = self.sub.reported_levels or ({self.sub.level} if self.sub.level else set())
        for form, sheet, ind in self.missing:
            if levels and not any(ind.concerns(lv) for lv in levels):
                continue
            self.warn("row-missing", f"{form.name}: không tìm thấy dòng {ind.code}. {ind.label}.",
                      indicator=ind.id, sheet=sheet)

    def _compare_with_template(self, moved_forms) -> None:
        """One warning per kind of difference between the returned file and the template it came from."""
        layout_sheets = {}
        for ind_id, (sheet, _) in self.layout.items():
            ind = self.spec.indicators.get(ind_id)
            if ind is not None:
                layout_sheets.setdefault(ind.form, sheet)
        renamed, relocated, moved = [], [], []
        for form in moved_forms:
            if form.number not in self.places:
                continue
            sheet, _, cols, match = self.places[form.number]
            original = layout_sheets.get(form.number)
            if original and original != sheet:
                if original not in self.book.sheet_names:
                    renamed.append(f"'{original}' thành '{sheet}'")
                else:
                    relocated.append(f"{form.name} nằm ở trang tính '{sheet}' thay vì '{original}'")
            if any(ind_id in self.layout and self.layout[ind_id][1] != cell_name(r, cols.value)
                   for ind_id, r in match.rows.items()):
                moved.append(form.name)
        if renamed:
            self.warn("template-changed", "Tên trang tính đã bị đổi: " + ", ".join(renamed) + ".")
        if relocated:
            self.warn("template-changed", "; ".join(relocated) + ".")
        if moved:
            self.warn("template-changed", "Cấu trúc biểu mẫu đã bị sửa (chèn, xoá hoặc di chuyển dòng) ở "
                      + ", ".join(moved) + "; số liệu đã được đọc theo STT của từng dòng.")
        form_sheets = dict.fromkeys(self.places[f.number][0] for f in self.spec.forms if f.number in self.places)
        order = [self.book.sheet_names.index(sheet) for sheet in form_sheets]
        if order != sorted(order):
            self.warn("template-changed", "Thứ tự các trang tính đã bị thay đổi.")
        unprotected = [sheet for sheet in dict.fromkeys(p[0] for p in self.places.values())
                       if self.book.is_protected(sheet) is False]
        if unprotected:
            self.warn("template-changed", "Đã gỡ bảo vệ trang tính: " + ", ".join(f"'{s}'" for s in unprotected)
                      + ". Hãy kiểm tra các ô công thức và các dòng bị khoá.")

    # -- values --

    def _read_values(self) -> None:
        sub, spec, book = self.sub, self.spec, self.book
        ratios = []
        for ind in spec.value_indicators:
            sub.values[ind.id] = None
        for form in spec.forms:
            place = self.places.get(form.number)
            if place is None:
                continue
            sheet, rows, cols, match = place
            ratio_refs = {}
            for ind in form.indicators:
                r = match.rows.get(ind.id)
                if r is None or ind.kind == "header":
                    continue
                row = rows[r]
                ref = cell_name(r, cols.value)
                sub.cells[ind.id] = CellRef(sheet, ref)
                if cols.note is not None and cols.note < len(row):
                    note = row[cols.note]
                    if note not in ("", None):
                        text = _note_text(note)
                        if text:
                            sub.notes[ind.id] = text
                raw = row[cols.value] if cols.value < len(row) else ""
                if raw == "" or raw is None:
                    continue  # blank, and blank is not zero: values[id] stays None
                if ind.kind == "ratio":
                    ratio_refs[ref] = ind
                    ratios.append((ind, sheet, ref, raw))
                    continue
                percent = False
                if ind.kind == "rate" and type(raw) is float and raw > 0:  # 150% is stored 1.5 likewise
                    percent = book.is_percent(sheet, ref)
                    if not percent and book.format == "xls" and raw < 1:
                        self._percent_unknown(ind, raw, sheet, ref)
                self._store(ind, sheet, ref, raw, percent)
            ratio_refs.update({cell_name(match.rows[ind.id], cols.value): ind for ind in form.indicators
                               if ind.kind == "ratio" and ind.id in match.rows})
            if ratio_refs:
                for ref in book.formula_cells(sheet, ratio_refs):
                    sub.formulas.add(ratio_refs[ref].id)
        for ind, sheet, ref, raw in ratios:
            percent = False
            if type(raw) is float and raw > 0:
                percent = book.is_percent(sheet, ref) or \
                    (raw <= 1 and self._looks_like_fraction(ind, raw, sheet, ref))
                if not percent and book.format == "xls" and raw < 1 and ind.id not in sub.formulas:
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
        num, den = self.sub.values.get(ind.numerator), self.sub.values.get(ind.denominator)
        if num is None or den is None or den == 0:
            return False
        share = num / den
        if abs(raw - share) < 0.005 and abs(raw - share * 100) >= 1:
            shown = f"{raw:g}".replace(".", ",")
            self.warn("read-conversion", f"Đã hiểu {shown} là {shown}×100 % (tử số chia mẫu số bằng {shown}).",
                      indicator=ind.id, sheet=sheet, cell=ref, severity="info")
            return True
        return False

    def _store(self, ind, sheet: str, ref: str, raw, percent: bool) -> None:
        parsed = parse_value(raw, ind.kind, percent_format=percent)
        if parsed.note:
            self.warn("read-conversion", parsed.note, indicator=ind.id, sheet=sheet, cell=ref, severity="info")
        if parsed.ok:
            self.sub.values[ind.id] = parsed.value
        else:
            self.sub.texts[ind.id] = parsed.value if isinstance(parsed.value, str) else str(raw)

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
        sections = self.sections()
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


def _note_text(value) -> str:
    if type(value) is float:
        return str(int(value)) if value.is_integer() else str(value)
    return str(value).strip()
