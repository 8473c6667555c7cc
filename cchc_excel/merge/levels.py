"""The levels of units, as the spec declares them (`tinh: reports: [so, huyen, xa]`): which rows a report
of some levels covers, and which level merges everything. No level is named in code."""

from __future__ import annotations

from typing import Iterable

from cchc_excel.spec.model import FormSpec


def row_levels(spec: FormSpec, levels: Iterable[str]) -> frozenset:
    """The row levels that reports of `levels` cover: each level, the levels the spec says it reports,
    theirs in turn, and so on (a province's report covers its own rows and those of every level below)."""
    seen: set = set()
    todo = list(levels)
    while todo:
        level = todo.pop()
        if level not in seen:
            seen.add(level)
            todo.extend(spec.reported_levels(level))
    return frozenset(seen)


def top_level(spec: FormSpec) -> str:
    """The level of the report that merges everything: one that no other level's report covers, the one
    covering most levels among those (`tinh` in the bundled forms)."""
    below = {lv for code, info in spec.levels.items() for lv in info.reports if lv != code}
    tops = [code for code in spec.levels if code not in below] or list(spec.levels)
    return max(tops, key=lambda code: len(row_levels(spec, (code,))))
