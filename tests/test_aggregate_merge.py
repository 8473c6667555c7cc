"""Statuses of files and units (latest wins, duplicates, late, subtree), from checked files built in the test.

The checker's `FileReport` is stood in for by a small dataclass with the same attributes, so that these
tests pin the merge logic alone; tests/test_aggregate_files.py runs the real reader and checker.
"""

from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import pytest

from cchc_excel.errors import PeriodError, RosterError
from cchc_excel.merge.run import FILE_STATUSES, merge_reports
from cchc_excel.core.findings import Issue
from cchc_excel.core.roster import load_roster
from cchc_excel.spec.loader import load_spec

SPEC = load_spec()

ROSTER_CSV = """ma_don_vi,ten_don_vi,cap,don_vi_cha
T,Tỉnh Bình Định,tinh,
H1,Thị xã Hoài Nhơn,huyen,T
X1,Phường Tam Quan Bắc,xa,H1
X2,Phường Bồng Sơn,xa,H1
X3,Xã Hoài Hải,xa,H1
H2,Huyện Phù Cát,huyen,T
X4,Xã Cát Hải,xa,H2
S1,Sở Nội vụ,so,T
"""


@dataclass
class FakeReport:
    path: Path
    status: str = "ok"
    unit: dict | None = None
    period: str | None = "2023-Q2"
    values: dict = field(default_factory=dict)
    issues: list = field(default_factory=list)
    sha256: str = ""
    saved_at: datetime | None = None
    reported_levels: frozenset | None = None
    merged_units: int | None = None


@pytest.fixture(scope="module")
def roster(tmp_path_factory):
    path = tmp_path_factory.mktemp("roster") / "roster.csv"
    path.write_text(ROSTER_CSV, encoding="utf-8")
    return load_roster(path, levels=SPEC.levels)


def at(day, hour=9, month=6):
    return datetime(2023, month, day, hour, tzinfo=timezone.utc)


def report(name, unit, *, level="xa", sha=None, **kw):
    unit_dict = {"code": unit, "name": unit, "level": level} if unit else None
    return FakeReport(Path(f"/returns/{name}"), unit=unit_dict, sha256=sha or name, **kw)


def statuses(result):
    return {f.path.name: f.status for f in result.files}


def test_every_file_status(roster):
    error = Issue("error", "BM1-R1", "BM1-2.2", "Biểu mẫu 1", "D8", "lớn hơn")
    reports = [
        report("x1-v1.xlsx", "X1", values={"BM1-1": 1}, saved_at=at(10)),
        report("x1-v2.xlsx", "X1", values={"BM1-1": 2}, saved_at=at(12)),
        report("z-copy.xlsx", "X1", sha="x1-v2.xlsx", values={"BM1-1": 2}, saved_at=at(12)),
        report("x2.xlsx", "X2", status="errors", issues=[error], values={"BM1-1": 5}),
        report("x3.xlsx", "X3", period="2023-Q1", values={"BM1-1": 7}),
        report("broken.xlsx", None, status="unreadable",
               issues=[Issue("error", "unreadable", message="Tệp không phải bảng tính")]),
        report("stranger.xlsx", "Z9", values={"BM1-1": 100}),
        report("nobody.xlsx", None, values={"BM1-1": 100}),
        report("x4.xlsx", "X4", values={"BM1-1": 100}),
    ]
    result = merge_reports(reports, SPEC, roster=roster, period="2023-Q2", unit_code="H1")
    assert statuses(result) == {
        "broken.xlsx": "unreadable", "nobody.xlsx": "unknown_unit", "stranger.xlsx": "unknown_unit",
        "z-copy.xlsx": "duplicate", "x1-v1.xlsx": "superseded", "x1-v2.xlsx": "merged",
        "x2.xlsx": "errors", "x3.xlsx": "other_period", "x4.xlsx": "other_unit",
    }
    assert set(statuses(result).values()) == set(FILE_STATUSES)
    reasons = {f.path.name: f.reason for f in result.files}
    assert reasons["z-copy.xlsx"] == "Trùng nội dung với tệp x1-v2.xlsx"
    assert reasons["x1-v1.xlsx"].startswith("Có bản mới hơn: x1-v2.xlsx")
    assert reasons["broken.xlsx"] == "Tệp không phải bảng tính"
    assert reasons["x4.xlsx"] == "Đơn vị Xã Cát Hải không thuộc Thị xã Hoài Nhơn"
    assert reasons["x3.xlsx"] == "Báo cáo Quý I/2023, không thuộc Quý II/2023"
    # Units: one status each for the period; totals only from merged files.
    assert [(u.unit.code, u.status) for u in result.units] == [("X1", "merged"), ("X2", "errors"),
                                                               ("X3", "missing")]
    assert result.expected == 3 and result.totals["BM1-1"].to_dict() == {"value": 2, "units": 1}
    assert (result.root.code, result.level, result.reported_levels) == ("H1", "huyen", {"huyen", "xa"})
    assert [f.issue.rule for f in result.findings] == ["unreadable", "BM1-R1"]


def test_include_errors_merges_returns_with_errors(roster):
    reports = [report("x1.xlsx", "X1", values={"BM1-1": 1}),
               report("x2.xlsx", "X2", status="errors", values={"BM1-1": 5},
                      issues=[Issue("error", "BM1-R1", message="sai")])]
    result = merge_reports(reports, SPEC, roster=roster, unit_code="H1", include_errors=True)
    assert statuses(result) == {"x1.xlsx": "merged", "x2.xlsx": "merged"}
    assert "--include-errors" in result.files[1].reason
    assert result.totals["BM1-1"].value == 6


def test_latest_uses_the_workbooks_save_time_then_the_received_time(roster):
    # b was received later, but a says (in the workbook) it was saved later: a wins.
    reports = [report("a.xlsx", "X1", values={"BM1-1": 1}, saved_at=at(15)),
               report("b.xlsx", "X1", values={"BM1-1": 2}, saved_at=at(14))]
    received = {"/returns/a.xlsx": at(16), "/returns/b.xlsx": at(18)}
    result = merge_reports(reports, SPEC, roster=roster, unit_code="H1", received=received)
    assert statuses(result) == {"a.xlsx": "merged", "b.xlsx": "superseded"}
    # Without save times, the received time decides.
    reports = [report("a.xlsx", "X1", values={"BM1-1": 1}), report("b.xlsx", "X1", values={"BM1-1": 2})]
    result = merge_reports(reports, SPEC, roster=roster, unit_code="H1", received=received)
    assert statuses(result) == {"a.xlsx": "superseded", "b.xlsx": "merged"}
    assert result.totals["BM1-1"].value == 2


def test_a_tie_is_said(roster):
    reports = [report("a.xlsx", "X1", values={"BM1-1": 1}, saved_at=at(15)),
               report("b.xlsx", "X1", values={"BM1-1": 2}, saved_at=at(15))]
    result = merge_reports(reports, SPEC, roster=roster, unit_code="H1")
    assert statuses(result) == {"a.xlsx": "superseded", "b.xlsx": "merged"}
    assert "Cùng thời điểm lưu với b.xlsx" in result.files[0].reason
    assert any("cùng thời điểm lưu" in n for n in result.notes)


def test_a_later_version_with_errors_wins_and_the_unit_has_errors(roster):
    reports = [report("a.xlsx", "X1", values={"BM1-1": 1}, saved_at=at(10)),
               report("b.xlsx", "X1", status="errors", values={"BM1-1": 2}, saved_at=at(11),
                      issues=[Issue("error", "not-number", message="x")])]
    result = merge_reports(reports, SPEC, roster=roster, unit_code="H1")
    assert statuses(result) == {"a.xlsx": "superseded", "b.xlsx": "errors"}
    assert result.units[0].status == "errors" and result.units[0].errors == 1
    assert result.totals["BM1-1"].value is None


def test_late_after_the_deadline_in_vietnam_time(roster):
    # Deadline of 2023-Q2: 20/6/2023. 20/6 16:59 UTC is 23:59 in Vietnam: in time; 17:00 UTC is the 21st.
    reports = [report("x1.xlsx", "X1"), report("x2.xlsx", "X2"), report("x3.xlsx", "X3", saved_at=at(25))]
    received = {"/returns/x1.xlsx": datetime(2023, 6, 20, 16, 59, tzinfo=timezone.utc),
                "/returns/x2.xlsx": datetime(2023, 6, 20, 17, 0, tzinfo=timezone.utc)}
    result = merge_reports(reports, SPEC, roster=roster, unit_code="H1", received=received)
    assert [f.late for f in result.files] == [False, True, True]
    assert result.late_units == ["X2", "X3"]
    assert result.units[1].received == received["/returns/x2.xlsx"]


def test_whole_roster_by_default_and_subtree_with_unit(roster):
    reports = [report("x1.xlsx", "X1", values={"BM1-1": 1}), report("x4.xlsx", "X4", values={"BM1-1": 10}),
               report("s1.xlsx", "S1", level="so", values={"BM1-1": 100})]
    whole = merge_reports(reports, SPEC, roster=roster)
    assert whole.root.code == "T" and whole.level == "tinh" and whole.totals["BM1-1"].value == 111
    assert whole.expected == 7  # every unit but the province
    assert whole.units_with("missing") == ["H1", "X2", "X3", "H2"]
    assert whole.reported_levels == {"so", "huyen", "xa"}
    sub = merge_reports(reports, SPEC, roster=roster, unit_code="H2")
    assert sub.totals["BM1-1"].value == 10 and statuses(sub)["x1.xlsx"] == "other_unit"
    assert [(u.unit.code, u.status) for u in sub.units] == [("X4", "merged")]


def test_a_districts_merged_report_covers_its_communes(roster):
    district = report("h1.xlsx", "H1", level="huyen", values={"BM1-1": 30}, merged_units=3,
                      reported_levels=frozenset({"huyen", "xa"}))
    reports = [district, report("x1.xlsx", "X1", values={"BM1-1": 1}), report("x4.xlsx", "X4",
                                                                              values={"BM1-1": 10})]
    result = merge_reports(reports, SPEC, roster=roster)
    assert statuses(result) == {"h1.xlsx": "merged", "x1.xlsx": "superseded", "x4.xlsx": "merged"}
    assert result.files[1].reason == "Đã có trong báo cáo tổng hợp của Thị xã Hoài Nhơn"
    assert result.totals["BM1-1"].to_dict() == {"value": 40, "units": 4}
    assert [(u.unit.code, u.status) for u in result.units] == [("H1", "merged"), ("H2", "missing"),
                                                               ("X4", "merged"), ("S1", "missing")]
    assert result.expected == 4
    # The district's own merged report, found again in its folder, is not merged into itself.
    again = merge_reports([district, report("x1.xlsx", "X1")], SPEC, roster=roster, unit_code="H1")
    assert statuses(again)["h1.xlsx"] == "other_unit"


def test_the_roots_own_return_is_merged_but_not_expected(roster):
    reports = [report("h1.xlsx", "H1", level="huyen", values={"BM1-3.2": 3}),
               report("x1.xlsx", "X1", values={"BM1-1": 1})]
    result = merge_reports(reports, SPEC, roster=roster, unit_code="H1")
    assert statuses(result) == {"h1.xlsx": "merged", "x1.xlsx": "merged"}
    assert result.expected == 3 and result.totals["BM1-3.2"].value == 3
    assert [u.unit.code for u in result.units] == ["H1", "X1", "X2", "X3"]


def test_roll_up_over_time_with_a_missing_period(roster):
    reports = [report("x1-q1.xlsx", "X1", period="2023-Q1", values={"BM1-1": 1, "BM4-2.1": 20}),
               report("x1-q2.xlsx", "X1", period="2023-Q2", values={"BM1-1": 2, "BM4-2.1": 21}),
               report("x2-h1.xlsx", "X2", period="2023-H1", values={"BM1-1": 5, "BM4-2.1": 9}),
               report("x2-q1.xlsx", "X2", period="2023-Q1", values={"BM1-1": 4}),
               report("x3-q2.xlsx", "X3", period="2023-Q2", values={"BM1-1": 7, "BM4-2.1": 10}),
               report("x3-q3.xlsx", "X3", period="2023-Q3", values={"BM1-1": 7})]
    result = merge_reports(reports, SPEC, roster=roster, period="2023-H1", unit_code="H1")
    assert statuses(result) == {"x1-q1.xlsx": "merged", "x1-q2.xlsx": "merged", "x2-h1.xlsx": "merged",
                                "x2-q1.xlsx": "superseded", "x3-q2.xlsx": "merged",
                                "x3-q3.xlsx": "other_period"}
    assert result.totals["BM1-1"].value == 3 + 5 + 7
    assert result.totals["BM4-2.1"].value == 21 + 9 + 10
    x3 = {u.unit.code: u for u in result.units}["X3"]
    assert x3.status == "merged" and x3.missing_periods == ("2023-Q1",) and x3.reason == "Thiếu Quý I/2023"
    assert any(n.startswith("2 đơn vị được cộng dồn số liệu 6 tháng đầu năm 2023") for n in result.notes)
    assert any(n.startswith("1 đơn vị thiếu báo cáo") and "Xã Hoài Hải" in n for n in result.notes)
    assert len(result.pieces) == 4 and [r.period.code for r in result.records] == ["2023-H1"] * 3


def test_period_defaults_to_the_most_common_and_must_be_found(roster):
    reports = [report("a.xlsx", "X1"), report("b.xlsx", "X2"), report("c.xlsx", "X3", period="2023-Q1")]
    assert merge_reports(reports, SPEC, roster=roster).period.code == "2023-Q2"
    with pytest.raises(PeriodError, match="--period"):
        merge_reports([report("a.xlsx", "X1", period=None)], SPEC)


def test_without_roster_every_identified_unit_counts(roster):
    reports = [report("a.xlsx", "A"), report("b.xlsx", "B", status="errors")]
    result = merge_reports(reports, SPEC)
    assert result.expected is None and [(u.unit.code, u.status) for u in result.units] == [
        ("A", "merged"), ("B", "errors")]
    assert result.level == "tinh" and result.root is None
    with pytest.raises(RosterError, match="--roster"):
        merge_reports(reports, SPEC, unit_code="H1")
    with pytest.raises(RosterError, match="ZZ"):
        merge_reports(reports, SPEC, roster=roster, unit_code="ZZ")


def test_findings_are_capped_and_the_cap_is_said(roster, monkeypatch):
    import cchc_excel.merge.run as merge

    monkeypatch.setattr(merge, "MAX_FINDINGS", 2)
    warn = [Issue("warning", "parent-blank", message=f"w{i}") for i in range(3)]
    result = merge_reports([report("x1.xlsx", "X1", status="warnings", issues=warn)], SPEC, roster=roster,
                           unit_code="H1")
    assert [f.issue.message for f in result.findings] == ["w0", "w1"] and result.findings_total == 3
    assert "Có 3 phát hiện; trang Kiểm tra chỉ ghi 2 dòng đầu." in result.notes
    assert result.files[0].status == "merged" and result.files[0].warnings == 3


def test_a_merged_report_of_one_unit_still_covers_that_unit(roster):
    # Only X1 had reported when H1 merged: its merged report stands for one unit, and X1's own return,
    # sent up as well, must not be counted a second time.
    district = report("h1.xlsx", "H1", level="huyen", values={"BM1-1": 1}, merged_units=1,
                      reported_levels=frozenset({"huyen", "xa"}))
    result = merge_reports([district, report("x1.xlsx", "X1", values={"BM1-1": 1})], SPEC, roster=roster)
    assert statuses(result) == {"h1.xlsx": "merged", "x1.xlsx": "superseded"}
    assert result.totals["BM1-1"].to_dict() == {"value": 1, "units": 1}


def test_each_step_returns_its_verdicts_and_notes(roster):
    from cchc_excel.merge.choose import latest_versions
    from cchc_excel.merge.inputs import read_entries

    entries = read_entries([report("b.xlsx", "X1", saved_at=at(15)), report("a.xlsx", "X1", saved_at=at(15))],
                           roster, {})
    assert [e.name for e in entries] == ["a.xlsx", "b.xlsx"] and entries[0].unit.name == "Phường Tam Quan Bắc"
    latest = latest_versions(entries)
    assert latest.winners == {"X1": {entries[0].period: entries[1]}}
    assert [(e.name, v.status) for e, v in latest.verdicts.items()] == [("a.xlsx", "superseded")]
    assert latest.notes == ["Phường Tam Quan Bắc: các tệp a.xlsx, b.xlsx cùng thời điểm lưu; dùng b.xlsx."]
