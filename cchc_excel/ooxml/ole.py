"""OLE2 compound files (.xls, .doc, encrypted OOXML), read just enough: the directory and one stream.

Layout: a 512-byte header, then sectors of 512 (v3) or 4096 (v4) bytes; sector n starts at (n+1)*size.
The FAT chains sectors; the ids of FAT sectors are in the header (109) and then in DIFAT sectors.
The directory is a chain of 128-byte entries: UTF-16 name (64 bytes), name length, type, ..., start
sector, size. Streams under the header's mini-stream cutoff (4096 bytes) live in 64-byte mini sectors
of the root entry's stream, chained by the mini FAT. Every chain is walked a bounded number of steps, so
a crafted loop ends; anything out of range raises ValueError.
"""

from __future__ import annotations

import struct

__all__ = ["OleFile"]

END = 0xFFFFFFFA  # sector ids from here up are markers (end of chain, free, FAT sector...)
MINI = 64


class OleFile:
    """An OLE2 file open on binary file `f` of `size` bytes: `entries` (lower-cased name -> (type,
    start sector, size); 1 storage, 2 stream, 5 root) and `stream`."""

    def __init__(self, f, size: int):
        self.f = f
        f.seek(0)
        hdr = f.read(512)
        shift = struct.unpack_from("<H", hdr, 0x1E)[0]
        if shift not in (9, 12):
            raise ValueError("bad sector size")
        self.ss, self.nsec, self.per = 1 << shift, size >> shift, (1 << shift) // 4
        n_fat, dir_start, _, self.mini_cutoff, minifat_start, _, difat_start, n_difat = \
            struct.unpack_from("<8I", hdr, 0x2C)
        self.minifat_start = minifat_start
        fat = list(struct.unpack_from("<109I", hdr, 0x4C))  # ids of the first 109 FAT sectors
        s = difat_start
        for _ in range(min(n_difat, self.nsec)):
            if s >= END:
                break
            ids = struct.unpack(f"<{self.per}I", self.sector(s))
            fat += ids[:-1]
            s = ids[-1]
        self.fat_sectors = fat[:n_fat]
        self._fat: dict[int, tuple] = {}
        self.entries: dict[str, tuple[int, int, int]] = {}
        root = None
        for data in self._chain(dir_start, limit=1024):
            for off in range(0, self.ss, 128):
                nlen, kind = struct.unpack_from("<HB", data, off + 64)
                if kind in (1, 2, 5) and 2 <= nlen <= 64:  # length counts the final NUL
                    nm = data[off:off + nlen - 2].decode("utf-16-le", "replace").lower()
                    start, length = struct.unpack_from("<II", data, off + 116)  # size: low 32 bits
                    if kind == 5 and root is None:
                        root = (start, length)
                    elif kind != 5:
                        self.entries.setdefault(nm, (kind, start, length))
        self._root = root

    def sector(self, s: int) -> bytes:
        self.f.seek((min(s, self.nsec) + 1) * self.ss)
        data = self.f.read(self.ss)
        if s >= self.nsec or len(data) < self.ss:
            raise ValueError("sector out of range or truncated")
        return data

    def _next(self, s: int) -> int:
        idx, slot = divmod(s, self.per)
        if idx >= len(self.fat_sectors):
            raise ValueError("FAT too short")
        ids = self._fat.get(idx)
        if ids is None:  # each FAT sector read once
            ids = self._fat[idx] = struct.unpack(f"<{self.per}I", self.sector(self.fat_sectors[idx]))
        return ids[slot]

    def _chain(self, s: int, limit: int):
        """The sectors of the chain from `s`, at most `limit` of them."""
        for _ in range(min(limit, self.nsec)):
            if s >= END:
                return
            yield self.sector(s)
            s = self._next(s)

    def stream(self, name: str, max_bytes: int) -> bytes:
        """The first `max_bytes` bytes (at most) of stream `name` (lower case)."""
        _, start, size = self.entries[name]
        size = min(size, max_bytes)
        if size >= self.mini_cutoff or self._root is None:
            return b"".join(self._chain(start, -(-size // self.ss)))[:size]
        # A small stream: mini sectors, chained by the mini FAT, inside the root entry's stream.
        container = b"".join(self._chain(self._root[0], -(-self._root[1] // self.ss)))
        minifat = b"".join(self._chain(self.minifat_start, self.nsec))
        out, s = [], start
        for _ in range(-(-size // MINI)):
            if s >= END or (s + 1) * MINI > len(container) or s * 4 + 4 > len(minifat):
                raise ValueError("mini stream out of range")
            out.append(container[s * MINI:(s + 1) * MINI])
            s = struct.unpack_from("<I", minifat, s * 4)[0]
        return b"".join(out)[:size]
