"""template.styles.print_setup: the one print set-up of every sheet we write."""

import io

import pytest
import xlsxwriter

from cchc_excel.template.styles import FOOTER_PAGE, FOOTER_SHEET_AND_PAGE, print_setup


def _sheet():
    return xlsxwriter.Workbook(io.BytesIO(), {"in_memory": True}).add_worksheet("BM1")


@pytest.mark.parametrize("options, expected", [
    ({}, {"orientation": 1, "hcenter": 0, "margin_left": 0.7, "repeat_row_range": "", "footer": ""}),
    ({"landscape": True, "center": True, "margins": (0.5, 0.4, 0.6, 0.6), "repeat": (9,), "footer": FOOTER_PAGE},
     {"orientation": 0, "hcenter": 1, "margin_left": 0.5, "margin_right": 0.4, "margin_top": 0.6,
      "margin_bottom": 0.6, "repeat_row_range": "'BM1'!$10:$10", "footer": FOOTER_PAGE}),
    ({"repeat": (6, 7), "area": (0, 0, 40, 4), "footer": FOOTER_SHEET_AND_PAGE},
     {"orientation": 1, "repeat_row_range": "'BM1'!$7:$8", "print_area_range": "'BM1'!$A$1:$E$41",
      "footer": FOOTER_SHEET_AND_PAGE}),
])
def test_print_setup(options, expected):
    ws = _sheet()
    print_setup(ws, **options)
    assert (ws.paper_size, ws.fit_page, ws.fit_width, ws.fit_height) == (9, 1, 1, 0)  # A4, one page wide
    assert {key: getattr(ws, key) for key in expected} == expected
