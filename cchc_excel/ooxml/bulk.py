"""Long tables in a workbook without holding every cell in memory.

xlsxwriter keeps every cell of a workbook in memory until it closes (a few hundred bytes a cell, and the
templates are built in memory); the merged workbook of 10,000 units has a million cells. So a long table is
written in two steps: its first row through xlsxwriter, which fixes every column's format, and the other
rows afterwards, as XML inserted after that row in the finished file, each cell with the style its column
has in the first row. Text goes in as inline strings, always as text (a name starting with `=` is no
formula).
"""

from __future__ import annotations

import io
import itertools
import math
import re
import zipfile
from datetime import date, datetime

from cchc_excel.ooxml.a1 import col_letters
from cchc_excel.ooxml.cells import EPOCH_1900
from cchc_excel.ooxml.measure import row_height, text_lines
from cchc_excel.ooxml.parts import workbook_sheets
from cchc_excel.ooxml.sheetxml import inline_string



class BulkRows:
    """Tables written from their first row by xlsxwriter and the rest straight into the sheet XML.

    Use `write` while building the workbook, then `write_to` with the finished file's bytes. With
    `direct=True` every row goes through xlsxwriter (small tables, tests).
    """

    def __init__(self, direct: bool = False):
        self.direct = direct
        self._tables: list = []  # (sheet name, first row 0-based, rows, number of columns, wrap)

    def write(self, ws, first_row: int, rows, formats: list, wrap: dict | None = None) -> int:
        """Write `rows` from `first_row`, column A on, cell `c` of each row with `formats[c]`.

        Args:
            rows: a sized iterable of rows (sequences of text, numbers, datetimes or None), iterated
                again when the file is finished (so it may produce its rows lazily).
            wrap: {column: width in characters} of the columns whose text wraps: each row gets the
                height its longest wrapped text needs. (Neither Excel nor LibreOffice fits row heights
                when it opens a file, and these workbooks have a fixed default row height.)

        Returns:
            The row after the last one.
        """
        if not len(rows):
            return first_row
        for i, row in enumerate(rows):
            write_cells(ws, first_row + i, row, formats)
            if wrap:
                ws.set_row(first_row + i, fitted_height(row, wrap))
            if not self.direct:
                break
        if not self.direct and len(rows) > 1:
            self._tables.append((ws.name, first_row, rows, len(formats), wrap))
        return first_row + len(rows)

    def write_to(self, data: bytes, out) -> None:
        """Write the finished workbook `data`, with the deferred rows inserted, to the binary file `out`.

        The long sheets are streamed, a few hundred rows at a time: memory does not grow with them.
        """
        source = zipfile.ZipFile(io.BytesIO(data))
        tables = {}
        names = workbook_sheets(source)
        for sheet, first_row, rows, width, wrap in self._tables:
            part = names[sheet]
            if part in tables:
                raise ValueError(f"one long table per sheet: {sheet}")
            tables[part] = (first_row, rows, width, wrap)
        # Level 6, zlib's default: level 1 saves half a second at 10,000 units but makes a file a third
        # bigger, and this one is emailed upward.
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as target:
            for name in source.namelist():  # in the same order: [Content_Types].xml first
                if name not in tables:
                    target.writestr(name, source.read(name))
                    continue
                first_row, rows, width, wrap = tables[name]
                with target.open(name, "w") as f:
                    _stream(source.read(name).decode("utf-8"), first_row, rows, width, f, wrap)


def fitted_height(values, wrap: dict) -> float:
    """Height in points of a row whose columns `wrap` ({column: width in characters}) wrap their text."""
    lines = 1
    for col, width in wrap.items():
        value = values[col]
        if isinstance(value, str) and value:
            lines = max(lines, text_lines(value, width))
    return row_height(lines)


def write_cells(ws, row: int, values, formats: list) -> None:
    """One row through xlsxwriter, text always as text, None as a formatted blank."""
    for col, value in enumerate(values):
        fmt = formats[col]
        if value is None or value == "" or (isinstance(value, float) and math.isnan(value)):
            ws.write_blank(row, col, None, fmt)
        elif isinstance(value, str):
            ws.write_string(row, col, value, fmt)
        elif isinstance(value, (datetime, date)):
            ws.write_datetime(row, col, value, fmt)
        else:
            ws.write_number(row, col, float(value), fmt)


def column_letters(n: int) -> list[str]:
    """The letters of the first `n` columns."""
    return [col_letters(i) for i in range(n)]


def _stream(xml: str, first_row: int, rows, width: int, out, wrap: dict | None = None, batch: int = 500) -> None:
    """Write a sheet's XML to `out` with `rows` (all but the first) after its row `first_row` (0-based),
    each cell styled like the first row's cell of its column, each row as high as `wrap` says."""
    probe = re.search(rf'<row r="{first_row + 1}"([^>]*)>(.*?)</row>', xml, re.S)
    if probe is None:
        raise ValueError(f"row {first_row + 1} not found in the sheet")
    attrs = re.sub(r' (ht|customHeight)="[^"]*"', "", probe.group(1))
    styles = {col: s for col, s in re.findall(r'<c r="([A-Z]+)\d+"(?: s="(\d+)")?', probe.group(2))}
    letters = column_letters(width)
    opens = [f'<c r="{letter}' for letter in letters]
    styled = [f'"{_s(styles.get(c))}' for c in letters]  # closes the reference, adds the style
    blanks = [f'"{_s(styles.get(c))}/>' if styles.get(c) else None for c in letters]
    last_row = first_row + len(rows)  # 1-based number of the last row
    out.write(_widen_dimension(xml[:probe.end()], last_row, letters[-1]).encode("utf-8"))
    chunk = []
    number = first_row + 2
    for values in itertools.islice(iter(rows), 1, None):
        n = str(number)
        height = f' ht="{fitted_height(values, wrap)}" customHeight="1"' if wrap else ""
        cells = [f'<row r="{n}"{attrs}{height}>']
        for col, value in enumerate(values):
            if value is None or value == "" or value != value:  # blank (None, "", NaN)
                if blanks[col]:
                    cells.append(opens[col] + n + blanks[col])
            elif isinstance(value, str):
                cells.append(f'{opens[col]}{n}{styled[col]} t="inlineStr">{inline_string(value)}</c>')
            elif isinstance(value, (datetime, date)):
                cells.append(f"{opens[col]}{n}{styled[col]}><v>{_serial(value)!r}</v></c>")
            else:
                cells.append(opens[col] + n + styled[col] + "><v>" + _number(value) + "</v></c>")
        cells.append("</row>")
        chunk.append("".join(cells))
        number += 1
        if len(chunk) >= batch:
            out.write("".join(chunk).encode("utf-8"))
            chunk = []
    out.write("".join(chunk).encode("utf-8"))
    out.write(xml[probe.end():].encode("utf-8"))


def _s(style: str | None) -> str:
    return f' s="{style}"' if style else ""


def _widen_dimension(xml: str, last_row: int, last_col: str) -> str:
    """The `<dimension>` of a sheet widened to take in the streamed rows (readers size the sheet by it)."""
    m = re.search(r'<dimension ref="([A-Z]+)(\d+)(?::([A-Z]+)(\d+))?"/>', xml)
    if not m:
        return xml
    col = m.group(3) or m.group(1)
    row = int(m.group(4) or m.group(2))
    if (len(last_col), last_col) > (len(col), col):
        col = last_col
    ref = f"{m.group(1)}{m.group(2)}:{col}{max(row, last_row)}"
    return xml[:m.start()] + f'<dimension ref="{ref}"/>' + xml[m.end():]


def _number(value) -> str:
    if type(value) is float:
        return f"{value:.15g}"  # 3 for 3.0, 0.3 for 0.30000000000000004: what Excel itself keeps
    if isinstance(value, (bool, int)):
        return str(int(value))
    return _number(float(value))


def _serial(value) -> float:
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    # Not rounded: 15:30 rounded to 8 decimals is 15:29:59.9996, which a "hh:mm" format shows as 15:29.
    return (value.replace(tzinfo=None) - EPOCH_1900).total_seconds() / 86400

