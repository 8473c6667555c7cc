"""Custom document properties (`docProps/custom.xml`), the same in every OOXML file: a Word report keeps
our metadata there as the templates do (`cchc_<key>`), and Word keeps them through edits and saves."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape, quoteattr

__all__ = ["PART", "CONTENT_TYPE", "RELATIONSHIP", "custom_properties_xml", "read_custom_properties"]

PART = "docProps/custom.xml"
CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.custom-properties+xml"
RELATIONSHIP = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/custom-properties"
_NS = "http://schemas.openxmlformats.org/officeDocument/2006/custom-properties"
_VT = "http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes"
_FMTID = "{D5CDD505-2E9C-101B-9397-08002B2CF9AE}"  # the one format id of user-defined properties


def custom_properties_xml(pairs: dict) -> bytes:
    """`docProps/custom.xml` holding `pairs` (name -> text) as text properties."""
    items = "".join(f'<property fmtid="{_FMTID}" pid="{pid}" name={quoteattr(name)}><vt:lpwstr>{escape(value)}'
                    "</vt:lpwstr></property>" for pid, (name, value) in enumerate(pairs.items(), start=2))
    return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Properties xmlns="{_NS}" '
            f'xmlns:vt="{_VT}">{items}</Properties>').encode("utf-8")


def read_custom_properties(xml: bytes) -> dict:
    """name -> text of every property in `docProps/custom.xml` (which the gate checked has no DTD); {} when
    it cannot be parsed."""
    try:
        root = ET.fromstring(xml)
    except ET.ParseError:
        return {}
    out = {}
    for prop in root.iter(f"{{{_NS}}}property"):
        value = next(iter(prop), None)
        if prop.get("name") and value is not None:
            out[prop.get("name")] = (value.text or "").strip()
    return out
