"""Where each form of the spec lies in a workbook: by our template's layout, else by titles and STT codes.

A template's layout (or its defined names, which Excel moves with inserted rows and renamed sheets) is
trusted form by form, after checking the STT code printed on every row; a form not found there is looked
for like a hand-made one (`layout.py`), and a warning says how the file differs from its template.
"""

from __future__ import annotations

from cchc_excel.ooxml.a1 import cell_name, col_letters, split_ref
from cchc_excel.ooxml.cells import is_empty
from cchc_excel.read import layout as lay
from cchc_excel.template import metadata

__all__ = ["FormLocator", "MAX_ROW_FINDINGS"]

MAX_ROW_FINDINGS = 20  # rows not in a form reported one by one, the rest counted


class FormLocator:
    """Finds the forms of `spec` in `book`.

    Args:
        layout: our template's layout (indicator id -> (sheet, cell)), {} for a hand-made workbook.
        searched: the sheets searched for forms by title.
        warn: `warn(rule, message, indicator=, sheet=, cell=, severity=)` records a finding.

    Attributes:
        places: form number -> (sheet, rows, Columns, FormMatch) of each form found.
        missing: (form, sheet, indicator) of the rows not found in a found form.
    """

    def __init__(self, book, spec, layout: dict, searched: list, warn):
        self.book, self.spec, self.layout, self.searched, self.warn = book, spec, layout, searched, warn
        self.places: dict[int, tuple] = {}
        self.missing: list = []
        self._sections: dict[int, lay.Section] | None = None

    def locate(self) -> None:
        """Place every form: by the template's layout or defined names, else by title; report what is missing
        and how the file differs from its template."""
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
            filled = not is_empty(raw)
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
