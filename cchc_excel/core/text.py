"""Text helpers every stage shares: folding Vietnamese to ASCII, unit-name keys, slugs, cleaning untrusted
text, and numbers and dates as Vietnamese writes them (`1.234,5`, `20/06/2023`)."""

from __future__ import annotations

import math
import re
import unicodedata
from datetime import date, datetime

__all__ = ["RETURN_SUFFIXES", "SPREADSHEET_SUFFIXES", "UBND_PREFIX", "clean_text", "drop_ubnd", "fold", "name_key", "slugify",
           "vn_date", "vn_datetime", "vn_number"]

# The workbooks we read, by file name (lower case).
SPREADSHEET_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".ods")
# What a unit may send a return as: a workbook, a Word report (Phụ lục I in its tables), a zip of them.
RETURN_SUFFIXES = SPREADSHEET_SUFFIXES + (".docx", ".doc", ".zip")

# "UBND"/"Ủy ban nhân dân" before a unit's name, in folded text ("ubnd phuong ...") or a slug ("ubnd-phuong-...").
UBND_PREFIX = re.compile(r"^(?:ubnd|uy[ -]ban[ -]nhan[ -]dan)[ -]+(?=.)")
_LEVEL_PREFIX = re.compile(r"^(?:phuong|xa|thi tran|huyen|thi xa|thanh pho|quan)\s+")
_NAME_PREFIX = re.compile(f"{UBND_PREFIX.pattern}|{_LEVEL_PREFIX.pattern}")


def fold(text: str) -> str:
    """Lowercase ASCII without diacritics (đ -> d), spaces squeezed."""
    text = unicodedata.normalize("NFD", str(text).replace("Đ", "D").replace("đ", "d"))
    text = "".join(c for c in text if unicodedata.category(c) != "Mn")
    return re.sub(r"\s+", " ", text.lower()).strip()


def drop_ubnd(folded: str) -> str:
    """Folded text (or a slug) without a leading "ubnd"/"uy ban nhan dan": `ubnd phuong x` -> `phuong x`."""
    return UBND_PREFIX.sub("", folded)


def name_key(name: str) -> str:
    """`UBND phường Tam Quan Bắc` and `Tam Quan Bac` give the same key."""
    key = fold(name)
    for _ in range(2):
        key = _NAME_PREFIX.sub("", key)
    return key


def slugify(text: str) -> str:
    """`Phường Tam Quan Bắc` -> `phuong-tam-quan-bac`, for file names; "don-vi" when nothing is left."""
    return re.sub(r"[^a-z0-9]+", "-", fold(text)).strip("-") or "don-vi"


def clean_text(text: str) -> str:
    """NFC, control and format characters (NUL, RTL override, ...) turned into spaces, whitespace collapsed."""
    text = unicodedata.normalize("NFC", text)
    text = "".join(" " if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") else c for c in text)
    return " ".join(text.split())


def vn_number(value, *, percent: bool = False, places: int | None = None, fixed: bool = False,
              group: bool = True) -> str:
    """A number as Vietnamese writes it: `1.234`, `16,2`, `-3` (dot for thousands, comma for decimals).

    Rounded to `places` decimals (two for a percentage, else four), trailing zeros dropped unless `fixed`
    (`2,0`); `group=False` leaves out the thousands dots. None gives "để trống" (blank).
    """
    if value is None:
        return "để trống"
    if isinstance(value, bool):
        value = int(value)
    if places is None:
        places = 2 if percent else 4
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        value = round(value, places)
        if value.is_integer() and not fixed:
            value = int(value)
    sep = "," if group else ""
    if isinstance(value, int) and not fixed:
        text = f"{value:{sep}}"
    else:
        text = f"{value:{sep}.{places}f}"
        if not fixed:
            text = text.rstrip("0").rstrip(".")
    return text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")


def vn_date(d: date) -> str:
    """`20/06/2023`."""
    return d.strftime("%d/%m/%Y")


def vn_datetime(moment: datetime) -> str:
    """`20/06/2023 14:05` (in the time zone `moment` carries)."""
    return moment.strftime("%d/%m/%Y %H:%M")
