"""Merging a period: choosing each unit's return (statuses, latest wins), totals per the spec's
aggregation over units and over time, the merged result, the merged workbook, JSON and CSV exports.

May import every stage before it: `core`, `spec`, `ooxml`, `template`, `read`, `check`.
"""
