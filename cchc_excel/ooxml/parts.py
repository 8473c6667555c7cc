"""Where things are in an xlsx package, and what its workbook part says.

`xl/workbook.xml` lists the sheets by name with a relationship id each; `xl/_rels/workbook.xml.rels` maps
those ids to the sheet parts (`worksheets/sheet1.xml`, relative to `xl/`, or absolute from the root).
Writers differ: prefixes (`<x:sheet>`), attribute order and quotes, absolute targets, `..` in paths.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass
from datetime import datetime, timezone

from cchc_excel.ooxml.xmltext import attributes, normpath, unescape

__all__ = ["SheetPart", "date1904", "defined_names", "saved_at", "shared_strings_part", "sheet_parts",
           "workbook_sheets"]

WORKBOOK = "xl/workbook.xml"
WORKBOOK_RELS = "xl/_rels/workbook.xml.rels"
_RELATIONSHIP = re.compile(rb"<(?:\w+:)?Relationship\b([^>]*)>")
_SHEET = re.compile(rb"<(?:\w+:)?sheet\b([^>]*)/?>")
_DEFINED_NAME = re.compile(rb"<(?:\w+:)?definedName\b([^>]*)>([^<]*)<")
_WORKBOOK_PR = re.compile(rb"<(?:\w+:)?workbookPr\b([^>]*)>")


@dataclass(frozen=True)
class SheetPart:
    """A worksheet: its zip member and its visibility (`visible`, `hidden`, `veryHidden`)."""

    part: str
    state: str = "visible"


def sheet_parts(workbook_xml: bytes, rels_xml: bytes) -> dict[str, SheetPart]:
    """Sheet title -> its `SheetPart`, in the workbook's order; chart sheets and dangling ids left out."""
    targets = {}
    for rel in _RELATIONSHIP.finditer(rels_xml):
        blob = rel.group(1)
        if b"/worksheet" not in blob:
            continue  # styles, theme, shared strings, chart sheets...
        attrs = attributes(blob)
        if "Id" in attrs and "Target" in attrs:
            target = attrs["Target"]
            target = target.lstrip("/") if target.startswith("/") else "xl/" + target
            targets[attrs["Id"]] = normpath(target)
    out = {}
    for sheet in _SHEET.finditer(workbook_xml):
        attrs = attributes(sheet.group(1))
        rid = next((v for k, v in attrs.items() if k.endswith(":id")), None)
        if "name" in attrs and rid in targets:
            out[attrs["name"]] = SheetPart(targets[rid], attrs.get("state", "visible"))
    return out


def workbook_sheets(archive: zipfile.ZipFile) -> dict[str, str]:
    """Sheet title -> zip member of its XML (`xl/worksheets/sheet3.xml`), read from an open xlsx."""
    found = sheet_parts(archive.read(WORKBOOK), archive.read(WORKBOOK_RELS))
    return {name: sheet.part for name, sheet in found.items()}


def shared_strings_part(names) -> str | None:
    """The shared-strings member among the zip's `names`, if any (some writers capitalise it)."""
    for candidate in ("xl/sharedStrings.xml", "xl/SharedStrings.xml"):
        if candidate in names:
            return candidate
    return None


def defined_names(workbook_xml: bytes) -> dict[str, str]:
    """Workbook-level defined names -> their formula text (`'Biểu mẫu 3'!$D$21`)."""
    out = {}
    for dn in _DEFINED_NAME.finditer(workbook_xml):
        attrs = attributes(dn.group(1))
        if "name" in attrs and "localSheetId" not in attrs:
            out[attrs["name"]] = unescape(dn.group(2).decode("utf-8", "replace"))
    return out


def date1904(workbook_xml: bytes) -> bool:
    """Whether the workbook counts days from 01/01/1904 (old Mac Excel) instead of 1900."""
    m = _WORKBOOK_PR.search(workbook_xml)
    return bool(m) and attributes(m.group(1)).get("date1904", "0").lower() in ("1", "true")


def saved_at(xml: bytes, file_format: str) -> datetime | None:
    """When a workbook says it was last saved: `dcterms:modified` of an xlsx's `docProps/core.xml`,
    `dc:date` of an ods's `meta.xml`; a time without zone is taken as UTC."""
    pattern = rb"<dcterms:modified\b[^>]*>([^<]+)<" if file_format == "xlsx" else rb"<dc:date>([^<]+)<"
    m = re.search(pattern, xml)
    if not m:
        return None
    text = m.group(1).decode("ascii", "replace").strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    text = re.sub(r"(\.\d{6})\d+", r"\1", text)  # LibreOffice writes nanoseconds
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
