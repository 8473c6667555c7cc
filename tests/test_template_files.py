"""`workbook_templates/` holds the blank template of each level; this test fails when one is stale.

Compared by content (what openpyxl reads: cells, styles, validations, conditional formats, names, print
setup, protection, properties), not bytes, so a new xlsxwriter release that writes the same workbook
differently does not make them stale. They are regenerated with the time recorded in their metadata.
"""

from __future__ import annotations

import io
from datetime import datetime, timezone
from pathlib import Path

import pytest
from openpyxl import load_workbook
from python_calamine import CalamineWorkbook

from cchc_excel.template import metadata
from cchc_excel.spec.loader import load_spec
from cchc_excel.template.build import template_bytes

TEMPLATES = Path(__file__).resolve().parent.parent / "workbook_templates"
SPEC = load_spec()


def content(data: bytes) -> dict:
    """What a workbook holds, as plain data."""
    wb = load_workbook(io.BytesIO(data))
    out = {
        "sheets": wb.sheetnames,
        "names": sorted((name, dn.attr_text) for name, dn in wb.defined_names.items()),
        "properties": sorted((p.name, p.value) for p in wb.custom_doc_props.props),
        "lock_structure": bool(wb.security and wb.security.lockStructure),
    }
    for ws in wb.worksheets:
        cells = [
            (c.coordinate, c.value, c.protection.locked, c.fill.fgColor.rgb, c.font.b, c.font.i, c.font.name,
             c.number_format, c.alignment.wrap_text, c.comment.text if c.comment else None)
            for row in ws.iter_rows() for c in row if c.value is not None or c.has_style
        ]
        out[ws.title] = {
            "state": ws.sheet_state,
            "protected": (ws.protection.sheet, ws.protection.password),
            "cells": cells,
            "merged": sorted(str(r) for r in ws.merged_cells.ranges),
            "columns": sorted((k, d.width, d.hidden) for k, d in ws.column_dimensions.items()),
            "rows": sorted((k, d.height) for k, d in ws.row_dimensions.items()),
            "validations": sorted((str(d.sqref), d.type, d.operator, d.formula1, d.formula2, d.prompt, d.error)
                                  for d in ws.data_validations.dataValidation),
            "conditional": sorted((str(r.sqref), tuple(tuple(c.formula) for c in r.rules))
                                  for r in ws.conditional_formatting),
            "print": (ws.print_area, ws.print_title_rows, ws.page_setup.paperSize, ws.page_setup.orientation,
                      ws.page_setup.fitToWidth, ws.page_setup.fitToHeight, ws.freeze_panes),
        }
    return out


@pytest.mark.parametrize("level", load_spec().row_levels)
def test_blank_template_is_fresh(level):
    path = TEMPLATES / f"{SPEC.id}_{level}.xlsx"
    hint = (f"workbook_templates/ is stale: regenerate it with "
            f"`python -m cchc_excel template --level {level} -o workbook_templates/`")
    assert path.exists(), hint
    data = path.read_bytes()
    meta, _ = metadata.parse_sheet(CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_name(
        metadata.SHEET).to_python())
    assert (meta["level"], meta["unit_code"], meta["period"]) == (level, "", ""), hint
    when = datetime.strptime(meta["generated_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    fresh = template_bytes(SPEC, level=level, generated_at=when)
    assert content(data) == content(fresh), hint
