"""Feedback workbooks at the speed of checking: the level's feedback built once, each file's patched.

`fast_feedback(plan, ...)` gives the workbook `feedback.feedback_bytes` builds in full, with the same
content (tested cell by cell, format by format): one base per spec, level, reported levels, period,
merged count, password and time, unit known or not, kept per process (`template.patched.FilledCopies`),
then per file the forms' cells, the comments, the `Lỗi cần sửa` sheet (rewritten whole: its head, its
table, its merged lines, links and filter) and the tokens standing for the unit, the returned file's path
and digests. Texts go in as inline strings.

It returns None, and the caller builds the workbook in full, when the base cannot be cut as expected or
when a text that replaces a token is not written by plain XML escaping (a unit name or a path with a
control character, edge spaces or a literal `_x0041_`), or is empty (a file without a digest).
"""

from __future__ import annotations

import dataclasses
import re
import threading
from collections import OrderedDict
from datetime import datetime

from cchc_excel.check.feedback_plan import Finding, Plan
from cchc_excel.check.feedback_sheet import (COLUMNS, GAP_ROWS, LAST_COL, TABLE_ROW, WIDTH, feedback_metadata,
                                             first_sheet_hook, formats, head_lines, table_cells, table_row_height)
from cchc_excel.core.roster import Unit
from cchc_excel.ooxml.sheetxml import blank_cell, inline_string_cell, number_cell, row_tag
from cchc_excel.read.layout import FEEDBACK_SHEET
from cchc_excel.template import build
from cchc_excel.template.patched import FilledCopies
from cchc_excel.template.styles import merged_line_height, row_height

__all__ = ["fast_feedback"]

_TOKEN_SOURCE = "\ue000cchc-feedback-source\ue001"
_TOKEN_SHA = "\ue000cchc-feedback-sha256\ue001"
_TOKEN_DIGEST = "\ue000cchc-feedback-digest\ue001"
_KEPT = 4  # bases kept per process (a run has one or two: its period, its levels)
_BASES: OrderedDict = OrderedDict()
_LOCK = threading.Lock()
_LETTERS = "ABCDEFG"
_SPANS = f"1:{LAST_COL + 1}"
# The parts of the `Lỗi cần sửa` sheet rewritten per file.
_HOLES = {
    "dimension": re.compile(r'<dimension ref="[^"]*"/>'),
    "sheetData": re.compile(r"<sheetData>.*?</sheetData>|<sheetData/>", re.S),
    "autoFilter": re.compile(r'<autoFilter ref="[^"]*"/>'),
    "mergeCells": re.compile(r"<mergeCells\b.*?</mergeCells>", re.S),
    "hyperlinks": re.compile(r"<hyperlinks>.*?</hyperlinks>", re.S),
}
_SHEET0_NAMES = re.compile(r'(<definedName name="_xlnm\.(?:Print_Area|_FilterDatabase)" localSheetId="0"'
                           r'[^>]*>[^<]*\$[A-Z]+\$)(\d+)(</definedName>)')


def fast_feedback(plan: Plan, *, password: str | None, generated_at: datetime) -> bytes | None:
    """The feedback workbook of `plan` made by patching its level's base, or None (build it in full)."""
    if not (plan.sha256 and plan.digest):
        return None
    base = _base(plan, password, generated_at)
    if base is None:
        return None
    return base.copy(plan, generated_at)


def _base(plan: Plan, password, generated_at) -> "_FeedbackBase | None":
    key = (plan.spec, plan.level, plan.reported_levels, plan.merged_units, plan.period, plan.unit is None,
           password, generated_at)
    with _LOCK:  # the page's server makes feedback in several threads
        if key not in _BASES:
            try:
                _BASES[key] = _FeedbackBase(plan, password, generated_at)
            except (AttributeError, TypeError):
                # A changed private xlsxwriter method (`template.patched`): every file of this base is built in
                # full, without paying for a failed base again each time.
                _BASES[key] = None
            while len(_BASES) > _KEPT:
                _BASES.popitem(last=False)
        _BASES.move_to_end(key)
        base = _BASES[key]
    return base if base is not None and base.copies.fast else None


class _FeedbackBase:
    """The base feedback workbook of one level and period, and how to patch it per file."""

    def __init__(self, plan: Plan, password, generated_at: datetime):
        unit = Unit(build._TOKEN_CODE, build._TOKEN_NAME, plan.level) if plan.unit is not None else None
        sheet = plan.spec.forms[0].name
        finding = Finding("error", 1, sheet, "D9", "", "", "")
        model = dataclasses.replace(plan, unit=unit, values={}, notes={}, comments={}, findings=(finding,),
                                    remarks=("",), source=_TOKEN_SOURCE, sha256=_TOKEN_SHA, digest=_TOKEN_DIGEST)
        captured = {}

        def styled(styles):
            captured.update(formats(styles))
            for fmt in captured.values():
                fmt._get_xf_index()  # every format of the sheet in styles.xml, used by the base or not

        self.copies = FilledCopies(
            plan.spec, level=plan.level, period=plan.period, password=password,
            reported_levels=plan.reported_levels, merged_units=plan.merged_units, generated_at=generated_at,
            unit_known=plan.unit is not None,
            before_sheets=first_sheet_hook(model, generated_at, styled), feedback=feedback_metadata(model),
            tokens=(_TOKEN_SOURCE, _TOKEN_SHA, _TOKEN_DIGEST))
        self.styles = {key: fmt.xf_index for key, fmt in captured.items()}
        self.part = self.copies.part_of[FEEDBACK_SHEET]
        xml = self.copies.text[self.part]
        # The sheet's fixed parts, and the names of the rewritten ones between them, in document order.
        spans = sorted((m.start(), m.end(), name) for name, pattern in _HOLES.items() for m in pattern.finditer(xml))
        self.pieces, pos = [], 0
        for start, end, name in spans:
            self.pieces += [xml[pos:start], name]
            pos = end
        self.pieces.append(xml[pos:])
        if sorted(self.pieces[1::2]) != sorted(_HOLES):  # the model has every one of them, once
            self.copies.fast = False

    def copy(self, plan: Plan, generated_at: datetime) -> bytes | None:
        last = TABLE_ROW + len(plan.findings)
        parts = {self.part: self._sheet_xml(plan, generated_at, last),
                 "xl/workbook.xml": _SHEET0_NAMES.sub(lambda m: f"{m.group(1)}{last + 1}{m.group(3)}",
                                                      self.copies.text["xl/workbook.xml"])}
        return self.copies.copy(plan.unit, values=plan.values, notes=plan.notes, comments=plan.comments,
                                tokens={_TOKEN_SOURCE: plan.source, _TOKEN_SHA: plan.sha256,
                                        _TOKEN_DIGEST: plan.digest}, parts=parts)

    def _sheet_xml(self, plan: Plan, generated_at: datetime, last: int) -> str:
        """`Lỗi cần sửa` as `feedback_sheet.write_sheet` writes it, texts as inline strings."""
        s = self.styles
        rows, merges, links = [], [], []
        for row, text, style, size, bold in head_lines(plan, generated_at):
            r = row + 1
            cells = [inline_string_cell(f"A{r}", s[style], text) if text else blank_cell(f"A{r}", s[style])]
            cells += [blank_cell(f"{c}{r}", s[style]) for c in _LETTERS[1:]]
            rows.append((row, row_tag(r, _SPANS, merged_line_height(text, WIDTH - 2, size, bold)), cells))
            merges.append(f"A{r}:G{r}")
        rows += [(row, row_tag(row + 1, _SPANS, 6), []) for row in GAP_ROWS]
        r = TABLE_ROW + 1
        rows.append((TABLE_ROW, row_tag(r, _SPANS, row_height(1)),
                     [inline_string_cell(f"{_LETTERS[c]}{r}", s["header"], title)
                      for c, (title, _) in enumerate(COLUMNS)]))
        for n, f in enumerate(plan.findings, 1):
            r = TABLE_ROW + n + 1
            cells = []
            for col, value, style, link in table_cells(n, f):
                ref = f"{_LETTERS[col]}{r}"
                if value is None:
                    cells.append(blank_cell(ref, s[style]))
                elif isinstance(value, str):
                    cells.append(inline_string_cell(ref, s[style], value))
                else:
                    cells.append(number_cell(ref, s[style], value))
                if link:
                    links.append(f'<hyperlink ref="{ref}" location="{_attr(link[0])}" tooltip="{_attr(link[1])}" '
                                 f'display="{_attr(value)}"/>')
            rows.append((TABLE_ROW + n, row_tag(r, _SPANS, table_row_height(f)), cells))
        rows.sort(key=lambda item: item[0])
        data = "".join(tag + "".join(cells) + "</row>" if cells else tag[:-1] + "/>" for _, tag, cells in rows)
        fill = {
            "dimension": f'<dimension ref="A1:G{last + 1}"/>',
            "sheetData": f"<sheetData>{data}</sheetData>",
            "autoFilter": f'<autoFilter ref="A{TABLE_ROW + 1}:G{last + 1}"/>',
            "mergeCells": f'<mergeCells count="{len(merges)}">'
                          + "".join(f'<mergeCell ref="{m}"/>' for m in merges) + "</mergeCells>",
            "hyperlinks": f"<hyperlinks>{''.join(links)}</hyperlinks>" if links else "",
        }
        return "".join(fill.get(piece, piece) if i % 2 else piece for i, piece in enumerate(self.pieces))


def _attr(text: str) -> str:
    """An attribute's value escaped as xlsxwriter escapes it."""
    return (text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;").replace(">", "&gt;")
            .replace("\n", "&#xA;"))
