"""What goes under a form of a report sent upward: footnote lines, then the signature block (place and
date, `NGƯỜI LẬP BIỂU`, `THỦ TRƯỞNG ĐƠN VỊ`), as Vietnamese official forms end.

The date and the preparer's name are formulas on the cover's inputs (`cchc_date`, `cchc_preparer`): typed
once on `Thông tin chung`, they appear under every form; blank, the date is dotted for a pen.
"""

from __future__ import annotations

from dataclasses import dataclass

from cchc_excel.core.text import fold
from cchc_excel.template.styles import merged_line, row_height

# Words naming what kind of unit a name is, folded, longest first; the territorial ones give a place.
_UBND = ("uy ban nhan dan", "ubnd")
_TERRITORIAL = ("thanh pho", "thi tran", "thi xa", "tinh", "huyen", "quan", "phuong", "xa")
DOTS = "……"


def split_unit_name(name: str) -> tuple[str, str]:
    """`Thị xã Hoài Nhơn` -> ("thị xã", "Hoài Nhơn"); `UBND phường Tam Quan Bắc` -> ("phường", "Tam Quan
    Bắc"); ("", name) when no territorial word leads it (`Sở Nội vụ`)."""
    words = name.split()
    for n in (4, 1):  # "Ủy ban nhân dân" / "UBND"
        if len(words) > n and fold(" ".join(words[:n])) in _UBND:
            words = words[n:]
            break
    for n in (2, 1):
        if len(words) > n and fold(" ".join(words[:n])) in _TERRITORIAL:
            return " ".join(words[:n]).lower(), " ".join(words[n:])
    return "", name


@dataclass(frozen=True)
class Signature:
    """The signature block of a unit's report: `place` heads the date line ("" leaves dots)."""

    place: str = ""

    @classmethod
    def of(cls, unit_name: str | None) -> "Signature":
        kind, place = split_unit_name(unit_name or "")
        return cls(place if kind else "")


def write_after_form(ws, styles, last_row: int, last_col: int, width: float, footnotes,
                     signature: Signature | None) -> int:
    """Footnote lines (10 pt, one merged row each) and the signature block under row `last_row` of a form
    `last_col + 1` columns (`width` characters) wide; returns the last row written."""
    row = last_row
    for line in footnotes:
        row += 1
        merged_line(ws, row, last_col, line, styles.small_italic, width, 10)
    if signature is not None:
        row = _signature(ws, styles, row + 2, last_col, signature)
    return row


def _signature(ws, styles, row: int, last_col: int, signature: Signature) -> int:
    """Two columns of the block: the preparer over columns A–B, the head of the unit over C to the last."""
    italic = styles.fmt(italic=True, align="center", valign="vcenter")
    bold = styles.fmt(bold=True, align="center", valign="vcenter")
    place = (signature.place or DOTS).replace('"', '""')
    blank = f"{place}, ngày {DOTS} tháng {DOTS} năm {DOTS}"
    # DAY/MONTH/YEAR and TEXT(…, "00") read the same in Excel and LibreOffice whatever the locale; a date
    # the spreadsheet kept as text (typed "20/06/2023" under a locale with months first) is shown as typed.
    date = (f'=IF(ISNUMBER(cchc_date),"{place}, ngày "&TEXT(DAY(cchc_date),"00")&" tháng "'
            f'&TEXT(MONTH(cchc_date),"00")&" năm "&YEAR(cchc_date),'
            f'IF(LEN(cchc_date)>0,"{place}, ngày "&cchc_date,"{blank}"))')
    right = 2
    ws.merge_range(row, right, row, last_col, "", italic)
    ws.write_formula(row, right, date, italic, blank)
    for r, (left_text, right_text, fmt) in enumerate((
            ("NGƯỜI LẬP BIỂU", "THỦ TRƯỞNG ĐƠN VỊ", bold),
            ("(Ký, ghi rõ họ tên)", "(Ký tên, đóng dấu)", italic)), row + 1):
        ws.merge_range(r, 0, r, 1, left_text, fmt)
        ws.merge_range(r, right, r, last_col, right_text, fmt)
    ws.set_row(row + 3, row_height(4))  # room to sign
    name_row = row + 4
    ws.merge_range(name_row, 0, name_row, 1, "", bold)
    ws.write_formula(name_row, 0, '=""&cchc_preparer', bold, "")
    return name_row
