"""Which cell formats of `xl/styles.xml` show a date, an elapsed time or a percent.

A cell's `s` attribute indexes the `<cellXfs>` list; each `<xf>` names a number format, built in (14 is
`dd/mm/yyyy`, 9 is `0%`) or declared in `<numFmts>` with its format code. Excel stores a date as a day
count (45092 is 15/06/2023) and 48% as 0.48: only the format tells.
"""

from __future__ import annotations

import re
from functools import lru_cache

from cchc_excel.ooxml.xmltext import unescape

__all__ = ["date_styles", "duration_styles", "percent_styles"]

_DATE_IDS = frozenset(range(14, 23)) | frozenset(range(27, 37)) | frozenset(range(45, 48)) | \
    frozenset(range(50, 59))  # Excel's built-in date and time formats
_DURATION_IDS = frozenset({46})  # [h]:mm:ss
_PERCENT_IDS = frozenset({9, 10})  # 0% and 0.00%

_NUMFMT = re.compile(rb"<(?:\w+:)?numFmt\b([^>]*)>")
_CELL_XFS = re.compile(rb"<(?:\w+:)?cellXfs\b[^>]*>(.*?)</(?:\w+:)?cellXfs>", re.S)
_XF = re.compile(rb"<(?:\w+:)?xf\b([^>]*)>")
_NUMFMT_ID = re.compile(rb"""\bnumFmtId\s*=\s*["'](\d+)["']""")
_FORMAT_CODE = re.compile(rb"""\bformatCode\s*=\s*(?:"([^"]*)"|'([^']*)')""")


def date_styles(styles_xml: bytes) -> frozenset:
    """Indexes of the cell formats (`cellXfs`) whose number format shows a date or a time of day (an
    elapsed time such as `[h]:mm` included: see `duration_styles`)."""
    return _styles_cached(styles_xml, "date")


def duration_styles(styles_xml: bytes) -> frozenset:
    """Indexes of the cell formats whose number format shows an elapsed time (`[h]:mm`, `[mm]:ss`)."""
    return _styles_cached(styles_xml, "duration")


def percent_styles(styles_xml: bytes) -> frozenset:
    """Indexes of the cell formats (`cellXfs`) whose number format shows a percent (48% stored as 0.48)."""
    return _styles_cached(styles_xml, "percent")


def _is_percent_code(code: str) -> bool:
    return "%" in re.sub(r'"[^"]*"|\\.', "", code)


def _is_date_code(code: str) -> bool:
    code = re.sub(r'"[^"]*"|\\.|\[[^\]]*\]|_.|\*.', "", code)
    return bool(re.search(r"[dmyhs]", code, re.I)) and "general" not in code.lower()


def _is_duration_code(code: str) -> bool:
    """`[h]:mm`, `[mm]:ss`: an hour, minute or second count in brackets (not a colour or a locale)."""
    return bool(re.search(r"\[(?:h+|m+|s+)\]", re.sub(r'"[^"]*"|\\.', "", code), re.I))


_KINDS = {"date": (_DATE_IDS, _is_date_code), "duration": (_DURATION_IDS, _is_duration_code),
          "percent": (_PERCENT_IDS, _is_percent_code)}  # kind -> (built-in ids, test of a custom code)


@lru_cache(maxsize=64)  # templates of one generation share their styles part
def _styles_cached(styles_xml: bytes, kind: str) -> frozenset:
    return _styles_showing(styles_xml, *_KINDS[kind])


def _styles_showing(styles_xml: bytes, builtin: frozenset, is_wanted) -> frozenset:
    """Indexes of the cell formats whose number format is one of the `builtin` ids or a custom format
    (`<numFmt>`) whose code passes `is_wanted`."""
    ids = set(builtin)
    for m in _NUMFMT.finditer(styles_xml):
        fmt_id, code = _NUMFMT_ID.search(m.group(1)), _FORMAT_CODE.search(m.group(1))
        if fmt_id and code:
            text = (code.group(1) if code.group(1) is not None else code.group(2)).decode("utf-8", "replace")
            if is_wanted(unescape(text)):
                ids.add(int(fmt_id.group(1)))
    found = set()
    block = _CELL_XFS.search(styles_xml)
    if block:
        for i, m in enumerate(_XF.finditer(block.group(1))):
            fmt_id = _NUMFMT_ID.search(m.group(1))
            if fmt_id and int(fmt_id.group(1)) in ids:
                found.add(i)
    return frozenset(found)

