"""The JSON summary and the tidy CSV of a merge, and their atomic writing."""

import csv
import json
import os

import pytest

from cchc_excel.core import atomic
from cchc_excel.merge.exports import CSV_COLUMNS, summary, write_csv, write_json
from cchc_excel.merge.run import merge_reports
from cchc_excel.core.findings import Issue
from cchc_excel.core.roster import load_roster
from test_aggregate_merge import ROSTER_CSV, SPEC, at, report


@pytest.fixture(scope="module")
def roster(tmp_path_factory):
    path = tmp_path_factory.mktemp("roster") / "roster.csv"
    path.write_text(ROSTER_CSV, encoding="utf-8")
    return load_roster(path, levels=SPEC.levels)


@pytest.fixture()
def result(roster):
    reports = [
        report("x1.xlsx", "X1", values={"BM1-1": 1, "BM3-3.1.1": 10, "BM3-3.1.2": 9, "BM1-5": 1, "BM1-5.2": 2,
                                        "BM7-1.1": 80, "BM3-1.4": 157}, saved_at=at(10)),
        report("x2.xlsx", "X2", values={"BM1-1": 3, "BM3-3.1.1": 10, "BM3-3.1.2": 5, "BM1-5": 0,
                                        "BM7-1.1": 90, "BM3-1.4": 150}, saved_at=at(25)),
        report("x3.xlsx", "X3", status="errors", values={"BM1-1": 7},
               issues=[Issue("error", "BM1-R1", message="sai")]),
        report("old.xlsx", "X1", values={"BM1-1": 100}, saved_at=at(1)),
    ]
    return merge_reports(reports, SPEC, roster=roster, unit_code="H1")


def test_json_summary_shape(result, tmp_path):
    path = write_json(result, tmp_path / "tom-tat.json")
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data == summary(result) | {"notes": data["notes"]}
    assert data["period"] == "2023-Q2"
    assert data["units"] == {"expected": 3, "received": 3, "merged": 2, "missing": [], "with_errors": ["X3"],
                             "late": ["X2"]}
    assert data["files"][0] == {"path": "/returns/old.xlsx", "unit": "X1", "period": "2023-Q2",
                                "status": "superseded", "reason": data["files"][0]["reason"]}
    assert [f["status"] for f in data["files"]] == ["superseded", "merged", "merged", "errors"]
    totals = data["totals"]
    assert totals["BM1-1"] == {"value": 4, "units": 2}
    assert totals["BM3-3.1"] == {"value": 70, "units": 2}
    assert totals["BM1-5"] == {"value": 1, "units": 2, "answered": 2}
    assert totals["BM1-5.2"]["value"] == {"0": 0, "1": 0, "2": 1}
    assert totals["BM7-1.1"] == {"value": 85, "units": 2, "n": 2, "min": 80, "max": 90}
    assert totals["BM3-1.4"] == {"value": 157, "units": 2}
    assert totals["BM2-1.2"] == {"value": None, "units": 0}
    assert "Thị xã Hoài Nhơn" in path.read_text(encoding="utf-8")  # readable, not \\u escapes


def test_tidy_csv_shape(result, tmp_path):
    path = write_csv(result, tmp_path / "so-lieu.csv")
    raw = path.read_bytes()
    assert raw.startswith("\ufeff".encode("utf-8"))
    rows = list(csv.DictReader(raw.decode("utf-8-sig").splitlines()))
    assert tuple(rows[0]) == CSV_COLUMNS
    xa_rows = [i for i in SPEC.value_indicators if "xa" in i.levels]
    assert len(rows) == 3 * len(xa_rows)  # x1 and x2 merged, x3 with errors; one line per row of its level
    line = next(r for r in rows if r["ma_don_vi"] == "X1" and r["chi_tieu"] == "BM3-3.1")
    assert line == {"ma_don_vi": "X1", "ten_don_vi": "Phường Tam Quan Bắc", "cap": "xa", "don_vi_cha": "H1",
                    "ky_bao_cao": "2023-Q2", "bieu_mau": "3", "stt": "3.1", "chi_tieu": "BM3-3.1",
                    "ten_chi_tieu": SPEC["BM3-3.1"].label, "gia_tri": "90", "trang_thai_tep": "merged"}
    blank = next(r for r in rows if r["ma_don_vi"] == "X2" and r["chi_tieu"] == "BM1-5.2")
    assert blank["gia_tri"] == ""  # blank stays blank
    assert {r["trang_thai_tep"] for r in rows if r["ma_don_vi"] == "X3"} == {"errors"}
    assert not any(r["chi_tieu"] == "BM1-3.2" for r in rows)  # a district row is not a ward's


def test_csv_of_a_roll_up_has_the_returns_and_the_rolled_up_values(roster, tmp_path):
    reports = [report("q1.xlsx", "X1", period="2023-Q1", values={"BM1-1": 1}),
               report("q2.xlsx", "X1", period="2023-Q2", values={"BM1-1": 2})]
    result = merge_reports(reports, SPEC, roster=roster, unit_code="H1", period="2023-H1")
    rows = list(csv.DictReader(write_csv(result, tmp_path / "t.csv").read_text(encoding="utf-8-sig")
                               .splitlines()))
    got = [(r["ky_bao_cao"], r["gia_tri"], r["trang_thai_tep"]) for r in rows if r["chi_tieu"] == "BM1-1"]
    assert got == [("2023-Q1", "1", "merged"), ("2023-Q2", "2", "merged"), ("2023-H1", "3", "rolled_up")]


def test_text_that_looks_like_a_formula_is_not_one_in_the_csv(tmp_path, roster):
    reports = [report("x.xlsx", "Q9", values={"BM1-1": 1})]
    reports[0].unit["name"] = "=HYPERLINK(\"http://x\")"
    result = merge_reports(reports, SPEC)
    text = write_csv(result, tmp_path / "t.csv").read_text(encoding="utf-8-sig")
    assert "'=HYPERLINK" in text and "\n=HYPERLINK" not in text and ",=HYPERLINK" not in text


def test_an_interrupted_write_leaves_the_old_file(result, tmp_path, monkeypatch):
    target = tmp_path / "tom-tat.json"
    target.write_text("old", encoding="utf-8")

    def boom(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(atomic.os, "replace", boom)
    with pytest.raises(KeyboardInterrupt):
        write_json(result, target)
    assert target.read_text(encoding="utf-8") == "old"
    assert os.listdir(tmp_path) == ["tom-tat.json"]  # no temporary file left behind
