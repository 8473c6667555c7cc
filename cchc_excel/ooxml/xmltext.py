"""XML text in OOXML parts, both ways: entity and `_xHHHH_` escapes, attributes, part paths.

OOXML adds one escape of its own to XML's: a character XML cannot hold (a control character such as the
carriage return Excel keeps in `Alt+Enter` text) is written `_x000D_`, and a literal `_x000D_` typed by a
user is written `_x005F_x000D_` (`_x005F_` is the underscore). Excel, LibreOffice and python-calamine
decode it in shared strings, inline strings and string formula results alike.
"""

from __future__ import annotations

import re

__all__ = ["attributes", "decode_escapes", "escape", "normpath", "plain", "unescape", "xml_text"]

_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"', "apos": "'"}
_BOTH = re.compile(r"&(#x[0-9a-fA-F]+|#\d+|lt|gt|amp|quot|apos);|_x([0-9a-fA-F]{4})_")
_ENTITY = re.compile(r"&(#x[0-9a-fA-F]+|#\d+|lt|gt|amp|quot|apos);")
_OOXML = re.compile(r"_x([0-9a-fA-F]{4})_")
_ATTR = re.compile(rb'([\w:.-]+)\s*=\s*(?:"([^"]*)"|\'([^\']*)\')')
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f]|_x[0-9A-Fa-f]{4}_")


def _reference(m) -> str:
    """The character for a match of `&(name);` (group 1) or of `_xHHHH_` (group 2)."""
    if m.lastindex == 2 and m.group(2):
        return chr(int(m.group(2), 16))
    name = m.group(1)
    if name.startswith("#x"):
        return chr(int(name[2:], 16))
    if name.startswith("#"):
        return chr(int(name[1:]))
    return _NAMED[name]


def unescape(text: str) -> str:
    """XML character and entity references (`&amp;`, `&#7889;`) in attribute values and text."""
    return _ENTITY.sub(_reference, text) if "&" in text else text


def decode_escapes(text: str) -> str:
    """OOXML's `_xHHHH_` escapes in text an XML parser has already unescaped."""
    return _OOXML.sub(lambda m: chr(int(m.group(1), 16)), text) if "_x" in text else text


def xml_text(raw: bytes) -> str:
    """The text of raw element content (UTF-8): XML references and `_xHHHH_` escapes decoded in one pass,
    so that `_x005F_x000D_` stays the literal `_x000D_`."""
    text = raw.decode("utf-8")
    if "&" in text or "_x" in text:
        text = _BOTH.sub(_reference, text)
    return text


def escape(text: str) -> str:
    """Text for an element's content: `&`, `<`, `>` escaped, control characters as `_xHHHH_` and a literal
    `_xHHHH_` guarded as `_x005F_xHHHH_`, as Excel writes them."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _CONTROL.sub(lambda m: f"_x{ord(m.group()):04X}_" if len(m.group()) == 1 else "_x005F" + m.group(),
                        text)


def plain(text: str) -> bool:
    """Whether `text` is written the same wherever xlsxwriter writes it (shared strings, custom properties):
    not empty, no edge whitespace (which needs `xml:space="preserve"`), and nothing `escape` writes as an
    `_xHHHH_` escape. Such text may replace a placeholder in a part xlsxwriter wrote, escaped by `escape`."""
    return bool(text) and text == text.strip() and not _CONTROL.search(text)


def attributes(blob: bytes) -> dict[str, str]:
    """The attributes in a start tag's bytes (`name="..."` or `name='...'`, prefixes kept), unescaped."""
    return {
        m.group(1).decode(): unescape((m.group(2) if m.group(2) is not None else m.group(3)).decode("utf-8", "replace"))
        for m in _ATTR.finditer(blob)
    }


def normpath(path: str) -> str:
    """A zip member path with `.` and `..` resolved (relationship targets are relative)."""
    parts: list[str] = []
    for piece in path.split("/"):
        if piece == "..":
            if parts:
                parts.pop()
        elif piece and piece != ".":
            parts.append(piece)
    return "/".join(parts)
