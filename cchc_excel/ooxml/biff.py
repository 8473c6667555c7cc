"""The sheets of a legacy .xls workbook stream (BIFF8, or BIFF5's "Book"), measured before it is parsed.

python-calamine parses every sheet of an .xls when it opens the file, and keeps each as a dense
rectangle from its first to its farthest cell, 30-60 bytes a cell: a 5 KB file with a cell at A1 and
one at IU65535 takes 1 GB. The DIMENSIONS record of each sheet declares that rectangle, but what
calamine allocates follows the cells themselves (it skips BLANK and MULBLANK, the formatted empty cells
Excel also counts in DIMENSIONS, and a crafted file can declare less than it holds). So `sheet_extents`
walks the records: a few milliseconds for a usual return.

Records: type (2 bytes), length (2 bytes), data. The globals substream lists the sheets (BOUNDSHEET,
0x85: offset of the sheet's BOF in the stream, visibility, type, name); each sheet substream runs from
its BOF (0x809) to its EOF (0x0A). Cell records start with row (2 bytes) and column (2 bytes); MULRK
ends with its last column.
"""

from __future__ import annotations

import struct

__all__ = ["sheet_extents", "is_encrypted"]

BOF, EOF, BOUNDSHEET, FILEPASS, CODEPAGE, MULRK = 0x0809, 0x000A, 0x0085, 0x002F, 0x0042, 0x00BD
# FORMULA, LABELSST, NUMBER, LABEL, BOOLERR, RK, RSTRING: cells python-calamine keeps.
CELLS = frozenset((0x0006, 0x00FD, 0x0203, 0x0204, 0x0205, 0x027E, 0x00D6, MULRK))


def is_encrypted(head: bytes) -> bool:
    """Whether the first records of a workbook stream hold FILEPASS (it follows BOF): a password."""
    pos = 0
    while pos + 4 <= len(head):
        rtype, rlen = struct.unpack_from("<HH", head, pos)
        if rtype == FILEPASS:
            return True
        pos += 4 + rlen
    return False


def sheet_extents(stream: bytes) -> dict[str, tuple[int, int]]:
    """Sheet name -> (rows, columns) from A1 to its farthest cell with content, for every worksheet of
    a workbook stream; chart and macro sheets left out. Raises struct.error when records are cut off."""
    out = {}
    head = struct.Struct("<HHHH").unpack_from  # type, length and, for a cell, its row and column
    cells, end = CELLS, len(stream) - 8
    for offset, name in _boundsheets(stream):
        rows = cols = depth = 0
        pos = offset
        while pos <= end:  # one unpack a record: a few hundred thousand records a second
            rtype, rlen, row, col = head(stream, pos)
            if rtype in cells:
                if rtype == MULRK and rlen >= 6:
                    col = struct.unpack_from("<H", stream, pos + 2 + rlen)[0]
                if row >= rows:
                    rows = row + 1
                if col >= cols:
                    cols = col + 1
            elif rtype == BOF and pos != offset:  # an embedded chart's substream, to its own EOF
                depth += 1
            elif rtype == EOF:
                if not depth:
                    break
                depth -= 1
            pos += 4 + rlen
        out[name] = (rows, cols)
    return out


def _boundsheets(stream: bytes) -> list[tuple[int, str]]:
    """The worksheets the globals substream lists, as (offset of their BOF, name)."""
    sheets, codec, pos = [], "latin-1", 0
    biff8 = len(stream) >= 6 and struct.unpack_from("<H", stream, 4)[0] == 0x0600
    while pos + 4 <= len(stream):
        rtype, rlen = struct.unpack_from("<HH", stream, pos)
        data = stream[pos + 4:pos + 4 + rlen]
        pos += 4 + rlen
        if rtype == EOF:
            break
        if rtype == CODEPAGE and len(data) >= 2 and not biff8:  # BIFF5 names are in the code page
            codec = f"cp{struct.unpack_from('<H', data)[0]}"
        elif rtype == BOUNDSHEET and len(data) >= 7 and data[5] == 0:  # type 0: a worksheet
            offset, n = struct.unpack_from("<I", data)[0], data[6]
            if biff8:  # a flag byte: UTF-16, or "compressed" (Latin-1)
                high = len(data) >= 8 and data[7] & 1
                raw, enc = data[8:8 + (2 * n if high else n)], "utf-16-le" if high else "latin-1"
            else:
                raw, enc = data[7:7 + n], codec
            try:
                name = raw.decode(enc, "replace")
            except LookupError:  # a code page Python does not know
                name = raw.decode("latin-1")
            sheets.append((offset, name))
    return sheets
