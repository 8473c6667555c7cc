"""A1 cell references: `"D21"` <-> 0-based (row, column)."""

from __future__ import annotations

import re
from functools import lru_cache

__all__ = ["col_index", "col_letters", "cell_name", "split_ref"]


def col_index(letters: str) -> int:
    """`"A"` -> 0, `"AB"` -> 27."""
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n - 1


def col_letters(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


@lru_cache(maxsize=8192)
def cell_name(row: int, col: int) -> str:
    """0-based (row, col) -> `"D21"`."""
    return f"{col_letters(col)}{row + 1}"


_REF_RE = re.compile(r"^\$?([A-Za-z]{1,3})\$?(\d{1,7})$")


@lru_cache(maxsize=4096)
def split_ref(ref: str) -> tuple[int, int] | None:
    """`"D21"` or `"$D$21"` -> 0-based (20, 3); None when it is not a cell reference."""
    m = _REF_RE.match(ref.strip())
    if not m:
        return None
    return int(m.group(2)) - 1, col_index(m.group(1))
