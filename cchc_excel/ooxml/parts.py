"""Where things are in an xlsx package, and what its workbook part says.

The package's relationships (`_rels/.rels`) name its main part, the workbook, usually `xl/workbook.xml`
but anywhere (some generators put it at the root); `[Content_Types].xml` says what each part is. The
workbook lists the sheets by name with a relationship id each; its own relationships
(`xl/_rels/workbook.xml.rels` beside `xl/workbook.xml`) map those ids to the sheet parts, relative to the
workbook's folder or absolute from the root, and name the shared strings and styles. Excel and
python-calamine follow these, never fixed paths, and so does `locate`. Writers differ: prefixes
(`<x:sheet>`), attribute order and quotes, absolute targets, `..` in paths, the case of part names
(OPC compares them case-insensitively), and some write zip member names with backslashes
(`xl\\worksheets\\sheet1.xml`), which `normalise_names` turns into slashes.
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache

from cchc_excel.ooxml.xmltext import attributes, normpath, unescape

__all__ = ["Package", "SheetPart", "date1904", "defined_names", "locate", "normalise_names", "saved_at",
           "sheet_parts", "workbook_sheets"]

WORKBOOK = "xl/workbook.xml"
PACKAGE_RELS = "_rels/.rels"
CONTENT_TYPES = "[Content_Types].xml"
# Content types of a workbook's main part: .xlsx, .xlsm, .xltx, .xltm; and .xlsb's, a binary workbook.
WORKBOOK_TYPES = ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
                  "application/vnd.ms-excel.sheet.macroEnabled.main+xml",
                  "application/vnd.openxmlformats-officedocument.spreadsheetml.template.main+xml",
                  "application/vnd.ms-excel.template.macroEnabled.main+xml")
BINARY_WORKBOOK_TYPE = "application/vnd.ms-excel.sheet.binary.macroEnabled.main"
_RELS_MAX = 1 << 20  # bytes of a relationships or content-types part read at most
_RELATIONSHIP = re.compile(rb"<(?:\w+:)?Relationship\b([^>]*)>")
_OVERRIDE = re.compile(rb"<(?:\w+:)?Override\b([^>]*)>")
_SHEET = re.compile(rb"<(?:\w+:)?sheet\b([^>]*)/?>")
_DEFINED_NAME = re.compile(rb"<(?:\w+:)?definedName\b([^>]*)>([^<]*)<")
_WORKBOOK_PR = re.compile(rb"<(?:\w+:)?workbookPr\b([^>]*)>")


@dataclass(frozen=True)
class SheetPart:
    """A worksheet: its zip member and its visibility (`visible`, `hidden`, `veryHidden`)."""

    part: str
    state: str = "visible"


# The parsers of a package's small parts below are pure functions of their bytes, kept for the bytes last
# seen: the returns of one template generation carry the same relationships, content types and workbook
# part, parsed once per worker instead of once per file. Each caller gets its own dict.
_PARSED = 64


def sheet_parts(workbook_xml: bytes, rels_xml: bytes, folder: str = "xl") -> dict[str, SheetPart]:
    """Sheet title -> its `SheetPart`, in the workbook's order; chart sheets and dangling ids left out.
    Relative targets are from `folder`, the workbook part's folder."""
    return dict(_sheet_parts(workbook_xml, rels_xml, folder))


@lru_cache(maxsize=_PARSED)
def _sheet_parts(workbook_xml: bytes, rels_xml: bytes, folder: str) -> tuple:
    targets = {rid: target for rid, (kind, target) in relationships(rels_xml, folder).items()
               if kind.endswith("/worksheet")}  # not styles, theme, shared strings, chart sheets...
    out = {}
    for sheet in _SHEET.finditer(workbook_xml):
        attrs = attributes(sheet.group(1))
        rid = next((v for k, v in attrs.items() if k.endswith(":id")), None)
        if "name" in attrs and rid in targets:
            out[attrs["name"]] = SheetPart(targets[rid], attrs.get("state", "visible"))
    return tuple(out.items())


def relationships(rels_xml: bytes, folder: str) -> dict[str, tuple[str, str]]:
    """Relationship id -> (type, target part) of a relationships part; targets resolved from `folder`
    (the source part's folder, "" for the package), external targets (URLs) left out."""
    return dict(_relationships(rels_xml, folder))


@lru_cache(maxsize=_PARSED)
def _relationships(rels_xml: bytes, folder: str) -> tuple:
    out = {}
    for rel in _RELATIONSHIP.finditer(rels_xml):
        attrs = attributes(rel.group(1))
        if "Id" not in attrs or "Target" not in attrs or attrs.get("TargetMode", "") == "External":
            continue
        target = attrs["Target"].replace("\\", "/")
        target = target.lstrip("/") if target.startswith("/") else posixpath.join(folder, target)
        out[attrs["Id"]] = (attrs.get("Type", ""), normpath(target))
    return tuple(out.items())


def normalise_names(zf: zipfile.ZipFile) -> zipfile.ZipFile:
    """Let the members of `zf` be found by their names with slashes, whatever the writer used (some write
    `xl\\workbook.xml`); names only change in memory. zipfile compares a member's local header with its
    `orig_filename`, which stays as written. Returns `zf`."""
    for info in zf.infolist():
        if "\\" in info.filename:
            name = info.filename.replace("\\", "/")
            zf.NameToInfo.pop(info.filename, None)
            info.filename = name
            zf.NameToInfo.setdefault(name, info)  # a member written both ways: the first one
    return zf


@dataclass(frozen=True)
class Package:
    """Where an xlsx package keeps its parts (zip member names; None for those it lacks)."""

    workbook: str
    content_type: str  # of the workbook part ("" when [Content_Types].xml does not say)
    rels: str | None = None
    shared_strings: str | None = None
    styles: str | None = None
    core: str | None = None  # docProps/core.xml: when it was saved

    @property
    def folder(self) -> str:
        return posixpath.dirname(self.workbook)

    @property
    def binary(self) -> bool:
        """Whether the workbook is .xlsb's binary one, which we do not read."""
        return self.content_type == BINARY_WORKBOOK_TYPE or self.workbook.lower().endswith(".bin")


def locate(zf: zipfile.ZipFile) -> Package | None:
    """The parts of the spreadsheet package in `zf`, found as Excel finds them: the main part named by the
    package's relationships (if its content type is a workbook's), else the part the content types call
    a workbook, else `xl/workbook.xml`; then the workbook's relationships. None when there is no
    workbook (a .docx, a plain zip)."""
    types = _content_types(zf)
    package_rels = relationships(_small_part(zf, PACKAGE_RELS), "")
    main = [target for kind, target in package_rels.values() if kind.endswith("/officeDocument")]
    declared = [part for part, kind in types.items() if kind in WORKBOOK_TYPES + (BINARY_WORKBOOK_TYPE,)]
    workbook = None
    for candidate in main + declared + [WORKBOOK]:
        member = find_member(zf, candidate)
        kind = types.get(candidate.lower(), "")
        if member and (not kind or kind in WORKBOOK_TYPES or kind == BINARY_WORKBOOK_TYPE):
            workbook = member
            break
    if workbook is None:
        return None
    folder, base = posixpath.split(workbook)
    rels = find_member(zf, posixpath.join(folder, "_rels", base + ".rels"))
    related = relationships(_small_part(zf, rels), folder) if rels else {}

    def related_part(suffix: str, fallback: str) -> str | None:
        found = [target for kind, target in related.values() if kind.endswith(suffix)]
        return find_member(zf, found[0] if found else fallback)

    core = [target for kind, target in package_rels.values() if kind.endswith("/core-properties")]
    return Package(workbook, types.get(workbook.lower(), ""), rels,
                   related_part("/sharedStrings", posixpath.join(folder, "sharedStrings.xml")),
                   related_part("/styles", posixpath.join(folder, "styles.xml")),
                   find_member(zf, core[0] if core else "docProps/core.xml"))


def find_member(zf: zipfile.ZipFile, name: str) -> str | None:
    """The member of `zf` named `name`, compared as OPC compares part names: case-insensitively."""
    if name in zf.NameToInfo:
        return name
    low = name.lower()
    return next((n for n in zf.NameToInfo if n.lower() == low), None)


def _small_part(zf: zipfile.ZipFile, name: str | None) -> bytes:
    """A relationships or content-types part, at most `_RELS_MAX` bytes; b"" when missing."""
    member = find_member(zf, name) if name else None
    if member is None:
        return b""
    with zf.open(member) as f:
        return f.read(min(zf.getinfo(member).file_size, _RELS_MAX))


def _content_types(zf: zipfile.ZipFile) -> dict[str, str]:
    """Lower-cased part name -> its content type, from the `Override`s of `[Content_Types].xml`."""
    return dict(_overrides(_small_part(zf, CONTENT_TYPES)))


@lru_cache(maxsize=_PARSED)
def _overrides(xml: bytes) -> tuple:
    out = {}
    for m in _OVERRIDE.finditer(xml):
        attrs = attributes(m.group(1))
        if "PartName" in attrs:
            out[attrs["PartName"].replace("\\", "/").lstrip("/").lower()] = attrs.get("ContentType", "")
    return tuple(out.items())


def workbook_sheets(archive: zipfile.ZipFile) -> dict[str, str]:
    """Sheet title -> zip member of its XML (`xl/worksheets/sheet3.xml`), read from an open xlsx."""
    package = locate(normalise_names(archive))
    if package is None:
        raise KeyError("no workbook part")
    found = sheet_parts(archive.read(package.workbook), archive.read(package.rels) if package.rels else b"",
                        package.folder)
    return {name: sheet.part for name, sheet in found.items()}


def defined_names(workbook_xml: bytes) -> dict[str, str]:
    """Workbook-level defined names -> their formula text (`'Biểu mẫu 3'!$D$21`)."""
    return dict(_defined_names(workbook_xml))


@lru_cache(maxsize=_PARSED)
def _defined_names(workbook_xml: bytes) -> tuple:
    out = {}
    for dn in _DEFINED_NAME.finditer(workbook_xml):
        attrs = attributes(dn.group(1))
        if "name" in attrs and "localSheetId" not in attrs:
            out[attrs["name"]] = unescape(dn.group(2).decode("utf-8", "replace"))
    return tuple(out.items())


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
