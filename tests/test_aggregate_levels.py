"""Levels are data: a merge under a small spec, written here, whose levels the code has never heard of
(`bo`, a ministry, above its `so` departments), with checked files (`FileReport`s) built in the test."""

from datetime import datetime, timezone

import pytest

from cchc_excel.check.report import FileReport
from cchc_excel.core.roster import Roster, Unit
from cchc_excel.merge.levels import row_levels, top_level
from cchc_excel.merge.run import merge_reports
from cchc_excel.spec.loader import CHECK_IDS, parse_spec

BO_SPEC = {
    "id": "bo-2099", "version": "1", "title": "Biểu thử của Bộ", "column_note": "",
    "levels": {"bo": {"name": "Bộ", "reports": ["bo", "so"]}, "so": {"name": "Sở", "reports": ["so"]}},
    "checks": {c: {"severity": "error", "message": f"{{label}}: lỗi {c}."} for c in CHECK_IDS},
    "forms": [
        {"number": 1, "title": "Biểu thử", "rows": [
            {"code": "1", "label": "Số văn bản ban hành", "unit": "Văn bản", "kind": "count", "levels": ["so"]},
            {"code": "2", "label": "Số thủ tục hành chính", "unit": "Thủ tục", "kind": "count", "units": "max",
             "levels": ["so"]},
            {"code": "3", "label": "Tỷ lệ hồ sơ đúng hạn", "unit": "%", "kind": "ratio", "of": ["3.2", "3.1"],
             "levels": ["so"]},
            {"code": "3.1", "label": "Số hồ sơ đã giải quyết", "unit": "Hồ sơ", "kind": "count",
             "levels": ["so"]},
            {"code": "3.2", "label": "Số hồ sơ đúng hạn", "unit": "Hồ sơ", "kind": "count", "levels": ["so"]},
            {"code": "4", "label": "Số văn bản của Bộ", "unit": "Văn bản", "kind": "count", "levels": ["bo"]},
        ]},
    ],
}


@pytest.fixture(scope="module")
def spec():
    return parse_spec(BO_SPEC, source="bo-2099.yaml")


def roster(*extra: Unit) -> Roster:
    units = [Unit("BNV", "Bộ Nội vụ", "bo"), Unit("S1", "Sở Nội vụ Hà Nội", "so", "BNV"),
             Unit("S2", "Sở Nội vụ Huế", "so", "BNV"), Unit("S3", "Sở Nội vụ Cần Thơ", "so", "BNV"), *extra]
    return Roster({u.code: u for u in units}, source="don-vi.csv")


def report(name, code, level="so", day=15, **kw):
    """A checked file, as `check` makes them."""
    return FileReport(f"/returns/{name}", "ok", unit={"code": code, "name": code, "level": level},
                      period="2023-Q2", sha256=name, saved_at=datetime(2023, 6, day, 9, tzinfo=timezone.utc), **kw)


def test_the_levels_come_from_the_spec(spec):
    assert top_level(spec) == "bo"
    assert row_levels(spec, {"bo"}) == {"bo", "so"} and row_levels(spec, {"so"}) == {"so"}
    assert row_levels(spec, {"phuong"}) == {"phuong"}  # a level the spec does not know covers itself


def test_a_ministry_merges_its_departments(spec):
    reports = [
        report("s1-v1.xlsx", "S1", day=10, values={"BM1-1": 1}),
        report("s1-v2.xlsx", "S1", day=12, values={"BM1-1": 4, "BM1-2": 120, "BM1-3.1": 10, "BM1-3.2": 9,
                                                    "BM1-4": 99}),
        report("s2.xlsx", "S2", values={"BM1-1": 6, "BM1-2": 157, "BM1-3.1": 30, "BM1-3.2": 15}),
        report("x.xlsx", "ZZ", values={"BM1-1": 100}),
    ]
    result = merge_reports(reports, spec, roster=roster())
    assert {f.path.name: f.status for f in result.files} == {
        "s1-v1.xlsx": "superseded", "s1-v2.xlsx": "merged", "s2.xlsx": "merged", "x.xlsx": "unknown_unit"}
    assert (result.root.code, result.level, result.reported_levels) == ("BNV", "bo", {"bo", "so"})
    assert [(u.unit.code, u.status) for u in result.units] == [("S1", "merged"), ("S2", "merged"),
                                                               ("S3", "missing")]
    assert result.expected == 3
    totals = {k: t.to_dict() for k, t in result.totals.items()}
    assert totals["BM1-1"] == {"value": 10, "units": 2}
    assert totals["BM1-2"] == {"value": 157, "units": 2}  # a shared catalogue: the maximum
    assert totals["BM1-3"] == {"value": 60, "units": 2}  # (9 + 15) / (10 + 30), recomputed
    assert totals["BM1-4"] == {"value": None, "units": 0}  # the ministry's own row: not a department's


def test_the_ministrys_own_return_and_a_merge_without_a_root(spec):
    own = report("bnv.xlsx", "BNV", level="bo", values={"BM1-1": 2, "BM1-4": 3})
    result = merge_reports([own, report("s1.xlsx", "S1", values={"BM1-1": 4})], spec, roster=roster())
    assert [u.unit.code for u in result.units] == ["BNV", "S1", "S2", "S3"]
    assert result.totals["BM1-4"].value == 3 and result.totals["BM1-1"].value == 6
    # Two roots: no unit's report; the level is the spec's top one, and the note says it.
    two = roster(Unit("BTP", "Bộ Tư pháp", "bo"))
    result = merge_reports([report("s1.xlsx", "S1", values={"BM1-1": 4})], spec, roster=two)
    assert result.root is None and result.level == "bo" and result.reported_levels == {"bo", "so"}
    assert result.expected == 3 and result.units_with("missing") == ["S2", "S3"]  # a ministry reports to nobody
    assert "Không có đơn vị gốc (--unit): báo cáo tổng hợp được lập cho cấp bộ." in result.notes


def test_a_departments_merged_report_covers_its_own_units(spec):
    # A department merged the reports of units under it (merged_units): they are not listed on their own.
    units = roster(Unit("P1", "Phòng Nội vụ quận 1", "so", "S1"), Unit("P2", "Phòng Nội vụ quận 2", "so", "S1"))
    s1 = report("s1.xlsx", "S1", values={"BM1-1": 8}, merged_units=2, reported_levels=frozenset({"so"}))
    result = merge_reports([s1, report("p1.xlsx", "P1", values={"BM1-1": 5})], spec, roster=units)
    assert {f.path.name: f.status for f in result.files} == {"s1.xlsx": "merged", "p1.xlsx": "superseded"}
    assert result.totals["BM1-1"].to_dict() == {"value": 8, "units": 2}
    assert [u.unit.code for u in result.units] == ["S1", "S2", "S3"]


def test_the_ministrys_merged_workbook_reads_back_as_its_return(spec, tmp_path):
    from cchc_excel.check.run import check_file
    from cchc_excel.merge.workbook import write_merged_workbook

    reports = [report("s1.xlsx", "S1", values={"BM1-1": 4, "BM1-3.1": 10, "BM1-3.2": 9}),
               report("s2.xlsx", "S2", values={"BM1-1": 6, "BM1-3.1": 30, "BM1-3.2": 15})]
    result = merge_reports(reports, spec, roster=roster())
    path = write_merged_workbook(result, tmp_path / "tong-hop.xlsx")
    back = check_file(path, spec)
    assert back.status == "ok" and back.unit["code"] == "BNV" and back.period == "2023-Q2"
    assert back.reported_levels == {"bo", "so"} and back.merged_units == 2
    assert back.values["BM1-1"] == 10 and back.values["BM1-3"] == 60
