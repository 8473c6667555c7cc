"""Streaming readers (expat) for what must not be loaded whole: huge xlsx sheets, the ods content.

An xlsx sheet of 400,000 rows (or with a cell in column XFD) is read up to the row and column limits and
no further, and only the shared strings those rows use are kept, so time and memory stay bounded whatever
the file holds. An ods is scanned before python-calamine opens it, which it does whole. DTDs are refused,
so entity-expansion attacks cannot run.
"""

from __future__ import annotations

import zipfile
from xml.parsers import expat

from cchc_excel.ooxml.a1 import cell_name, split_ref

__all__ = ["stream_xlsx_rows", "scan_ods"]


def _safe_parser() -> expat.XMLParserType:
    """An expat parser that refuses DTDs, hence entity expansion attacks."""
    parser = expat.ParserCreate()

    def refuse(*_args):
        raise ValueError("DTD not allowed in a spreadsheet part")

    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.buffer_text = True
    return parser


class _Stop(Exception):
    """Raised from an expat handler to stop parsing early."""


def _feed(parser, stream, chunk: int = 1 << 16) -> None:
    try:
        while True:
            data = stream.read(chunk)
            if not data:
                parser.Parse(b"", True)
                return
            parser.Parse(data, False)
    except _Stop:
        return


def _local(tag: str) -> str:
    return tag.rsplit(":", 1)[-1]


def stream_xlsx_rows(zf: zipfile.ZipFile, part: str, sst_part: str | None, max_rows: int, max_cols: int):
    """Read the first `max_rows` rows and `max_cols` columns of an xlsx sheet in bounded memory.

    Returns:
        (rows, more_rows, more_cols): rows from A1 as python-calamine would give them (numbers as float,
        text as str, '' for empty); how many rows with cells were seen beyond the row limit (0 or 1:
        parsing stops there); whether cells beyond the column limit were left out.
    """
    cells: dict[int, dict[int, object]] = {}
    state = {"row": -1, "col": -1, "type": "n", "text": [], "in_v": False, "in_t": False,
             "in_rph": False, "more": 0, "wide": False}
    parser = _safe_parser()

    def start(tag, attrs):
        name = _local(tag)
        if name == "row":
            r = attrs.get("r")
            state["row"] = int(r) - 1 if r and r.isdigit() else state["row"] + 1
            state["col"] = -1
            if state["row"] >= max_rows:
                state["more"] = 1
                raise _Stop
        elif name == "c":
            pos = split_ref(attrs.get("r", "")) if attrs.get("r") else None
            state["col"] = pos[1] if pos else state["col"] + 1
            state["type"] = attrs.get("t", "n")
            state["text"] = []
        elif name == "v":
            state["in_v"] = True
        elif name == "t":
            state["in_t"] = True
        elif name == "rPh":
            state["in_rph"] = True

    def end(tag):
        name = _local(tag)
        if name == "v":
            state["in_v"] = False
        elif name == "t":
            state["in_t"] = False
        elif name == "rPh":
            state["in_rph"] = False
        elif name == "c":
            text = "".join(state["text"])
            kind = state["type"]
            value: object
            if kind == "s":
                value = ("sst", int(text)) if text.strip().isdigit() else ""
            elif kind in ("str", "inlineStr"):
                value = text
            elif kind == "b":
                value = text.strip() == "1"
            elif kind == "e":
                value = ""
            else:
                try:
                    value = float(text) if text.strip() else ""
                except ValueError:
                    value = text
            if value == "":
                return
            if state["col"] >= max_cols:
                state["wide"] = True
            else:
                cells.setdefault(state["row"], {})[state["col"]] = value

    def chars(data):
        if state["in_v"] or (state["in_t"] and not state["in_rph"]):
            state["text"].append(data)

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chars
    with zf.open(part) as stream:
        _feed(parser, stream)

    needed = {v[1] for row in cells.values() for v in row.values() if isinstance(v, tuple)}
    strings = _read_shared_strings(zf, sst_part, needed) if needed and sst_part else {}
    height = max(cells) + 1 if cells else 0
    rows: list[list] = []
    for r in range(height):
        row = cells.get(r, {})
        width = max(row) + 1 if row else 0
        out = [""] * width
        for c, v in row.items():
            out[c] = strings.get(v[1], "") if isinstance(v, tuple) else v
        rows.append(out)
    width = max((len(r) for r in rows), default=0)
    for r in rows:
        r.extend([""] * (width - len(r)))
    return rows, state["more"], state["wide"]


def _read_shared_strings(zf: zipfile.ZipFile, part: str, needed: set) -> dict[int, str]:
    """Only the shared strings whose index is in `needed`, stopping after the largest one."""
    last = max(needed)
    out: dict[int, str] = {}
    state = {"i": -1, "text": [], "in_t": False, "in_rph": False}
    parser = _safe_parser()

    def start(tag, _attrs):
        name = _local(tag)
        if name == "si":
            state["i"] += 1
            state["text"] = []
        elif name == "t":
            state["in_t"] = True
        elif name == "rPh":
            state["in_rph"] = True

    def end(tag):
        name = _local(tag)
        if name == "t":
            state["in_t"] = False
        elif name == "rPh":
            state["in_rph"] = False
        elif name == "si":
            if state["i"] in needed:
                out[state["i"]] = "".join(state["text"])
            if state["i"] >= last:
                raise _Stop

    def chars(data):
        if state["in_t"] and not state["in_rph"]:
            state["text"].append(data)

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chars
    with zf.open(part) as stream:
        _feed(parser, stream)
    return out


def scan_ods(zf: zipfile.ZipFile, max_rows: int, max_cols: int) -> tuple[dict, dict]:
    """One pass over an ods's content.xml, before python-calamine opens it.

    Returns:
        (flags, extents): sheet -> {A1 ref: (holds a formula, is a percentage)} for the cells of the first
        `max_rows` rows and `max_cols` columns that have either; sheet -> (rows, columns) from A1 to the
        farthest cell with content, repeats counted (`table:number-rows-repeated`,
        `table:number-columns-repeated`): python-calamine keeps that whole rectangle in memory.
    """
    flags: dict[str, dict[str, tuple[bool, bool]]] = {}
    extents: dict[str, tuple[int, int]] = {}
    state = {"sheet": None, "row": -1, "col": 0, "row_repeat": 1, "cell": None}
    parser = _safe_parser()  # no namespace processing: tags and attributes keep their prefixes

    def start(tag, attrs):
        name = _local(tag)
        if name == "table":
            state["sheet"] = attrs.get("table:name", "")
            state["row"] = -1
            flags.setdefault(state["sheet"], {})
        elif state["sheet"] is None:
            return
        elif name == "table-row":
            state["row"] += 1
            state["col"] = 0
            state["row_repeat"] = _count(attrs.get("table:number-rows-repeated"))
        elif name in ("table-cell", "covered-table-cell"):
            repeat = _count(attrs.get("table:number-columns-repeated"))
            formula = "table:formula" in attrs
            percent = attrs.get("office:value-type") == "percentage"
            first = state["col"]
            if (formula or percent) and state["row"] < max_rows:
                for c in range(first, min(first + repeat, max_cols)):
                    flags[state["sheet"]][cell_name(state["row"], c)] = (formula, percent)
            state["col"] += repeat
            # content: a value type, a formula, or (seen below) any element inside the cell
            state["cell"] = [first + repeat, formula or "office:value-type" in attrs]
        elif state["cell"] is not None:
            state["cell"][1] = True

    def end(tag):
        name = _local(tag)
        if name == "table":
            state["sheet"] = None
        elif state["sheet"] is None:
            return
        elif name == "table-row":
            state["row"] += state["row_repeat"] - 1
        elif name in ("table-cell", "covered-table-cell") and state["cell"] is not None:
            right, filled = state["cell"]
            state["cell"] = None
            if filled:
                rows, cols = extents.get(state["sheet"], (0, 0))
                extents[state["sheet"]] = (max(rows, state["row"] + state["row_repeat"]), max(cols, right))

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    with zf.open("content.xml") as stream:
        _feed(parser, stream)
    return flags, extents


def _count(text: str | None) -> int:
    """A repeat count attribute: 1 when absent or not a positive number."""
    return int(text) if text and text.isdecimal() and text.isascii() and int(text) > 0 else 1
