"""The roster: the reporting units, their levels and parents, from a CSV or XLSX file.

Columns `ma_don_vi, ten_don_vi, cap, don_vi_cha, email` (other columns are ignored); `cap` is one of the
levels of the form spec in use (tinh, so, huyen, xa in the 2022 forms), which the caller passes. The tree of
units comes from the parents, of any depth: province, district, commune before 1 July 2025, province and
commune since.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from cchc_excel.core.text import SPREADSHEET_SUFFIXES, drop_ubnd, fold, name_key, slugify, vn_number
from cchc_excel.errors import RosterError

COLUMNS = ("ma_don_vi", "ten_don_vi", "cap", "don_vi_cha", "email")
REQUIRED = ("ma_don_vi", "ten_don_vi", "cap")

# What Excel makes of a code typed into a cell not formatted as text, then saved as CSV or read back.
_FLOAT_CODE = re.compile(r"(\d+)\.0+")  # 22202 stored as a number and written 22202.0: unambiguous
_SCIENTIFIC = re.compile(r"\d+(?:[.,]\d+)?e[+-]?\d+", re.I)  # 1.23457E+11: digits lost
_MONTHS = "jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec"
_DATE_WORDS = re.compile(rf"\d{{1,2}}-(?:{_MONTHS})(?:-\d{{2,4}})?|(?:{_MONTHS})-\d{{2,4}}", re.I)  # 5-Jan, Jan-05
_DATE_NUMBERS = re.compile(r"(\d{1,4})([/.-])(\d{1,2})\2(\d{1,4})(?:[ T]\d{1,2}:\d\d(?::\d\d)?)?")
MAX_EXACT_CODE = 10 ** 15  # Excel keeps 15 significant digits of a number


def unit_code(text: str) -> str:
    """A unit code as written in a roster or a return, with what Excel did to it undone where that is
    unambiguous (`22202.0` -> `22202`).

    Raises:
        ValueError: with a Vietnamese reason, when Excel made the code a date or cut its digits
            (`1.23457E+11`): the code cannot be told back.
    """
    text = text.strip()
    m = _FLOAT_CODE.fullmatch(text)
    if m:
        return m.group(1)
    if _SCIENTIFIC.fullmatch(text):
        raise ValueError(f"mã {text!r} đã bị Excel đổi thành dạng số mũ hoặc làm tròn, mất chữ số")
    if _DATE_WORDS.fullmatch(text) or _looks_like_date(text):
        raise ValueError(f"mã {text!r} đã bị Excel đổi thành ngày tháng")
    return text


def _looks_like_date(text: str) -> bool:
    m = _DATE_NUMBERS.fullmatch(text)
    if not m:
        return False
    a, b, c = (int(g) for g in (m.group(1), m.group(3), m.group(4)))
    if len(m.group(1)) == 4:  # 2023-01-05
        return 1 <= b <= 12 and 1 <= c <= 31
    if len(m.group(4)) not in (2, 4) or len(m.group(1)) > 2:
        return False
    return 1 <= a <= 31 and 1 <= b <= 31 and min(a, b) <= 12  # 05/01/2023, 1/5/23


@dataclass(frozen=True, slots=True)
class Unit:
    """A reporting unit (sở/ngành, UBND cấp huyện, UBND cấp xã) or the province."""

    code: str
    name: str
    level: str
    parent: str | None = None
    email: str = ""

    @property
    def slug(self) -> str:
        """`phuong-tam-quan-bac`: the name folded to ASCII, for file names."""
        return slugify(self.name)

    def to_dict(self) -> dict:
        return {"code": self.code, "name": self.name, "level": self.level}


@dataclass(frozen=True, eq=False)
class Roster:
    """Units by code, in file order, with the warnings found while loading, and the levels (code -> Level,
    from the spec) they were checked against (empty: not checked)."""

    units: dict = field(default_factory=dict)
    warnings: list = field(default_factory=list)
    source: str = ""
    levels: dict = field(default_factory=dict)

    def __iter__(self):
        return iter(self.units.values())

    def __len__(self):
        return len(self.units)

    def __contains__(self, code) -> bool:
        return code in self.units

    def get(self, code: str) -> Unit | None:
        return self.units.get(code)

    def children(self, code: str) -> list[Unit]:
        return [u for u in self.units.values() if u.parent == code]

    def roots(self) -> list[Unit]:
        return [u for u in self.units.values() if u.parent is None]

    def subtree(self, code: str) -> list[Unit]:
        """The unit `code` and every unit below it, in roster order."""
        if code not in self.units:
            raise RosterError(f"{self.source}: không có đơn vị mã {code!r} trong danh sách.")
        wanted = {code}
        changed = True
        while changed:  # rosters are small (at most a few thousand units): a fixed point is fine
            changed = False
            for unit in self.units.values():
                if unit.parent in wanted and unit.code not in wanted:
                    wanted.add(unit.code)
                    changed = True
        return [u for u in self.units.values() if u.code in wanted]

    def reporting_units(self, code: str | None = None) -> list[Unit]:
        """Units that file a return (every level but those that only merge, as the province), under `code`
        if given."""
        units = self.subtree(code) if code else list(self.units.values())
        return [u for u in units if u.code != code and self._files_return(u.level)]

    def _files_return(self, level: str) -> bool:
        info = self.levels.get(level)
        return info is None or info.files_return

    @cached_property
    def name_patterns(self) -> list:
        """The units' names, folded, longest first, as `(name, pattern, unit)`: to find the units a text
        names (`read.identify.find_unit`). Computed once: add no units after it is used."""
        entries = []
        for unit in self.units.values():
            full = drop_ubnd(fold(unit.name))
            for name in {full, name_key(unit.name)}:
                if len(name) >= 3:
                    entries.append((name, unit))
        entries.sort(key=lambda e: -len(e[0]))
        return [(name, re.compile(r"(?<![a-z0-9])" + re.escape(name) + r"(?![a-z0-9])"), unit)
                for name, unit in entries]

    def find_by_name(self, name: str) -> Unit | None:
        """The unit whose name matches `name`, ignoring case, diacritics and "UBND"/"phường" prefixes."""
        key = name_key(name)
        if not key:
            return None
        matches = [u for u in self.units.values() if name_key(u.name) == key]
        return matches[0] if len(matches) == 1 else None


def load_roster(path: str | Path, levels: dict | None = None) -> Roster:
    """Read a roster from CSV (UTF-8, with or without BOM; comma or semicolon) or XLSX.

    `levels` are the spec's (`spec.levels`, code -> Level): the `cap` of every unit must be one of them.
    Without them any level is taken as written.

    Raises:
        RosterError: naming the file and the line, for a missing column, a duplicate code,
            an unknown level or an empty code.
    """
    path = Path(path)
    if not path.is_file():
        raise RosterError(f"Không tìm thấy tệp danh sách đơn vị {path}.")
    if path.suffix.lower() in SPREADSHEET_SUFFIXES:
        rows = _xlsx_rows(path)
    else:
        rows = _csv_rows(path)
    return _build(rows, path.name, levels or {})


def _csv_rows(path: Path) -> list[tuple[int, list[str]]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as e:
        raise RosterError(f"{path.name}: tệp không phải UTF-8 (hãy lưu dạng CSV UTF-8).") from e
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    rows, start = [], 1  # start: the line the row being read begins on
    try:
        for row in reader:
            rows.append((reader.line_num, row))
            start = reader.line_num + 1
    except csv.Error as e:  # a field past csv's size limit, mostly a quote never closed; a NUL byte
        if "field larger than field limit" in str(e):
            why = f'một ô dài quá {vn_number(csv.field_size_limit())} ký tự (có thể thiếu dấu ngoặc kép " đóng)'
        else:
            why = f"không đọc được dạng CSV ({e})"
        raise RosterError(f"{path.name}, dòng {start}: {why}.") from e
    return rows


def _xlsx_rows(path: Path) -> list[tuple[int, list[str]]]:
    from python_calamine import CalamineWorkbook

    try:
        sheet = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()
    except Exception as e:  # calamine raises its own error types for broken files
        raise RosterError(f"{path.name}: không đọc được bảng tính ({e}).") from e
    rows = []
    for i, row in enumerate(sheet, start=1):
        rows.append((i, [_cell_text(v) for v in row]))
    return rows


def _cell_text(value) -> str:
    if isinstance(value, float) and value.is_integer():
        if abs(value) >= MAX_EXACT_CODE:  # beyond 15 digits Excel has rounded it: `unit_code` refuses it
            return f"{value:.6e}"
        return str(int(value))  # a code typed as a number: 22240.0 -> "22240"
    return "" if value is None else str(value)  # a date as 2023-01-05: `unit_code` refuses it


def _build(rows: list[tuple[int, list[str]]], source: str, levels: dict) -> Roster:
    rows = [(n, [unicodedata.normalize("NFC", c).strip() for c in r]) for n, r in rows if any(c.strip() for c in r)]
    if not rows:
        raise RosterError(f"{source}: tệp danh sách đơn vị rỗng.")
    header_line, header = rows[0]
    columns = {fold(name).replace(" ", "_"): i for i, name in enumerate(header)}
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        raise RosterError(
            f"{source}, dòng {header_line}: thiếu cột {', '.join(missing)} "
            f"(cần các cột {', '.join(COLUMNS)})."
        )
    roster = Roster(source=source, levels=levels)

    def col(row, name):
        i = columns.get(name)
        return row[i] if i is not None and i < len(row) else ""

    def code_in(row, line, name):
        try:
            return unit_code(col(row, name))
        except ValueError as e:
            raise RosterError(f"{source}, dòng {line}, cột {name}: {e}; hãy định dạng cột này là Văn bản (Text) "
                              "rồi gõ lại mã đơn vị.") from None

    for line, row in rows[1:]:
        code = code_in(row, line, "ma_don_vi")
        if not code:
            raise RosterError(f"{source}, dòng {line}: thiếu mã đơn vị (ma_don_vi).")
        if code in roster.units:
            raise RosterError(f"{source}, dòng {line}: mã đơn vị {code!r} bị trùng.")
        level = fold(col(row, "cap"))
        if not level or levels and level not in levels:
            known = f" (chỉ nhận: {', '.join(levels)})" if levels else ""
            raise RosterError(f"{source}, dòng {line}: cấp {col(row, 'cap')!r} của đơn vị {code} không hợp lệ{known}.")
        name = col(row, "ten_don_vi")
        if not name:
            raise RosterError(f"{source}, dòng {line}: thiếu tên đơn vị (ten_don_vi) của mã {code}.")
        roster.units[code] = Unit(code, name, level, code_in(row, line, "don_vi_cha") or None, col(row, "email"))
    for unit in list(roster.units.values()):
        if unit.parent and unit.parent not in roster.units:
            roster.warnings.append(
                f"{source}: đơn vị cha {unit.parent!r} của {unit.code} ({unit.name}) không có trong danh sách; "
                f"coi {unit.name} là cấp cao nhất."
            )
            roster.units[unit.code] = Unit(unit.code, unit.name, unit.level, None, unit.email)
        elif unit.parent == unit.code:
            raise RosterError(f"{source}: đơn vị {unit.code} không thể là đơn vị cha của chính nó.")
    _check_no_cycle(roster)
    return roster


def _check_no_cycle(roster: Roster) -> None:
    """A unit must not be its own ancestor (A under B under A): such units would belong to no tree."""
    done: set = set()  # units known to lead up to a root
    for unit in roster:
        chain: list = []
        code = unit.code
        while code is not None and code not in done:
            if code in chain:
                loop = chain[chain.index(code):] + [code]
                raise RosterError(f"{roster.source}: đơn vị cha lặp vòng: {' → '.join(loop)}.")
            chain.append(code)
            code = roster.units[code].parent
        done.update(chain)


def find_unit(roster: Roster, code: str) -> Unit:
    """The unit `code` of `roster`, for an option that names one (`--under`, `--resend`).

    Raises:
        RosterError: `code` is not in the roster; the message names the roster's file.
    """
    unit = roster.get(code)
    if unit is None:
        try:
            unit = roster.get(unit_code(code))  # `--under 540.0`, copied from a spreadsheet
        except ValueError:
            unit = None
    if unit is None:
        raise RosterError(f"không có đơn vị mã {code!r} trong {roster.source or 'danh sách đơn vị'}.")
    return unit
