"""Post-processing of finished .xlsx files at the zip level: what xlsxwriter cannot do, and fast copies.

An .xlsx is a zip of XML parts. Two jobs here:

- `lock_structure`: add `<workbookProtection lockStructure="1">` to `xl/workbook.xml`, so that no sheet
  can be added, deleted, renamed, moved or unhidden (xlsxwriter protects sheets, never the workbook).
- `ZipParts`: a parsed zip whose members can be re-emitted with a few of them replaced, copying the
  other members' already-compressed bytes as they are. Per-unit templates differ from each other only
  in a few parts (shared strings, custom properties), so one build plus a cheap re-zip per unit is
  much faster than building every workbook from scratch.
"""

from __future__ import annotations

import re
import struct
import zlib
from dataclasses import dataclass

_LOCAL = struct.Struct("<IHHHHHIIIHH")  # local file header, without name and extra field
_CENTRAL = struct.Struct("<IHHHHHHIIIHHHHHII")  # central directory header, without variable fields
_END = struct.Struct("<IHHHHIIH")  # end of central directory record
_LOCAL_SIG, _CENTRAL_SIG, _END_SIG = 0x04034B50, 0x02014B50, 0x06054B50
_UTF8_FLAG = 0x800


@dataclass(frozen=True)
class _Member:
    name: bytes  # as stored (UTF-8)
    flags: int
    method: int  # 0 stored, 8 deflated
    dostime: int
    dosdate: int
    crc: int
    size: int
    data: bytes  # compressed bytes as stored


class ZipParts:
    """A zip archive held in memory, member by member, ready to be re-emitted with changes.

    Only what xlsx files use is supported: no zip64, no encryption, stored or deflated members.
    """

    def __init__(self, data: bytes):
        self.members: list[_Member] = []
        end = data.rfind(struct.pack("<I", _END_SIG))
        if end < 0:
            raise ValueError("not a zip archive (no end of central directory)")
        _, _, _, _, count, cd_size, cd_offset, _ = _END.unpack_from(data, end)
        pos = cd_offset
        for _ in range(count):
            fields = _CENTRAL.unpack_from(data, pos)
            (sig, _made_by, _version, flags, method, dostime, dosdate, crc, csize, size,
             name_len, extra_len, comment_len, _disk, _iattr, _eattr, offset) = fields
            if sig != _CENTRAL_SIG:
                raise ValueError("corrupt zip central directory")
            name = data[pos + _CENTRAL.size: pos + _CENTRAL.size + name_len]
            pos += _CENTRAL.size + name_len + extra_len + comment_len
            local = _LOCAL.unpack_from(data, offset)
            start = offset + _LOCAL.size + local[9] + local[10]
            self.members.append(_Member(name, flags & _UTF8_FLAG, method, dostime, dosdate, crc, size,
                                        bytes(data[start:start + csize])))
        self._index = {m.name.decode("utf-8"): i for i, m in enumerate(self.members)}

    def names(self) -> list[str]:
        return list(self._index)

    def read(self, name: str) -> bytes:
        """The uncompressed bytes of member `name`."""
        member = self.members[self._index[name]]
        if member.method == 0:
            return member.data
        return zlib.decompress(member.data, -15)

    def build(self, replace: dict | None = None, add: dict | None = None) -> bytes:
        """The archive, with the members named in `replace` (name -> uncompressed bytes, or a list of
        bytes and `Segment`s) swapped in and those of `add` (new names) appended."""
        replace = replace or {}
        unknown = set(replace) - set(self._index)
        if unknown:
            raise KeyError(f"no such member: {sorted(unknown)}")
        if set(add or ()) & set(self._index):
            raise KeyError(f"members already there: {sorted(set(add) & set(self._index))}")
        template = self.members[0] if self.members else _Member(b"", 0, 8, 0, 0x21, 0, 0, b"")
        extra = [_deflated(_Member(name.encode("utf-8"), 0 if name.isascii() else _UTF8_FLAG, 8, template.dostime,
                                   template.dosdate, 0, 0, b""), data) for name, data in (add or {}).items()]
        out = []
        central = []
        offset = 0
        for member in self.members + extra:
            new = replace.get(member.name.decode("utf-8"))
            if new is not None:
                member = _deflated(member, new)
            local = _LOCAL.pack(_LOCAL_SIG, 20, member.flags, member.method, member.dostime, member.dosdate,
                                member.crc, len(member.data), member.size, len(member.name), 0)
            central.append(_CENTRAL.pack(
                _CENTRAL_SIG, 20, 20, member.flags, member.method, member.dostime, member.dosdate, member.crc,
                len(member.data), member.size, len(member.name), 0, 0, 0, 0, 0, offset) + member.name)
            out += (local, member.name, member.data)
            offset += len(local) + len(member.name) + len(member.data)
        cd = b"".join(central)
        out += (cd, _END.pack(_END_SIG, 0, 0, len(central), len(central), len(cd), offset, 0))
        return b"".join(out)


class Segment:
    """Part of a member's bytes, deflated once: copies that share it only compress what differs.

    A deflate stream is a run of blocks, and a sync flush ends one on a byte boundary, so blocks compressed
    apart can be laid end to end (each referring only to its own bytes) and closed by a final empty block.
    """

    __slots__ = ("raw", "packed")

    def __init__(self, raw: bytes):
        self.raw = raw
        compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
        self.packed = compressor.compress(raw) + compressor.flush(zlib.Z_SYNC_FLUSH)


_FINAL_BLOCK = zlib.compressobj(6, zlib.DEFLATED, -15).flush()
FAST_LEVEL = 1  # the bytes compressed per copy: twice as fast as level 6, a sixth bigger


def _deflated(member: _Member, data) -> _Member:
    """`member` holding `data`: bytes, or a list of bytes and `Segment`s (the bytes compressed here, at
    `FAST_LEVEL`)."""
    if isinstance(data, (bytes, bytearray)):
        compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
        packed = compressor.compress(data) + compressor.flush()
        return _Member(member.name, member.flags, 8, member.dostime, member.dosdate, zlib.crc32(data), len(data),
                       packed)
    out, crc, size = [], 0, 0
    for piece in data:
        if isinstance(piece, Segment):
            raw = piece.raw
            out.append(piece.packed)
        else:
            raw = piece
            compressor = zlib.compressobj(FAST_LEVEL, zlib.DEFLATED, -15)
            out.append(compressor.compress(raw) + compressor.flush(zlib.Z_SYNC_FLUSH))
        crc = zlib.crc32(raw, crc)
        size += len(raw)
    out.append(_FINAL_BLOCK)
    return _Member(member.name, member.flags, 8, member.dostime, member.dosdate, crc, size, b"".join(out))


def password_hash(password: str) -> str:
    """The legacy 16-bit hash Excel stores for sheet and workbook passwords (ECMA-376 Part 4, 14.7.1).

    It keeps honest people out, nothing more: sheet protection prevents accidents, it is not security.
    """
    digest = 0
    for char in password[::-1]:
        digest = ((digest >> 14) & 0x01) | ((digest << 1) & 0x7FFF)
        digest ^= ord(char)
    digest = ((digest >> 14) & 0x01) | ((digest << 1) & 0x7FFF)
    digest ^= len(password)
    digest ^= 0xCE4B
    return f"{digest:X}"


_PROTECTION_RE = re.compile(rb"<workbookProtection\b[^>]*/>")


def workbook_xml_locked(xml: bytes, password: str | None = None) -> bytes:
    """`xl/workbook.xml` with the structure locked: sheets cannot be added, deleted, renamed or unhidden.

    The element goes right after `<workbookPr>`, before `<bookViews>`, as the schema orders them.
    """
    attrs = b'lockStructure="1"'
    if password:
        attrs = b'workbookPassword="' + password_hash(password).encode() + b'" ' + attrs
    element = b"<workbookProtection " + attrs + b"/>"
    xml = _PROTECTION_RE.sub(b"", xml)
    for anchor in (b"<bookViews", b"<sheets"):
        at = xml.find(anchor)
        if at >= 0:
            return xml[:at] + element + xml[at:]
    raise ValueError("xl/workbook.xml has no <sheets> element")


def lock_structure(xlsx: bytes, password: str | None = None) -> bytes:
    """The workbook `xlsx` (bytes) with its structure locked (see `workbook_xml_locked`)."""
    parts = ZipParts(xlsx)
    return parts.build({"xl/workbook.xml": workbook_xml_locked(parts.read("xl/workbook.xml"), password)})
