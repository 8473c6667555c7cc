"""The shared-strings table (`xl/sharedStrings.xml`) and rich text: one reading for every path.

A string is the text of an `<si>` (or an inline `<is>`) item: its `<t>` runs joined, without the
phonetic hints (`<rPh>`) of East Asian text, XML and `_xHHHH_` escapes decoded. `SharedStrings` holds a
whole table and decodes only the items asked for; `needed_strings` streams a table, keeping only the
items a huge sheet uses, so memory stays bounded whatever the table holds.
"""

from __future__ import annotations

import re
import zipfile
from functools import lru_cache

from cchc_excel.ooxml.xmltext import xml_text

__all__ = ["SharedStrings", "needed_strings", "rich_text"]

_T = re.compile(rb"<t\b[^>]*?(?:/>|>(.*?)</t>)", re.S)
_RPH = re.compile(rb"<rPh\b.*?</rPh>", re.S)
_SI = re.compile(rb"<(?:\w+:)?si\b[^>]*?(?:/>|>(.*?)</(?:\w+:)?si>)", re.S)
_CHUNK = 1 << 16


def rich_text(content: bytes) -> str:
    """The text of an `<si>` or `<is>` element's content: its `<t>` runs, without phonetic hints."""
    if content.startswith(b"<t>") and content.endswith(b"</t>") and content.count(b"<") == 2:
        return xml_text(content[3:-4])
    if b"<rPh" in content:
        content = _RPH.sub(b"", content)
    return "".join(xml_text(m.group(1) or b"") for m in _T.finditer(content))


class SharedStrings:
    """The shared-strings table, decoded only for the indexes asked for; '' for an index it lacks."""

    def __init__(self, xml: bytes):
        if b"<si " in xml or b"<si/>" in xml or b":si" in xml:  # unusual writers: the careful way
            self._raw = [m.group(1) or b"" for m in _SI.finditer(xml)]
        else:
            self._raw = [item[:item.rfind(b"</si>")] for item in xml.split(b"<si>")[1:]]

    @property
    def raw(self) -> list:
        """The undecoded `<si>` contents, by index."""
        return self._raw

    def __getitem__(self, index: int) -> str:
        if not 0 <= index < len(self._raw):
            return ""
        return _decoded(self._raw[index])

    def get(self, index: int, default: str = "") -> str:
        return self[index] if 0 <= index < len(self._raw) else default


# The same labels and codes recur in every template: keep them. Not many more: each return adds strings of
# its own (the unit's name), and a worker reading 5,000 returns kept them all (5 MB) with room for 50,000.
@lru_cache(maxsize=4096)
def _decoded(raw: bytes) -> str:
    return rich_text(raw)


def needed_strings(zf: zipfile.ZipFile, part: str, needed: set) -> dict[int, str]:
    """Only the shared strings whose index is in `needed`, read in chunks and stopping after the largest."""
    last = max(needed)
    out: dict[int, str] = {}
    index = -1
    pending = b""
    with zf.open(part) as stream:
        while index < last:
            chunk = stream.read(_CHUNK)
            if not chunk:
                break
            pending += chunk
            end = 0
            for m in _SI.finditer(pending):  # only whole items match: the cut one waits for the next chunk
                index += 1
                end = m.end()
                if index in needed:
                    out[index] = rich_text(m.group(1) or b"")
                if index >= last:
                    break
            pending = pending[end:]
    return out
