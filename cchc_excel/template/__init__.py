"""The locked Excel template: one sheet per form with validation, ratio formulas, live checks, level
greying, cover and guide, print set-up, and the metadata contract that the reader trusts (`metadata`).

May import `core`, `spec`, `ooxml`. xlsxwriter is imported by `build` and `forms` only.
"""
