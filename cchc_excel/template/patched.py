"""Filled templates made from one build: the base, every cell that varies patched per copy.

`FilledCopies.copy(unit, values, notes, comments)` gives the workbook `template_bytes` gives for the same
arguments (tested cell by cell and format by format), in a few milliseconds instead of a full xlsxwriter
build: the level's template is built once with a placeholder unit (as `UnitCopies` does), then per copy
only what differs is rewritten: the value and Ghi chú cells of the forms and their rows' heights, the
cached results of the ratio formulas and of the live checks (computed as the full build computes them, by
`build._form_context`), the cover's summary, the highlighted cells' formats, the comments (written by
xlsxwriter's own comment and VML writers) and the tokens standing for the unit and for the caller's own
texts. Texts typed into cells go in as inline strings, so the base's shared-strings table keeps its order.

`copy` returns None, for the caller to build that copy in full with `template_bytes`, when the base could
not be cut as expected (`fast` is False: a token outside the parts whose escaping is reproduced, such as
the unit's name in the forms' cached unit line when the period is unknown; a value cell missing) or when
a token's text is not written by plain XML escaping (control characters, edge spaces, a literal
`_x0041_`), or the unit has no name or code.
"""

from __future__ import annotations

import copy
import io
import re
import zipfile
from collections import defaultdict
from datetime import datetime

from xlsxwriter.comments import Comments
from xlsxwriter.vml import Vml

from cchc_excel.core.periods import Period
from cchc_excel.core.roster import Unit
from cchc_excel.ooxml.parts import workbook_sheets
from cchc_excel.ooxml.patch import Segment, ZipParts
from cchc_excel.ooxml.sheetxml import (SheetSlots, blank_cell, formula_cell, inline_string_cell, number_cell,
                                       row_ht)
from cchc_excel.ooxml.xmltext import escape, plain
from cchc_excel.spec.expr import is_number
from cchc_excel.spec.model import FormSpec
from cchc_excel.template import build
from cchc_excel.template.cover import COVER, summary_results
from cchc_excel.template.forms import (COL_ERRORS, COL_NOTE, COL_VALUE, COL_WARNINGS, COL_CHECK, COMMENT_OPTIONS,
                                       LETTER, indicator_row_height, ratio_value, value_format)

__all__ = ["FilledCopies"]

_VML_TYPE = '<Default Extension="vml" ContentType="application/vnd.openxmlformats-officedocument.vmlDrawing"/>'
_COMMENTS_TYPE = ('<Override PartName="/xl/comments{n}.xml" '
                  'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.comments+xml"/>')
_RELS = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships '
         'xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" '
         'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/vmlDrawing" '
         'Target="../drawings/vmlDrawing{n}.vml"/><Relationship Id="rId2" '
         'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/comments" '
         'Target="../comments{n}.xml"/></Relationships>')
# Elements a worksheet may have after <legacyDrawing>, in the schema's order.
_AFTER_LEGACY = ("<legacyDrawingHF", "<drawingHF", "<picture", "<oleObjects", "<controls", "<webPublishItems",
                 "<tableParts", "<extLst", "</worksheet>")


class FilledCopies:
    """Filled templates of one spec, level, period and unit-or-not, from one build (see the module).

    Args:
        unit_known: the copies name their unit (a placeholder in the base) or leave it to be typed.
        before_sheets, feedback: as for `template_bytes`; their texts may hold `tokens`, replaced per
            copy (in the shared strings and the custom properties only).
    """

    def __init__(self, spec: FormSpec, *, level: str, period: Period | None, password: str | None = None,
                 reported_levels: frozenset | None = None, merged_units: int | None = None,
                 generated_at: datetime | None = None, unit_known: bool = True, before_sheets=None,
                 feedback: dict | None = None, tokens=()):
        self.spec, self.level, self.period, self.password = spec, level, period, password
        self.reported = frozenset(reported_levels) if reported_levels else spec.reported_levels(level)
        self.merged_units, self.generated_at = merged_units, generated_at
        self.unit_known = unit_known
        self._full = {"before_sheets": before_sheets, "feedback": feedback}
        self.tokens = tuple(tokens) + ((build._TOKEN_NAME, build._TOKEN_CODE) if unit_known else ())
        self.fast = True
        self._build()

    # ------------------------------------------------------------------------------------ the base

    def _build(self) -> None:
        spec = self.spec
        ctx = build._form_context(spec, self.reported, spec.level_name(self.level), None, self.period,
                                  self.password, values={}, notes={}, comments={})
        captured = {}

        def register(workbook, styles):
            # Every value cell's highlighted twin exists in styles.xml, though the base uses none.
            captured["workbook"] = workbook
            for ind in spec.indicators.values():
                twin = value_format(styles, ind, ctx.concerned(ind), True)
                twin._get_xf_index()
                captured[ind.id] = twin

        placeholder = Unit(build._TOKEN_CODE, build._TOKEN_NAME, self.level) if self.unit_known else None
        data = build.template_bytes(
            spec, level=self.level, unit=placeholder, period=self.period, password=self.password,
            reported_levels=self.reported, merged_units=self.merged_units, after_sheets=register,
            generated_at=self.generated_at, **self._full)
        self.parts = ZipParts(data)
        self._results = ctx.results  # the live checks' results on a blank template
        self._twins = {ind_id: captured[ind_id].xf_index for ind_id in spec.indicators}
        self._sheets = {ws.name: ws for ws in captured["workbook"].worksheets()}
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            self.part_of = workbook_sheets(z)  # sheet name -> part
        self.text = {name: self.parts.read(name).decode("utf-8") for name in self.parts.names()
                     if name.endswith((".xml", ".rels"))}
        self._tokened = [name for name, text in self.text.items() if any(t in text for t in self.tokens)]
        if not set(self._tokened) <= set(build.PER_UNIT_PARTS) or any(n.startswith("xl/comments") for n in self.text):
            self.fast = False
            return
        self._cut(ctx)

    def _cut(self, blank) -> None:
        """The form sheets and the cover cut at the cells that vary (`blank`: the context of no values),
        their fixed ends and the pieces of the tokened parts deflated once."""
        spec = self.spec
        self._slots = {}
        cells = build.layout(spec)
        for form in spec.forms:
            rows = [cells[ind.id][1] + 1 for ind in form.indicators]
            refs = [f"{LETTER[col]}{r}" for r in rows for col in (COL_VALUE, COL_NOTE, COL_ERRORS, COL_WARNINGS,
                                                                    COL_CHECK)]
            slots = self._slots[form.name] = SheetSlots(self.text[self.part_of[form.name]], refs, rows)
            if not all(f"D{r}" in slots and f"E{r}" in slots and r in slots for r in rows):
                self.fast = False
        summary = [_ref(r, c) for r, c in summary_results(spec, blank)]
        slots = self._slots[COVER] = SheetSlots(self.text[self.part_of[COVER]], summary)
        if not all(ref in slots for ref in summary) or not self.fast:
            self.fast = False
            return
        self._ends = {name: (Segment(slots.head.encode("utf-8")), Segment(slots.tail.encode("utf-8")),
                             Segment(_with_legacy_drawing(slots.tail).encode("utf-8")))
                      for name, slots in self._slots.items()}
        split = re.compile("(" + "|".join(map(re.escape, self.tokens)) + ")") if self.tokens else None
        self._token_pieces = {}
        for name in self._tokened:
            pieces = split.split(self.text[name])
            self._token_pieces[name] = [piece if i % 2 else Segment(piece.encode("utf-8"))
                                        for i, piece in enumerate(pieces)]

    # ------------------------------------------------------------------------------------ a copy

    def copy(self, unit: Unit | None, *, values: dict | None = None, notes: dict | None = None,
             comments: dict | None = None, tokens: dict | None = None, parts: dict | None = None) -> bytes | None:
        """The filled workbook of `unit` (None when the base names none), or None when this copy must be
        built in full (`template_bytes`): the base could not be cut, or a text is not plain.

        Args:
            values, notes, comments: as for `template_bytes`.
            tokens: {token: text} for the caller's tokens.
            parts: {member: bytes} replacing whole members of the base (a caller's own sheet).
        """
        tokens = dict(tokens or {})
        if self.unit_known:
            tokens.update({build._TOKEN_NAME: unit.name, build._TOKEN_CODE: unit.code})
        if not self.fast or not all(plain(text) for text in tokens.values()):
            return None
        spec = self.spec
        ctx = build._form_context(spec, self.reported, spec.level_name(self.level), unit, self.period,
                                  self.password, values=values, notes=notes, comments=comments)
        replace = {name: [data.encode("utf-8") if isinstance(data, str) else data]
                   for name, data in (parts or {}).items()}
        drawings = []
        for form in spec.forms:
            changes, heights = self._form_changes(form, ctx)
            commented = any(ind.id in ctx.comments for ind in form.indicators)
            if commented:
                drawings.append((form, heights))
            if changes or commented:
                replace[self.part_of[form.name]] = self._segments(form.name, changes, commented)
        replace[self.part_of[COVER]] = self._segments(COVER, self._cover_changes(ctx), False)
        replace.update(self._comment_parts(drawings, ctx))
        for name, pieces in self._token_pieces.items():
            replace[name] = [piece if isinstance(piece, Segment) else escape(tokens[piece]).encode("utf-8")
                             for piece in pieces]
        added = {name: replace.pop(name) for name in list(replace) if name not in self.text}
        return self.parts.build(replace, add=added)

    def _segments(self, sheet: str, changes: dict, drawn: bool) -> list:
        """A sheet's member as deflate segments: its fixed head and tail compressed once, the rows between
        (with `changes`) per copy; `drawn`: the tail names the sheet's comments' VML."""
        slots = self._slots[sheet]
        head, tail, tail_drawn = self._ends[sheet]
        return [head, slots.middle(changes).encode("utf-8"), tail_drawn if drawn else tail]

    def _form_changes(self, form, ctx) -> tuple[dict, dict]:
        """A form sheet's cells and row tags for `ctx` ({reference: XML}, those that differ from the
        base's), and the rows whose height changed ({0-based row: height})."""
        slots = self._slots[form.name]
        changes, heights = {}, {}
        for ind in form.indicators:
            row = ctx.cells[ind.id][1]
            r = row + 1
            d, e = f"D{r}", f"E{r}"
            commented = ind.id in ctx.comments
            style = self._twins[ind.id] if commented else slots.style(d)
            concerned = ctx.concerned(ind)
            value = ctx.values.get(ind.id)
            if ind.kind == "ratio" and concerned:
                cached = ratio_value(ctx.values, ind)
                if cached is not None or commented:
                    changes[d] = formula_cell(d, style, slots.formula(d), "" if cached is None else cached)
            elif ind.kind != "header" and is_number(value):
                changes[d] = number_cell(d, style, value)
            elif ind.kind != "header" and isinstance(value, str) and value:
                changes[d] = inline_string_cell(d, style, value)
            elif commented:
                changes[d] = blank_cell(d, style)
            note = ctx.notes.get(ind.id, "")
            if note:
                changes[e] = inline_string_cell(e, slots.style(e), note)
                height = indicator_row_height(ind, note)
                if height != indicator_row_height(ind, ""):
                    changes[r] = row_ht(slots.base(r), height)
                    heights[row] = height
            results = ctx.results[ind.id]
            if results == self._results[ind.id]:
                continue
            for col, cached in zip((COL_CHECK, COL_ERRORS, COL_WARNINGS), results):
                ref = f"{LETTER[col]}{r}"
                if ref in slots:
                    changes[ref] = formula_cell(ref, slots.style(ref), slots.formula(ref), cached)
        return changes, heights

    def _cover_changes(self, ctx) -> dict:
        slots = self._slots[COVER]
        changes = {}
        for (row, col), cached in summary_results(self.spec, ctx).items():
            ref = _ref(row, col)
            changes[ref] = formula_cell(ref, slots.style(ref), slots.formula(ref), cached)
        return changes

    def _comment_parts(self, drawings: list, ctx) -> dict:
        """The comments, VML drawings and sheet relationships of the sheets with comments, and the content
        types naming them, numbered as xlsxwriter numbers them (`Workbook._prepare_vml`)."""
        if not drawings:
            return {}
        out = {}
        data_id, shape_id = 1, 1024
        types = self.text["[Content_Types].xml"]
        overrides = []
        for n, (form, heights) in enumerate(drawings, start=1):
            ws = _scratch(self._sheets[form.name], heights)
            for ind in form.indicators:
                if ind.id in ctx.comments:
                    ws.write_comment(ctx.cells[ind.id][1], COL_VALUE, ctx.comments[ind.id], dict(COMMENT_OPTIONS))
            count = ws._prepare_vml_objects(data_id, shape_id, n, n)
            vml, comments = Vml(), Comments()
            for writer in (vml, comments):
                writer._set_xml_writer(io.StringIO())
            vml._assemble_xml_file(ws.vml_data_id, ws.vml_shape_id, ws.comments_list, ws.buttons_list)
            comments._assemble_xml_file(ws.comments_list)
            out[f"xl/drawings/vmlDrawing{n}.vml"] = vml.fh.getvalue()
            out[f"xl/comments{n}.xml"] = comments.fh.getvalue()
            sheet_part = self.part_of[form.name]
            folder, _, leaf = sheet_part.rpartition("/")
            out[f"{folder}/_rels/{leaf}.rels"] = _RELS.format(n=n)
            overrides.append(_COMMENTS_TYPE.format(n=n))
            data_id += int((1024 + count) / 1024)
            shape_id += 1024 * int((1024 + count) / 1024)
        default_xml = '<Default Extension="xml" ContentType="application/xml"/>'
        types = types.replace(default_xml, default_xml + _VML_TYPE, 1)
        at = types.find('<Override PartName="/xl/sharedStrings.xml"')
        at = at if at >= 0 else types.rfind("</Types>")
        out["[Content_Types].xml"] = types[:at] + "".join(overrides) + types[at:]
        return {name: [text.encode("utf-8")] for name, text in out.items()}


def _ref(row: int, col: int) -> str:
    return f"{LETTER[col]}{row + 1}"


def _with_legacy_drawing(xml: str) -> str:
    """A sheet's XML with `<legacyDrawing r:id="rId1"/>` (its comments' VML) in its schema position."""
    for anchor in _AFTER_LEGACY:
        at = xml.find(anchor)
        if at >= 0:
            return xml[:at] + '<legacyDrawing r:id="rId1"/>' + xml[at:]
    raise ValueError("not a worksheet")


def _scratch(base, heights: dict):
    """A throwaway copy of a finished xlsxwriter worksheet, to place comments as xlsxwriter places them
    (their boxes' positions follow the columns' widths and the rows' heights, `heights` this copy's)."""
    ws = copy.copy(base)
    ws.row_sizes = dict(base.row_sizes)
    ws.row_info = dict(base.row_info)
    ws.comments = defaultdict(dict)
    ws.comments_list, ws.external_vml_links, ws.external_comment_links = [], [], []
    ws.prev_col_offset = ws.prev_row_offset = (0, 0)
    for row, height in heights.items():
        ws.set_row(row, height)
    return ws
