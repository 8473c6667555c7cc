"""Row kinds, read off the "Đơn vị tính" column of a form, and the groups of them the stages ask about.

They live in `core` rather than `spec` because `core.values` parses a cell by its kind.
"""

KINDS = ("header", "count", "amount", "ratio", "rate", "flag", "choice")
VALUE_KINDS = ("count", "amount", "ratio", "rate", "flag", "choice")  # rows with a value (not headings)
INPUT_KINDS = ("count", "amount", "rate", "flag", "choice")  # typed by the unit; a ratio is computed
QUANTITY_KINDS = ("count", "amount")  # quantities ≥ 0: numerators and denominators of ratios
PERCENT_KINDS = ("ratio", "rate")  # percentages, 0-100
CODED_KINDS = ("flag", "choice")  # one of the listed codes
WHOLE_KINDS = ("count", "flag", "choice")  # whole numbers
