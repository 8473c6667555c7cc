"""One cell decoder: an xlsx cell's type, style and text -> the value python-calamine would give.

Every path that reads xlsx cells itself (`fast.column_rows` for our templates, `stream.stream_xlsx_rows`
for huge sheets) decodes them here, so a cell reads the same whichever path its sheet takes:

* numbers as float; text as str; `t="b"` as bool; a blank or a cell without a value as '';
* a number in a date or time format (`NumberFormats`) as python-calamine converts it: a `date` for a
  whole day count, a `datetime` with a time of day, a `time` under 1, a `timedelta` in an elapsed-time
  format (`[h]:mm`), to the millisecond; the 1900 system's phantom 29/02/1900 and the 1904 system of old
  Mac workbooks counted as Excel counts them; a day count past year 9999 stays a number;
* `t="d"` (an ISO 8601 date, as LibreOffice and openpyxl may write) as `datetime`, `time` or `date`
  by its form, or its text when it is none;
* `t="e"` (a formula error) as `CellError("#DIV/0!")`, where python-calamine gives ''.

`is_external_formula` tells a formula that takes its value from another workbook, whose cached result
is whatever that workbook held when last linked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

__all__ = ["EPOCH_1900", "PLAIN", "CellError", "NumberFormats", "decode_cell", "is_empty", "is_external_formula",
           "serial_value"]

EPOCH_1900 = datetime(1899, 12, 30)  # day 60 is the 29/02/1900 Excel believes in: later days count from here
_EPOCH_1900_EARLY = datetime(1899, 12, 31)  # days 1-59: day 1 is 01/01/1900
_EPOCH_1904 = datetime(1904, 1, 1)
_MS_PER_DAY = 86_400_000
_ISO_DATETIME = re.compile(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d+))?")
_ISO_TIME = re.compile(r"(\d\d):(\d\d)(?::(\d\d)(?:\.(\d+))?)?")
_ISO_DATE = re.compile(r"(\d{4})-(\d\d)-(\d\d)")


@dataclass(frozen=True, slots=True)
class CellError:
    """A formula error cell (`t="e"`): `#DIV/0!`, `#REF!`, `#VALUE!`, `#N/A`... Neither blank nor text."""

    code: str

    def __str__(self) -> str:
        return self.code


_FORMULA_STRING = re.compile(r'"(?:[^"]|"")*"')
# xlsx: Excel writes `[1]Sheet1!A1` (the index of an externalLink part); other writers may keep the file's
# name, `'[Book2.xlsx]Sheet 1'!A1`. Structured references (`Table1[Col]`, `[@Col]`) are neither.
# ods: LibreOffice writes `['file:///C:/b.ods'#$Sheet1.A1]`.
_EXTERNAL = re.compile(r"(?<![\w\]])'?\[(?:\d+|[^\[\]']+\.(?:xls[xmb]?|ods|csv))\]|\['?[a-z]+:[^\]]*#\$", re.I)


def is_external_formula(formula: str) -> bool:
    """Whether a formula (xlsx `<f>` text or ods `table:formula`) refers to another workbook."""
    if not formula or "[" not in formula:
        return False
    return bool(_EXTERNAL.search(_FORMULA_STRING.sub('""', formula)))


@dataclass(frozen=True, slots=True)
class NumberFormats:
    """What a workbook's styles and date system say about its numbers.

    Attributes:
        dates: indexes of the cell formats (`s`) showing a date or a time.
        durations: those showing an elapsed time (`[h]:mm`): read as `timedelta`.
        percents: those showing a percent: 48% is stored 0.48, read as such (the caller scales it).
        date1904: the workbook counts days from 01/01/1904 (`<workbookPr date1904="1"/>`).
    """

    dates: frozenset = frozenset()
    durations: frozenset = frozenset()
    percents: frozenset = frozenset()
    date1904: bool = False


PLAIN = NumberFormats()


def is_empty(value) -> bool:
    """Whether a decoded cell shows nothing worth reading: '', None, or a formula error (python-calamine
    gives '' for those)."""
    return value is None or value == "" or type(value) is CellError


def decode_cell(kind: str, text: str, style: int | None, formats: NumberFormats = PLAIN, strings=None):
    """The value of one cell.

    Args:
        kind: its `t` attribute: "n" (also when absent), "s", "str", "inlineStr", "b", "e" or "d".
        text: its `<v>` text, or an inline string's text, with XML and `_xHHHH_` escapes decoded.
        style: its `s` attribute, or None.
        formats: the workbook's `NumberFormats`.
        strings: the shared strings by index (`.get(index, "")`), for `t="s"`.
    """
    if not text:
        return ""
    if kind == "n":
        try:
            number = float(text)
        except ValueError:
            return text
        return serial_value(number, style, formats) if style is not None and style in formats.dates else number
    if kind == "s":
        index = text.strip()
        return strings.get(int(index), "") if strings is not None and index.isdigit() else ""
    if kind == "b":
        return text.strip().lower() in ("1", "true")
    if kind == "e":
        return CellError(text.strip())
    if kind == "d":
        return _iso_value(text.strip())
    return text  # "str", "inlineStr", and types no writer uses


def serial_value(number: float, style: int | None, formats: NumberFormats):
    """A day count in a date-formatted cell (style among `formats.dates`) as python-calamine gives it."""
    try:
        ms = round(number * _MS_PER_DAY)
        if style in formats.durations:
            return timedelta(milliseconds=ms)
        if formats.date1904:
            epoch = _EPOCH_1904
        else:
            epoch = _EPOCH_1900_EARLY if number < 60 else EPOCH_1900
        moment = epoch + timedelta(milliseconds=ms)
    except (OverflowError, ValueError):  # inf, nan, or beyond the years 1-9999
        return number
    if number < 1:
        return moment.time()
    return moment.date() if number.is_integer() else moment


def _iso_value(text: str):
    """`t="d"`: `2023-06-15T10:30:00` (datetime), `10:30` (time), `2023-06-15` (date); else the text."""
    try:
        if "T" in text:
            m = _ISO_DATETIME.fullmatch(text)
            if m:
                y, mo, d, h, mi, s = (int(g) for g in m.groups()[:6])
                return datetime(y, mo, d, h, mi, s, _micro(m.group(7)))
        elif ":" in text:
            m = _ISO_TIME.fullmatch(text)
            if m:
                return time(int(m.group(1)), int(m.group(2)), int(m.group(3) or 0), _micro(m.group(4)))
        else:
            m = _ISO_DATE.fullmatch(text)
            if m:
                return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:  # 2023-13-01
        pass
    return text


def _micro(fraction: str | None) -> int:
    return int((fraction or "0")[:6].ljust(6, "0"))
