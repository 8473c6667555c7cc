"""The levels of government that report (`tinh`, `so`, `huyen`, `xa` in the 2022 forms): data of the form
spec, shared here so that the roster can check its `cap` column without knowing the spec.

A level's `reports` are the row levels its report covers. A level whose report covers no rows of its own
(the province of the 2022 forms: `tinh: reports: [so, huyen, xa]`) only merges the returns of the levels
below and files none itself.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Level:
    """One level, as the spec's `levels:` block declares it."""

    code: str
    name: str
    reports: tuple  # the row levels its report covers

    @property
    def files_return(self) -> bool:
        """Whether its units fill a return of their own (their level has rows of its own)."""
        return self.code in self.reports


def row_levels(levels: dict) -> tuple:
    """The levels with rows of their own (some level's report covers them), in the order of `levels`
    (code -> Level): the levels of a row that names none."""
    covered = {lv for info in levels.values() for lv in info.reports}
    return tuple(lv for lv in levels if lv in covered)
