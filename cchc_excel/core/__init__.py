"""Core: what every stage shares and nothing stage-specific.

Periods (`2023-Q2`, cut-off windows, deadlines), the levels (`Level`, as a spec declares them), the roster
of units, the row kinds and their groups, tolerant parsing of cell values as officials type them, text
helpers (folding, slugs, Vietnamese numbers and dates), findings (`Issue`), the manifest of collected files,
and atomic file writes. Imports only `cchc_excel.errors` and the standard library (python-calamine lazily,
to read a roster workbook).
"""
