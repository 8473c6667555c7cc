"""The unit's explanations: the Ghi chú beside a row explains a warning on that row (`core.findings.explain`).

A merged report made by this tool carries its own words in Ghi chú, the units behind each total ("14 đơn
vị", "3/14 đơn vị": `merge.notes.short_note`); those explain nothing.
"""

from __future__ import annotations

import re

from cchc_excel.core.findings import explain

__all__ = ["explanations", "explain_issues"]

_UNITS_NOTE = re.compile(r"\d+(?:/\d+)? đơn vị")


def explanations(sub) -> dict:
    """{indicator id: the unit's Ghi chú} of a `Submission`, without the tool's own notes."""
    notes = sub.notes
    if notes and sub.template and sub.template.get("merged") == "1":
        notes = {k: v for k, v in notes.items() if not _UNITS_NOTE.fullmatch(v.strip())}
    return notes


def explain_issues(issues, sub) -> list:
    """`issues` of `sub` with the warnings its Ghi chú explains marked so."""
    return explain(issues, explanations(sub))
