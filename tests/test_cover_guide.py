"""The cover and the guide of a template never tell an official to type 0 for "none" where 0 is a choice
(BM1-5.2: 0 = Trực tuyến)."""

from __future__ import annotations

import io
import re

from openpyxl import load_workbook

from cchc_excel.spec.loader import load_spec
from cchc_excel.template.build import template_bytes
from cchc_excel.template.cover import COVER, GUIDE, GUIDE_STEPS, guide_steps

SPEC = load_spec()


def _texts(ws) -> list[str]:
    return [str(c.value) for row in ws.iter_rows() for c in row if isinstance(c.value, str)]


def test_guide_names_the_rows_where_0_is_a_choice():
    wb = load_workbook(io.BytesIO(template_bytes(level="xa", period="2023-Q2")))
    guide = " ".join(_texts(wb[GUIDE]))
    assert "BM1-5.2: 0 = Trực tuyến" in guide and "0 là một lựa chọn chứ không có nghĩa là “không có”" in guide
    for ws in (wb[COVER], wb[GUIDE]):
        for text in _texts(ws):
            for sentence in re.split(r"(?<=[.;:])\s+", text):
                if re.search(r"\b(ghi|nhập|gõ) 0\b", sentence):  # only said of the cells that take numbers
                    assert text.startswith("Ô nhập số") and "Ô chọn mã thì khác" in text, sentence


def test_guide_steps_change_only_the_blank_or_zero_step():
    assert guide_steps(SPEC)[:4] == GUIDE_STEPS[:4] and guide_steps(SPEC)[5:] == GUIDE_STEPS[5:]
    assert "Ô chọn mã thì khác" in GUIDE_STEPS[4]
