"""Tolerant parsing of one cell value, as officials type it.

`parse_value(raw, kind)` turns what python-calamine returns for a cell (float, int, bool, str, date/time,
None) into a number, a blank or "not a number" (`ok=False`). It only parses: negative numbers, fractions in
a count and percentages over 100 pass through for the rules engine to report.

Conventions of hand-typed text:

* Vietnamese writes the thousands separator as a dot and the decimal separator as a comma: `1.234.567`,
  `16,2`, `1.234,5`. English-style `1,234.5` is read too: with both separators present there is no doubt.
* A single separator followed by exactly three digits (`1.234`, `1,234`) is ambiguous. Whole-number kinds
  (count, flag, choice) read it as thousands; amount follows the Vietnamese convention (dot = thousands,
  comma = decimal); ratio and rate (0-100, never a thousands group) read it as a decimal. Each such reading
  carries a `note`: a Vietnamese sentence for an info finding.
* Spaces (also non-breaking and thin spaces) around a value are dropped; spaces between groups of three
  digits are thousands separators. Leading zeros are harmless (`02` is 2, the seed has one).
* `x`, `-`, dashes, `/` and `không có` mean "nothing to report": blank (None), with a note, since blank is
  not zero. `48%` is 48 for a ratio or rate.

Excel quirks: a percent-formatted cell stores 48% as 0.48 (pass `percent_format=True`); typing `1/2` makes a
date; python-calamine returns formula errors such as `#DIV/0!` as '' (the reader finds them in the
xlsx and ods XML: `read.form_values`).
"""

from __future__ import annotations

import datetime as _dt
import math
import re
import unicodedata
from dataclasses import dataclass

from cchc_excel.core.kinds import KINDS, PERCENT_KINDS, WHOLE_KINDS
from cchc_excel.core.text import vn_date, vn_datetime, vn_number

__all__ = ["Parsed", "parse_value", "scale_fraction", "is_blank"]


# Typed by officials to mean "nothing here"; '' and whitespace are blank without a note.
_BLANK_TOKENS = frozenset({"x", "-", "\u2013", "\u2014", "\u2212", "/", "không có"})
_FLAG_WORDS = {
    "có": 1, "không": 0, "hoàn thành": 1, "đã hoàn thành": 1, "chưa hoàn thành": 0,
    "co": 1, "khong": 0, "hoan thanh": 1, "chua hoan thanh": 0,  # typed without diacritics
}
_EXCEL_ERRORS = frozenset({"#DIV/0!", "#N/A", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#NULL!"})

_ZERO_WIDTH = re.compile("[\u200b\u200c\u200d\u2060\ufeff]")
_INNER_SPACE = re.compile(r"\s+")  # \s covers U+00A0, U+2009, U+202F in str patterns
_SIGN = re.compile("([-+\u2212])\\s*")
_PLAIN = re.compile("[0-9]+")
# Groups of three after a first group of 1-3 digits not starting with 0, then an optional decimal part.
_GROUPED = re.compile(r"([1-9][0-9]{0,2})((?:([., ])[0-9]{3})(?:\3[0-9]{3})*)(?:([.,])([0-9]+))?")
_DECIMAL = re.compile("([0-9]*)[.,]([0-9]+)")
_MAX_NUMBER_TEXT = 64  # characters of text read as a number at most


@dataclass(frozen=True, slots=True)
class Parsed:
    """One parsed cell.

    Attributes:
        value: None for blank; a number (int when whole, else float); the cell's text when `ok` is False.
        ok: False when the cell holds something that is not a number for this kind.
        note: Vietnamese sentence when the reading could change what the official meant, else None.
        raw: What the cell held.
    """

    value: int | float | str | None
    ok: bool
    note: str | None = None
    raw: object = None


def scale_fraction(value) -> float:
    """Return `value` × 100, rounded to 10 decimals so that 0.48 gives 48.0, not 48.00000000000001."""
    return round(float(value) * 100, 10)


def _whole(x: float) -> int | float:
    return int(x) if x.is_integer() else x


def _clean(text: str) -> str:
    return _ZERO_WIDTH.sub("", text).strip() if text else ""


def is_blank(raw) -> bool:
    """Return True when the cell holds nothing: None, '', spaces, or a blank marker such as `x` or `-`."""
    if raw is None:
        return True
    if isinstance(raw, str):
        s = _clean(raw)
        return not s or unicodedata.normalize("NFC", s).lower() in _BLANK_TOKENS
    return False


def _number(s: str, kind: str, shown: str, sign: int) -> tuple[int | float, str | None] | None:
    """Read unsigned number text `s`; return (sign × value, note) or None when it is not a number.

    `shown` is the cell text as typed, quoted in notes.
    """
    if _PLAIN.fullmatch(s):
        return sign * int(s), None
    m = _GROUPED.fullmatch(s)
    if m and m[4] != m[3]:
        gsep = m[3]
        digits = m[1] + m[2].replace(gsep, "")
        if m[4]:  # both a group and a decimal separator: unambiguous
            return sign * _whole(float(f"{digits}.{m[5]}")), None
        if gsep == " " or m[2].count(gsep) > 1:  # "1 234", "1.234.567": thousands only
            return sign * int(digits), None
        # One separator before exactly three digits: "1.234" or "1,234".
        as_decimal = kind in PERCENT_KINDS or (kind == "amount" and gsep == ",")
        name = "chấm" if gsep == "." else "phẩy"
        if as_decimal:
            value = sign * _whole(float(s.replace(",", ".")))
            return value, (f"Đã hiểu '{shown}' là {vn_number(value, group=False)} (dấu {name} thập phân), "
                           f"không phải {vn_number(sign * int(digits), group=False)}.")
        value = sign * int(digits)
        note = f"Đã hiểu '{shown}' là {value} (dấu {name} phân cách hàng nghìn)."
        if gsep == "," and kind in WHOLE_KINDS:
            note = note[:-1] + ", vì chỉ tiêu này là số nguyên."
        return value, note
    m = _DECIMAL.fullmatch(s)
    if m:  # "16,2", "0.5", "1234,5": a lone separator not followed by a group of three
        return sign * _whole(float(f"{m[1] or 0}.{m[2]}")), None
    return None


def _parse_text(raw: str, kind: str) -> Parsed:
    s = _clean(raw)
    if not s:
        return Parsed(None, True, None, raw)
    low = unicodedata.normalize("NFC", s).lower()  # some keyboards send decomposed Vietnamese
    if low in _BLANK_TOKENS:
        return Parsed(None, True, f"Đã hiểu '{s}' là để trống (không có số liệu), không phải số 0.", raw)
    if kind == "flag" and low in _FLAG_WORDS:
        return Parsed(_FLAG_WORDS[low], True, f"Đã hiểu '{s}' là {_FLAG_WORDS[low]}.", raw)
    if s.upper() in _EXCEL_ERRORS:
        return Parsed(s, False, f"Ô báo lỗi công thức {s.upper()}, không có số liệu.", raw)
    body, sign = s, 1
    if body.endswith("%"):
        if kind not in PERCENT_KINDS:  # a percentage is not a count, an amount or a code
            return Parsed(s, False, None, raw)
        body = body[:-1].rstrip()
    if len(body) > _MAX_NUMBER_TEXT:  # no count or amount is that long; int() would refuse 4,300 digits
        return Parsed(s, False, None, raw)
    m = _SIGN.match(body)
    if m:
        sign, body = (1 if m[1] == "+" else -1), body[m.end():]
    got = _number(_INNER_SPACE.sub(" ", body), kind, s, sign)
    if got is None:
        return Parsed(s, False, None, raw)
    return Parsed(got[0], True, got[1], raw)


def _date_note(raw) -> tuple[str, str]:
    if isinstance(raw, _dt.datetime):
        text = vn_datetime(raw) if raw.time() != _dt.time() else vn_date(raw)
        what = "ngày"
    elif isinstance(raw, _dt.date):
        text, what = vn_date(raw), "ngày"
    elif isinstance(raw, _dt.time):
        text, what = raw.strftime("%H:%M"), "giờ"
    else:
        text, what = str(raw), "khoảng thời gian"
    note = (f"Ô chứa {what} {text}, không phải số: Excel tự đổi những gì gõ như '1/2' thành {what}; "
            "hãy định dạng ô là Số (Number) rồi gõ lại.")
    return text, note


def parse_value(raw, kind: str, *, percent_format: bool = False) -> Parsed:
    """Parse one cell value for a row of the given kind.

    Args:
        raw: What python-calamine returned (float, int, bool, str, date/time/timedelta, None), or typed text.
        kind: One of header, count, amount, ratio, rate, flag, choice.
        percent_format: The cell has a percent number format, so Excel stored 48% as 0.48. Used for
            numeric values of ratio and rate rows only.

    Returns:
        A `Parsed`. Blank cells give value None and ok True; a header row always gives Parsed(None, True).

    Raises:
        ValueError: `kind` is unknown.
    """
    t = type(raw)
    if t is float or t is int:  # fast path: calamine returns every number as float
        if kind not in KINDS:
            raise ValueError(f"unknown kind: {kind!r}")
        if kind == "header":
            return Parsed(None, True, None, raw)
        if t is float and not math.isfinite(raw):
            return Parsed(str(raw), False, None, raw)
        value = raw
        if percent_format and kind in PERCENT_KINDS:
            value = scale_fraction(value)
        return Parsed(_whole(value) if type(value) is float else value, True, None, raw)
    if kind not in KINDS:
        raise ValueError(f"unknown kind: {kind!r}")
    if kind == "header":
        return Parsed(None, True, None, raw)
    if raw is None:
        return Parsed(None, True, None, raw)
    if t is str:
        return _parse_text(raw, kind)
    if t is bool:  # a TRUE/FALSE cell, e.g. from a checkbox or a pasted formula result
        value = int(raw)
        if kind == "flag":
            return Parsed(value, True, None, raw)
        return Parsed(value, True, f"Ô chứa giá trị logic {'TRUE' if raw else 'FALSE'}; đã hiểu là {value}.", raw)
    if isinstance(raw, (_dt.date, _dt.time, _dt.timedelta)):
        text, note = _date_note(raw)
        return Parsed(text, False, note, raw)
    if isinstance(raw, (int, float)):  # numpy or other numeric subclasses
        return parse_value(float(raw), kind, percent_format=percent_format)
    return Parsed(str(raw), False, None, raw)
