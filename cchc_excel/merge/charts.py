"""The `Biểu đồ` sheet of the merged workbook: native Excel charts of who has reported and, per unit, the
shares the spec's `charts` rows name.

Bars go in the order of the detail sheets (the roster's), the parent's total last, named as people say it
(`Toàn thị xã`), and the value axis is scaled to the data: 17 wards between 95 % and 100 % on a 0–100
axis look all the same.
"""

from __future__ import annotations

import math

from cchc_excel.merge.result import MergeResult
from cchc_excel.template.signature import split_unit_name
from cchc_excel.template.styles import (CHART_BARS, CHART_ERRORS, CHART_MERGED, CHART_MISSING, CHART_TOTAL,
                                        print_setup)

CHARTS_SHEET = "Biểu đồ"
CHART_MAX_UNITS = 40  # bars per chart; beyond, the units with the lowest shares
FONT = {"name": "Times New Roman"}


def total_name(result: MergeResult) -> str:
    """The total as the parent unit's people call it: `Toàn thị xã`, `Toàn tỉnh`; else `Chung`."""
    kind = split_unit_name(result.root.name)[0] if result.root is not None else ""
    return f"Toàn {kind}" if kind else "Chung"


def write_charts_sheet(workbook, fmt, result: MergeResult, subtitle: str) -> None:
    """Add `Biểu đồ`: a pie of the units' statuses, then one bar chart per `charts` row of the spec."""
    ws = workbook.add_worksheet(CHARTS_SHEET)
    ws.set_column(0, 0, 30)
    ws.set_column(1, 1, 14)
    ws.write_string(0, 0, f"BIỂU ĐỒ — {result.period.label.upper()}", fmt.bold)
    ws.write_string(1, 0, subtitle, fmt.italic)
    row = _status_pie(workbook, ws, fmt, result, 3)
    for ind_id in result.spec.charts:
        if result.frame.empty:
            break
        row = _share_chart(workbook, ws, fmt, result, result.spec[ind_id], row)
    print_setup(ws)


def _status_pie(workbook, ws, fmt, result: MergeResult, row: int) -> int:
    ws.write_string(row, 0, "Trạng thái", fmt.header)
    ws.write_string(row, 1, "Số đơn vị", fmt.header)
    counts = [(label, len(result.units_with(status, below=True)))
              for status, label in (("merged", "Đã tổng hợp"), ("errors", "Có lỗi"), ("missing", "Chưa nộp"))]
    for i, (label, n) in enumerate(counts, 1):
        ws.write_string(row + i, 0, label, fmt.plain)
        ws.write_number(row + i, 1, n, fmt.integer)
    pie = workbook.add_chart({"type": "pie"})
    pie.add_series({
        "name": "Tình hình nộp báo cáo",
        "categories": [CHARTS_SHEET, row + 1, 0, row + 3, 0],
        "values": [CHARTS_SHEET, row + 1, 1, row + 3, 1],
        "data_labels": {"value": True, "percentage": True, "separator": "\n", "font": FONT},
        "points": [{"fill": {"color": color}} for color in (CHART_MERGED, CHART_ERRORS, CHART_MISSING)],
    })
    pie.set_title({"name": "Tình hình nộp báo cáo", "name_font": {**FONT, "size": 12}})
    pie.set_legend({"position": "right", "font": FONT})
    ws.insert_chart(row, 3, pie, {"x_scale": 1.0, "y_scale": 0.9})
    return row + 17


def axis_range(values: list) -> tuple[float, float]:
    """The value axis of a share chart: from 0, or from a round number under the data when every value
    is high (within 40 points of the top), to the next ten above the largest value, at most 100."""
    low, high = min(values), max(values)
    top = min(100.0, max(10.0, math.ceil(high / 10) * 10))
    bottom = 0.0 if low < top - 40 else max(0.0, math.floor(low / 10) * 10 - 10)
    return bottom, top


def _bars(result: MergeResult, ind) -> list:
    """(unit name, share) in table order; beyond CHART_MAX_UNITS the lowest shares, in table order."""
    values = result.frame.column(ind.id)
    pairs = [(result.unit_info[r.unit].name if r.unit in result.unit_info else r.unit, float(v))
             for r, v in zip(result.records, values) if v == v]
    if len(pairs) > CHART_MAX_UNITS:
        keep = set(sorted(range(len(pairs)), key=lambda i: pairs[i][1])[:CHART_MAX_UNITS])
        pairs = [p for i, p in enumerate(pairs) if i in keep]
    return pairs


def _share_chart(workbook, ws, fmt, result: MergeResult, ind, row: int) -> int:
    pairs = _bars(result, ind)
    if not pairs:
        return row
    total = result.totals[ind.id].value
    bars = pairs + ([(total_name(result), float(total))] if total is not None else [])
    title = f"{ind.label} (%)"
    if len(pairs) == CHART_MAX_UNITS and len(result.records) > CHART_MAX_UNITS:
        title += f" — {CHART_MAX_UNITS} đơn vị thấp nhất"
    ws.write_string(row, 0, "Đơn vị", fmt.header)
    ws.write_string(row, 1, f"{ind.code}. %", fmt.header)
    for i, (unit_name, value) in enumerate(bars, 1):
        ws.write_string(row + i, 0, unit_name, fmt.bold if i > len(pairs) else fmt.plain)
        ws.write_number(row + i, 1, value, fmt.percent)
    bottom, top = axis_range([v for _, v in bars])
    chart = workbook.add_chart({"type": "bar"})
    chart.add_series({
        "name": ind.label,
        "categories": [CHARTS_SHEET, row + 1, 0, row + len(bars), 0],
        "values": [CHARTS_SHEET, row + 1, 1, row + len(bars), 1],
        "fill": {"color": CHART_BARS},
        "points": [None] * len(pairs) + [{"fill": {"color": CHART_TOTAL}}] * (len(bars) - len(pairs)),
        "data_labels": {"value": True, "num_format": "0.0", "font": {**FONT, "size": 9}},
    })
    chart.set_title({"name": title, "name_font": {**FONT, "size": 11}})
    # In a bar chart x is the value axis; the category axis (y) reversed puts the first unit on top, as in
    # the table, and crossing at its "max" keeps the value axis at the bottom.
    chart.set_x_axis({"min": bottom, "max": top, "num_format": "0", "num_font": FONT})
    chart.set_y_axis({"num_font": {**FONT, "size": 9}, "major_tick_mark": "none", "reverse": True,
                      "crossing": "max"})
    chart.set_legend({"none": True})
    height = max(260, 110 + 28 * len(bars))
    chart.set_size({"width": 760, "height": height})
    ws.insert_chart(row, 3, chart)
    return row + max(len(bars) + 3, height // 20 + 3)
