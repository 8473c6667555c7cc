"""The metadata our templates carry, so the reader recognises them: shared by writer and reader.

A very hidden sheet `_cchc` holds `key | value` pairs from row 1, then, from `LAYOUT_ROW`, one row per
indicator `indicator id | sheet title | value cell`. The same pairs are custom document properties
(`cchc_<key>`), and every value cell has a defined name (`BM3_3.1.2`). The reader trusts the layout only
after checking the STT code printed on that row, so an edited template still reads right.
"""

from __future__ import annotations

SHEET = "_cchc"
LAYOUT_ROW = 40  # first row (1-based) of the indicator layout table
LAYOUT_HEADER = ("indicator", "sheet", "cell")
PROPERTY_PREFIX = "cchc_"
GENERATOR = "cchc_excel"

# Keys in order; values are strings ("" when not set).
KEYS = (
    "generator",      # "cchc_excel <version>"
    "spec_id",        # "cv371-2022"
    "spec_version",   # "2022.1"
    "fingerprint",    # FormSpec.fingerprint
    "level",          # level of the unit the template is for: so, huyen, xa, tinh
    "reported_levels",  # comma list of the row levels it covers: "xa"; "huyen,xa" for a merged report
    "unit_code",
    "unit_name",
    "period",         # "2023-Q2"
    "generated_at",   # ISO 8601, UTC
    "merged",         # "1" for a merged report of several units, else "0"
    "units_merged",   # number of units behind a merged report
)
# Written (after KEYS) only in a feedback workbook (`check.feedback`), so that, sent back, it is known as one.
FEEDBACK_KEYS = (
    "feedback_for",     # sha256 of the returned file the feedback answers
    "feedback_values",  # digest of the values and notes it carried (`check.returned.values_digest`)
)


def defined_name(indicator_id: str) -> str:
    """The workbook-level name of an indicator's value cell: `BM3-3.1.2` -> `BM3_3.1.2`.

    Excel names allow letters, digits, `_` and `.`, must not look like a cell reference (`BM3` alone
    would be one) and must not start with a digit.
    """
    return indicator_id.replace("-", "_", 1)


def parse_sheet(rows: list[list]) -> tuple[dict, dict]:
    """Read the `_cchc` sheet as returned by python-calamine (`to_python()`).

    Returns:
        (meta, layout): meta is {key: str}; layout is {indicator id: (sheet title, cell)}.
    """
    meta: dict[str, str] = {}
    layout: dict[str, tuple[str, str]] = {}
    for i, row in enumerate(rows, start=1):
        if not row or row[0] in ("", None):
            continue
        cells = [("" if v is None else str(v)) for v in row[:3]] + ["", "", ""]
        if i < LAYOUT_ROW:
            if cells[0] in KEYS or cells[0] in FEEDBACK_KEYS:
                value = row[1] if len(row) > 1 else ""
                # calamine gives numbers back as floats: a unit code typed as 22240 becomes 22240.0
                if isinstance(value, float) and value.is_integer():
                    value = int(value)
                meta[cells[0]] = "" if value is None else str(value)
        elif i > LAYOUT_ROW and cells[1] and cells[2]:
            layout[cells[0]] = (cells[1], cells[2])
    return meta, layout
