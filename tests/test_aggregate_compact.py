"""aggregate keeps per file only the values it merges: the merge is the same as from the full reports."""

from __future__ import annotations

from pathlib import Path

from cchc_excel.check.report import FileReport
from cchc_excel.check.run import check_paths
from cchc_excel.core.roster import load_roster
from cchc_excel.merge.exports import summary
from cchc_excel.merge.inputs import compact
from cchc_excel.merge.run import aggregate_paths, merge_reports
from cchc_excel.spec.loader import load_spec

SAMPLES = Path(__file__).resolve().parent.parent / "samples"


def test_compact_keeps_only_non_blank_values_of_value_rows():
    spec = load_spec()
    first, second = (ind.id for ind in spec.value_indicators[:2])
    report = FileReport(path="a.xlsx", status="ok", values={first: 3.0, second: None, "not-a-row": 7.0},
                        submission=object())
    small = compact(report, spec)
    assert dict(small.values) == {first: 3.0} and len(small.values) == 1
    assert small.values.get(second) is None and small.values.get("not-a-row", 0) == 0
    assert small.submission is None
    assert report.values[second] is None  # the report given is left as it was


def test_merge_of_compact_reports_is_unchanged_on_the_samples():
    spec = load_spec()
    roster, args = SAMPLES / "roster.csv", {"unit_code": "540", "period": "2023-Q2"}
    full = check_paths([SAMPLES / "returns"], spec, roster=roster, jobs=1).files
    units = load_roster(roster, levels=spec.levels)
    before = summary(merge_reports(full, spec, roster=units, **args))
    after = summary(aggregate_paths([SAMPLES / "returns"], spec, roster=units, jobs=1, **args))
    assert after == before
    assert any(r.values and None in r.values.values() for r in full)  # blanks were there to drop
    assert before["files"]
