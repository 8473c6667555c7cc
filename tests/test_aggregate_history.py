"""Comparisons with earlier periods (`aggregate --previous`) and per-unit outliers: the previous period and
the same period a year before told apart by their period, changes (percentages in points), the report's
sentences, the `So sánh các kỳ` sheet, the JSON, and outlier warnings that never change the totals.
Inputs are built here (unit codes made up)."""

import math
from datetime import datetime, timezone
from pathlib import Path

import pytest
from test_aggregate_merge import FakeReport

from cchc_excel.core.periods import Period, parse_period
from cchc_excel.core.roster import load_roster
from cchc_excel.errors import SpecError
from cchc_excel.merge.history import Change
from cchc_excel.merge.outliers import outliers
from cchc_excel.merge.run import merge_reports
from cchc_excel.spec.loader import load_spec, parse_spec
from cchc_excel.spec.outliers import OutlierThresholds

SPEC = load_spec()


@pytest.mark.parametrize("code, previous, year_before", [
    ("2023-Q2", "2023-Q1", "2022-Q2"), ("2023-Q1", "2022-Q4", "2022-Q1"), ("2023-Q4", "2023-Q3", "2022-Q4"),
    ("2023-H1", None, "2022-H1"), ("2023-9M", None, "2022-9M"), ("2023", None, "2022"),
])
def test_the_period_before_and_the_same_period_a_year_before(code, previous, year_before):
    p = parse_period(code)
    assert (p.previous().code if p.previous() else None) == previous
    assert p.year_before().code == year_before


def test_the_outlier_thresholds_are_the_specs_data():
    assert SPEC.outliers == OutlierThresholds(ratio=5, points=30, range_margin=1.0, min_history=3, z=3.5,
                                              min_units=5, min_value=10)
    base = {"id": "thu", "version": "1", "forms": [{"number": 1, "title": "Thử", "rows": [
        {"code": "1", "label": "Số", "unit": "Văn bản", "kind": "count"}]}],
        "checks": {c: {"severity": "error", "message": "{label}: lỗi."} for c in __import__(
            "cchc_excel.spec.loader", fromlist=["CHECK_IDS"]).CHECK_IDS}}
    assert parse_spec(base).outliers == OutlierThresholds()
    assert parse_spec({**base, "outliers": {"ratio": 3, "min_units": 4}}).outliers.ratio == 3
    for wrong, where in (({"ratio": 1}, "outliers.ratio"), ({"z": "cao"}, "outliers.z"),
                         ({"min_units": 2.5}, "outliers.min_units"), ({"zscore": 3}, "outliers.zscore"),
                         ([3], "outliers")):
        with pytest.raises(SpecError, match=where):
            parse_spec({**base, "outliers": wrong})


def test_a_change_in_words_and_percentage_points():
    assert Change("x", 1120, 1000).words() == "tăng 12%"
    assert Change("x", 1120, 1000).relative == pytest.approx(12)
    assert Change("x", 95, 100).words() == "giảm 5%"
    assert Change("x", 50, 0).words() == "tăng từ 0 lên 50"
    assert Change("x", 7, 7).words() == "không đổi"
    assert Change("x", 7, None).words() == ""
    pct = Change("x", 92.5, 89.0, points=True)
    assert pct.words() == "tăng 3,5 điểm phần trăm" and pct.relative is None
    assert pct.to_dict() == {"value": 89, "change": 3.5, "change_unit": "percentage_points"}


# ---------------------------------------------------------------------------------------------------
# The merge, on checked files built here

ROSTER_CSV = "ma_don_vi,ten_don_vi,cap,don_vi_cha\nH,Thị xã Hoài Nhơn,huyen,\n" + "".join(
    f"X{i},Phường {i},xa,H\n" for i in range(1, 8))


@pytest.fixture(scope="module")
def roster(tmp_path_factory):
    path = tmp_path_factory.mktemp("roster") / "roster.csv"
    path.write_text(ROSTER_CSV, encoding="utf-8")
    return load_roster(path, levels=SPEC.levels)


def ward(code, period, solved, on_time, **kw):
    return FakeReport(Path(f"/returns/{code}_{period}.xlsx"), unit={"code": code, "name": code, "level": "xa"},
                      period=period, values={"BM3-3.1.1": solved, "BM3-3.1.2": on_time}, sha256=code + period, **kw)


NOW = [ward(f"X{i}", "2023-Q2", 160, 150) for i in range(1, 7)] + [ward("X7", "2023-Q2", 180, 170)]
Q1 = [ward(f"X{i}", "2023-Q1", 150, 140) for i in range(1, 7)] + [ward("X7", "2023-Q1", 20, 19)]
LAST_YEAR = [ward(f"X{i}", "2022-Q2", 150, 120) for i in range(1, 8)]


def test_the_previous_period_and_the_same_period_last_year_are_told_apart_by_their_period(roster):
    stray = ward("X1", "2021-H1", 1, 1)
    result = merge_reports(NOW, roster=roster, unit_code="H", period="2023-Q2", previous=Q1 + LAST_YEAR + [stray])
    previous, year = result.comparisons["previous"], result.comparisons["year_before"]
    assert (previous.period, year.period) == (Period(2023, "Q1"), Period(2022, "Q2"))
    solved = previous.changes["BM3-3.1.1"]
    assert (solved.current, solved.earlier, solved.difference) == (1140, 920, 220)
    assert year.changes["BM3-3.1.1"].earlier == 1050
    on_time = year.changes["BM3-3.1"]  # a ratio: recomputed, the change in percentage points
    assert on_time.points and on_time.earlier == pytest.approx(80)
    assert on_time.difference == pytest.approx(round(1070 / 1140 * 100, 2) - 80)
    assert "BM1-5" not in previous.changes  # flags and choices are not compared
    assert any("2021-H1" in n or "6 tháng đầu năm 2021" in n for n in result.notes)


def test_comparisons_and_outliers_never_change_the_totals(roster):
    alone = merge_reports(NOW, roster=roster, unit_code="H", period="2023-Q2")
    compared = merge_reports(NOW, roster=roster, unit_code="H", period="2023-Q2", previous=Q1 + LAST_YEAR)
    assert compared.totals == alone.totals and compared.report_values() == alone.report_values()


def test_a_value_far_from_the_units_own_previous_period_is_a_warning_with_the_reason(roster):
    result = merge_reports(NOW, roster=roster, unit_code="H", period="2023-Q2", previous=Q1 + LAST_YEAR)
    found = [f for f in result.outliers if f.issue.rule == "outlier-previous" and f.issue.indicator == "BM3-3.1.1"]
    assert [f.unit for f in found] == ["X7"]
    issue = found[0].issue
    assert issue.severity == "warning" and issue.sheet == "Biểu mẫu 3"
    assert "(180) gấp 9 lần quý trước (Quý I/2023: 20)" in issue.message
    assert found[0] in result.findings  # the Kiểm tra sheet lists it
    assert any("khác xa các kỳ trước" in n for n in result.notes)


def test_a_percentage_is_compared_in_points():
    fallen = [ward("X1", "2023-Q2", 100, 40)]
    result = merge_reports(fallen, period="2023-Q2", previous=[ward("X1", "2023-Q1", 100, 90)])
    (f,) = [f for f in result.outliers if f.issue.indicator == "BM3-3.1"]
    assert "(40%) giảm 50 điểm phần trăm so với quý trước (Quý I/2023: 90%)" in f.issue.message


def test_outside_the_min_max_of_its_history(roster):
    quarters = ("2022-Q3", "2022-Q4", "2023-Q1")
    history = [ward("X1", q, v, v) for q, v in zip(quarters, (40, 55, 100))]
    result = merge_reports([ward("X1", "2023-Q2", 420, 400)], period="2023-Q2", previous=history)
    rules = {(f.issue.indicator, f.issue.rule) for f in result.outliers}
    assert ("BM3-3.1.1", "outlier-history") in rules  # 4.2 times the last quarter: under the ratio of 5
    (f,) = [f for f in result.outliers if f.issue.indicator == "BM3-3.1.1"]
    assert "cao hơn nhiều so với 3 kỳ trước (thấp nhất 40, cao nhất 100)" in f.issue.message
    quiet = merge_reports([ward("X1", "2023-Q2", 150, 140)], period="2023-Q2", previous=history)
    assert not quiet.outliers


def test_far_from_the_other_units_of_its_level_by_a_robust_z_score(roster):
    solved = [100, 104, 96, 110, 90, 102, 98, 101, 99, 900]
    reports = [ward(f"P{i}", "2023-Q2", v, 0) for i, v in enumerate(solved)]
    result = merge_reports(reports, period="2023-Q2")  # no --previous: the peers are still compared
    found = [f for f in result.outliers if f.issue.indicator == "BM3-3.1.1"]
    assert [f.unit for f in found] == ["P9"] and found[0].issue.rule == "outlier-peers"
    assert "gấp 9 lần trung vị của 10 đơn vị cùng cấp (100,5)" in found[0].issue.message
    # Why robust: among n values a plain z-score cannot exceed (n - 1) / sqrt(n); with 10 units that is
    # 2,85, so a plain z-score of 3,5 would never fire.
    mean = sum(solved) / len(solved)
    sd = math.sqrt(sum((v - mean) ** 2 for v in solved) / len(solved))
    assert (900 - mean) / sd < SPEC.outliers.z


def test_a_fall_to_a_fraction_of_the_period_before():
    result = merge_reports([ward("X1", "2023-Q2", 20, 0)], period="2023-Q2", previous=[ward("X1", "2023-Q1", 180, 0)])
    (f,) = [f for f in result.outliers if f.issue.indicator == "BM3-3.1.1"]
    assert "(20) chỉ bằng 1/9 quý trước (Quý I/2023: 180)" in f.issue.message


def test_when_most_units_give_the_same_value_the_mean_deviation_measures_the_spread():
    # Eight wards with the catalogue's 157 procedures, one with 320: the MAD is 0.
    reports = [ward(f"P{i}", "2023-Q2", 157, 0) for i in range(8)] + [ward("P8", "2023-Q2", 320, 0)]
    found = [f for f in merge_reports(reports, period="2023-Q2").outliers if f.issue.indicator == "BM3-3.1.1"]
    assert [f.unit for f in found] == ["P8"] and "gấp 2 lần trung vị của 9 đơn vị cùng cấp (157)" in found[0].issue.message


def test_few_units_or_small_numbers_are_no_outliers():
    few = [ward(f"P{i}", "2023-Q2", v, 0) for i, v in enumerate((100, 100, 100, 900))]
    assert not [f for f in merge_reports(few, period="2023-Q2").outliers if f.issue.indicator == "BM3-3.1.1"]
    small = [ward(f"P{i}", "2023-Q2", v, 0) for i, v in enumerate((1, 1, 2, 1, 1, 9))]
    assert not [f for f in merge_reports(small, period="2023-Q2").outliers if f.issue.indicator == "BM3-3.1.1"]
    tiny = merge_reports([ward("X1", "2023-Q2", 9, 0)], period="2023-Q2", previous=[ward("X1", "2023-Q1", 1, 0)])
    assert not tiny.outliers
    # 1 of 1 complaints settled is 100% where the other wards settled none of their 20: no news.
    settled = [FakeReport(Path(f"/r/P{i}.xlsx"), unit={"code": f"P{i}", "name": f"P{i}", "level": "xa"},
                          values={"BM3-3.2.1": n, "BM3-3.2.2": k}, sha256=str(i))
               for i, (n, k) in enumerate([(20, 0)] * 6 + [(1, 1)])]
    assert not [f for f in merge_reports(settled, period="2023-Q2").outliers if f.issue.indicator == "BM3-3.2"]


def test_outliers_can_be_computed_again_from_a_result(roster):
    result = merge_reports(NOW, roster=roster, unit_code="H", period="2023-Q2")
    assert outliers(result) == result.outliers


# ---------------------------------------------------------------------------------------------------
# On files: last quarter's merged workbook and last year's returns, through the command line

import json  # noqa: E402

from click.testing import CliRunner  # noqa: E402
from python_calamine import CalamineWorkbook  # noqa: E402

from cchc_excel.cli import cli  # noqa: E402
from cchc_excel.merge.compare_sheet import COMPARE_SHEET  # noqa: E402
from cchc_excel.merge.run import aggregate_paths  # noqa: E402
from cchc_excel.merge.workbook import FINDINGS_SHEET, write_merged_workbook  # noqa: E402
from cchc_excel.template.build import write_template  # noqa: E402
from cchc_excel.word.text import ReportContext, paragraph, plain  # noqa: E402

FILE_ROSTER = """ma_don_vi,ten_don_vi,cap,don_vi_cha,email
HN,Thị xã Hoài Nhơn,huyen,,
HN-TQB,Phường Tam Quan Bắc,xa,HN,
HN-BS,Phường Bồng Sơn,xa,HN,
HN-HS,Xã Hoài Sơn,xa,HN,
"""
SAVED = datetime(2023, 6, 15, tzinfo=timezone.utc)


def _returns(folder: Path, roster, period: str, solved: dict) -> Path:
    folder.mkdir()
    for code, n in solved.items():
        write_template(folder / f"{code}_{period}.xlsx", level="xa", unit=roster.get(code), period=period,
                       values={"BM3-3.1.1": n, "BM3-3.1.2": n - 10, "BM7-2.4.1": n, "BM7-2.4.2": n // 2},
                       generated_at=SAVED)
    return folder


@pytest.fixture(scope="module")
def quarter(tmp_path_factory):
    base = tmp_path_factory.mktemp("history")
    (base / "don-vi.csv").write_text(FILE_ROSTER, encoding="utf-8")
    roster = load_roster(base / "don-vi.csv")
    # Last quarter merged once already; its merged workbook is all there is of it.
    q1 = _returns(base / "q1", roster, "2023-Q1", {"HN-TQB": 400, "HN-BS": 300, "HN-HS": 30})
    write_merged_workbook(aggregate_paths([q1], roster=roster, unit_code="HN", period="2023-Q1", jobs=1),
                          base / "tong-hop-2023-Q1.xlsx")
    _returns(base / "q2-2022", roster, "2022-Q2", {"HN-TQB": 520, "HN-BS": 450, "HN-HS": 30})
    _returns(base / "q2", roster, "2023-Q2", {"HN-TQB": 500, "HN-BS": 400, "HN-HS": 220})
    return base, roster


def test_aggregate_previous_on_files(quarter):
    base, roster = quarter
    out = base / "tong-hop-2023-Q2.xlsx"
    args = ["aggregate", str(base / "q2"), "--roster", str(base / "don-vi.csv"), "--under", "HN", "--period",
            "2023-Q2", "-o", str(out), "--previous", str(base / "tong-hop-2023-Q1.xlsx"),
            "--previous", str(base / "q2-2022"), "--json", "-j", "1"]
    run = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert run.exit_code == 0, run.output
    data = json.loads(run.stdout)
    solved = data["totals"]["BM3-3.1.1"]["value"]
    assert solved == 1120
    previous, year = data["comparisons"]["previous"], data["comparisons"]["year_before"]
    assert previous["period"] == "2023-Q1" and year["period"] == "2022-Q2"
    assert previous["totals"]["BM3-3.1.1"] == {"value": 730, "change": 390, "change_unit": "value",
                                               "change_percent": pytest.approx(53.4247, abs=1e-3)}
    assert year["totals"]["BM3-3.1.1"]["value"] == 1000 and year["totals"]["BM3-3.1.1"]["change_percent"] == 12
    assert year["totals"]["BM3-3.1"]["change_unit"] == "percentage_points"
    # The units' history is in their returns: last quarter's merged workbook holds only its totals.
    (found,) = [o for o in data["outliers"] if o["indicator"] == "BM3-3.1.1"]
    assert (found["unit"], found["rule"], found["severity"]) == ("HN-HS", "outlier-previous", "warning")
    assert "(220) gấp 7,3 lần cùng kỳ năm trước (Quý II/2022: 30)" in found["message"]

    wb = CalamineWorkbook.from_path(str(out))
    rows = wb.get_sheet_by_name(COMPARE_SHEET).to_python()
    assert rows[3][3:] == ["Kỳ này\n(Quý II/2023)", "Kỳ trước\n(Quý I/2023)", "Tăng/giảm", "Tăng/giảm (%)",
                           "Cùng kỳ năm trước\n(Quý II/2022)", "Tăng/giảm", "Tăng/giảm (%)"]
    line = next(r for r in rows if r[0] == "3.1.1.")
    assert line[3:] == [1120, 730, 390, pytest.approx(53.42, abs=0.01), 1000, 120, 12]
    findings = wb.get_sheet_by_name(FINDINGS_SHEET).to_python()
    assert any("gấp 7,3 lần cùng kỳ năm trước" in str(r[-1]) for r in findings)


def test_the_reports_sentences_say_the_change(quarter):
    base, roster = quarter
    result = aggregate_paths([base / "q2"], roster=roster, unit_code="HN", period="2023-Q2", jobs=1,
                             previous=[base / "tong-hop-2023-Q1.xlsx", base / "q2-2022"])
    text = " ".join(plain(paragraph(p, ReportContext(result))) for p in result.spec.report.areas[3][1])
    assert ("So với cùng kỳ năm trước (quý II/2022), số hồ sơ TTHC đã giải quyết tăng 12%; tỷ lệ giải quyết đúng "
            "hạn tăng 0,3 điểm phần trăm.") in text
    assert "So với kỳ trước (quý I/2023), số hồ sơ TTHC đã giải quyết tăng 53%" in text
    without = aggregate_paths([base / "q2"], roster=roster, unit_code="HN", period="2023-Q2", jobs=1)
    assert "So với" not in " ".join(plain(paragraph(p, ReportContext(without)))
                                    for p in without.spec.report.areas[3][1])
    assert COMPARE_SHEET not in _sheets(base, without)


def _sheets(base: Path, result) -> list:
    path = write_merged_workbook(result, base / "khong-so-sanh.xlsx")
    return CalamineWorkbook.from_path(str(path)).sheet_names
