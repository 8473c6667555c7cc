"""The merged records' values as one float array (numpy): a row per record, a column per value row.

What the totals, the outlier checks, the per-unit sheets and the charts read the numbers from. Plain
numpy: a merge has no use for pandas' labels, and importing pandas alone took more of aggregate's main
process than 10,000 returns' values. `ValueTable.frame()` gives the pandas `DataFrame` when wanted.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from cchc_excel.merge.inputs import PackedValues, value_ids
from cchc_excel.merge.levels import row_levels

if TYPE_CHECKING:  # pandas only for `ValueTable.frame`
    import pandas as pd

__all__ = ["ValueTable", "value_table"]


class ValueTable:
    """`data[i, j]`: record i's value of `columns[j]` (indicator ids), NaN for blank."""

    __slots__ = ("columns", "data", "_at")

    def __init__(self, columns, data: np.ndarray):
        self.columns = tuple(columns)
        self.data = data
        self._at = {c: j for j, c in enumerate(self.columns)}

    def __len__(self) -> int:
        return self.data.shape[0]

    @property
    def empty(self) -> bool:
        """No record or no column, as `DataFrame.empty` says."""
        return self.data.size == 0

    def column(self, ind_id: str) -> np.ndarray:
        """One row's values over the records."""
        return self.data[:, self._at[ind_id]]

    def block(self, ids) -> np.ndarray:
        """Those rows' values over the records, a column each, in the order of `ids`."""
        return self.data[:, [self._at[i] for i in ids]]

    def take(self, rows: list) -> "ValueTable":
        """The table of the records at `rows` (-1: a record of NaN), in that order."""
        data = np.full((len(rows), len(self.columns)), np.nan)
        where = np.array(rows, dtype=int)
        present = where >= 0
        data[present] = self.data[where[present]]
        return ValueTable(self.columns, data)

    def frame(self) -> pd.DataFrame:
        """The values as a pandas `DataFrame` (rows 0..n-1, a column per indicator id)."""
        import pandas as pd

        return pd.DataFrame(self.data, columns=list(self.columns))


def value_table(records: list, spec) -> ValueTable:
    """Records as a `ValueTable`: one row per record (in order), one column per value row of the spec.

    Blank is NaN. A value of a row that the record's `reported_levels` do not cover is dropped (NaN),
    as is anything that is not a number.
    """
    columns = value_ids(spec)[0]  # the tuple the packed values hold: `PackedValues.floats` needs no compare
    # Filled a row at a time: a list of lists of 10,000 records would hold every value as a Python
    # object at once, the merge's peak of memory.
    data = np.empty((len(records), len(columns)))
    try:
        # The common case, fast: every value a number or None (None becomes NaN).
        for i, rec in enumerate(records):
            data[i] = _row(rec.values, columns)
    except (TypeError, ValueError):
        for i, rec in enumerate(records):
            data[i] = np.array([_number_or_none(rec.values.get(c)) for c in columns], dtype=float)
    masks: dict[frozenset, np.ndarray] = {}
    for i, rec in enumerate(records):
        if rec.reported_levels:
            mask = masks.get(rec.reported_levels)
            if mask is None:
                rows = row_levels(spec, rec.reported_levels)
                mask = masks[rec.reported_levels] = np.array([not spec[c].levels & rows for c in columns],
                                                             dtype=bool)
            if mask.any():
                data[i, mask] = np.nan
    return ValueTable(columns, data)


def _row(values, columns: tuple) -> np.ndarray:
    if isinstance(values, PackedValues):  # which may hold them as such already
        floats = values.floats(columns)
        if floats is not None:
            return floats
    return np.array([values.get(c) for c in columns], dtype=float)


def _number_or_none(value):
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    return None
