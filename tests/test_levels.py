"""Levels are data: a spec with levels the code has never heard of (a ministry `bo` above its departments;
the two-level local government since 1 July 2025) makes templates, checks and merges without a code change."""

import copy
from datetime import datetime, timezone

import pytest
import yaml
from openpyxl import load_workbook

from cchc_excel.check.feedback import feedback_bytes
from cchc_excel.check.feedback_plan import make_plan
from cchc_excel.check.run import check_file, check_paths
from cchc_excel.core.roster import Unit, load_roster
from cchc_excel.errors import CchcError, RosterError, SpecError
from cchc_excel.read.reader import read_workbook
from cchc_excel.spec.loader import FORMS_DIR, parse_spec
from cchc_excel.template.build import template_bytes, write_roster_templates
from cchc_excel.template.forms import layout

WHEN = datetime(2026, 4, 1, 8, 0, tzinfo=timezone.utc)
CHECKS = yaml.safe_load((FORMS_DIR / "cv371-2022.yaml").read_text(encoding="utf-8"))["checks"]
ROWS = [
    {"code": "1", "label": "Số hồ sơ tiếp nhận", "unit": "Hồ sơ", "kind": "count"},
    {"code": "2", "label": "Tỷ lệ hồ sơ đúng hạn", "unit": "%", "kind": "ratio", "of": ["2.2", "2.1"]},
    {"code": "2.1", "label": "Số hồ sơ đã giải quyết", "unit": "Hồ sơ", "kind": "count"},
    {"code": "2.2", "label": "Số hồ sơ giải quyết đúng hạn", "unit": "Hồ sơ", "kind": "count"},
]
RULES = [{"id": "T-R1", "kind": "le", "left": ["BM1-2.2"], "right": ["BM1-2.1"], "severity": "error",
          "message": "{left_label} ({left}) vượt {right_label} ({right})."}]

# A ministry with rows of its own (row 3) whose report also covers its departments' rows (row 4).
MINISTRY = {
    "id": "bo-thu", "version": "1",
    "levels": {"bo": {"name": "Bộ, ngành trung ương", "reports": ["bo", "so"]},
               "so": {"name": "Sở, ngành", "reports": ["so"]}},
    "checks": CHECKS, "rules": RULES,
    "forms": [{"number": 1, "title": "Thử cấp bộ", "rows": ROWS + [
        {"code": "3", "label": "Số văn bản hướng dẫn do bộ ban hành", "unit": "Văn bản", "kind": "count",
         "levels": ["bo"]},
        {"code": "4", "label": "Số văn bản do sở tham mưu", "unit": "Văn bản", "kind": "count", "levels": ["so"]},
    ]}],
}
# Since 2025: the province (which only merges) and the commune level.
TWO_LEVELS = {
    "id": "hai-cap", "version": "2025.1",
    "levels": {"tinh": {"name": "Tỉnh", "reports": ["xa"]}, "xa": {"name": "UBND cấp xã", "reports": ["xa"]}},
    "checks": CHECKS, "rules": RULES,
    "forms": [{"number": 1, "title": "Thử hai cấp", "rows": ROWS}],
}
SPECS = {"bo": parse_spec(MINISTRY, source="bo.yaml"), "hai-cap": parse_spec(TWO_LEVELS, source="hai-cap.yaml")}
ROSTERS = {
    "bo": "ma_don_vi,ten_don_vi,cap,don_vi_cha\nB,Bộ Nội vụ,bo,\nS1,Sở Nội vụ tỉnh A,so,B\nS2,Sở Nội vụ tỉnh C,so,B\n",
    "hai-cap": "ma_don_vi,ten_don_vi,cap,don_vi_cha\nT,Tỉnh Gia Lai,tinh,\nX1,Phường Tam Quan,xa,T\n"
               "X2,Xã Hoài Sơn,xa,T\n",
}
CHILD = {"bo": "so", "hai-cap": "xa"}


def test_the_levels_are_those_of_the_spec():
    bo, two = SPECS["bo"], SPECS["hai-cap"]
    assert bo.row_levels == ("bo", "so") and bo.default_level == "so"
    assert two.row_levels == ("xa",) and two.default_level == "xa"
    assert bo["BM1-1"].levels == {"bo", "so"} and two["BM1-1"].levels == {"xa"}
    assert bo.concerns(bo["BM1-4"], "bo") and not bo.concerns(bo["BM1-3"], "so")
    assert two.concerns(two["BM1-1"], "tinh") and not two["BM1-1"].concerns("tinh")
    assert bo.ordered_levels({"so", "bo", "xa"}) == ("bo", "so")


def test_a_spec_naming_an_undeclared_level_is_refused():
    data = copy.deepcopy(MINISTRY)
    data["forms"][0]["rows"][0]["levels"] = ["xa"]
    with pytest.raises(SpecError, match=r"bo.yaml: Biểu mẫu 1, dòng 1: cấp 'xa' không hợp lệ \(chỉ nhận bo, so\)"):
        parse_spec(data, source="bo.yaml")
    data = copy.deepcopy(MINISTRY)
    data["levels"]["bo"]["reports"] = ["so", "huyen"]
    with pytest.raises(SpecError, match="levels.bo: cấp 'huyen' không hợp lệ"):
        parse_spec(data, source="bo.yaml")
    data["levels"] = {"Cấp Bộ": {"name": "Bộ"}}
    with pytest.raises(SpecError, match="levels.Cấp Bộ: mã cấp phải viết thường, không dấu"):
        parse_spec(data, source="bo.yaml")


def test_the_roster_takes_the_levels_of_the_spec(tmp_path):
    path = tmp_path / "don-vi.csv"
    path.write_text(ROSTERS["bo"], encoding="utf-8")
    roster = load_roster(path, levels=SPECS["bo"].levels)
    assert [u.level for u in roster] == ["bo", "so", "so"]
    assert [u.code for u in roster.reporting_units("B")] == ["S1", "S2"]
    path.write_text(ROSTERS["hai-cap"], encoding="utf-8")
    with pytest.raises(RosterError, match=r"dòng 2: cấp 'tinh' của đơn vị T không hợp lệ \(chỉ nhận: bo, so\)\.$"):
        load_roster(path, levels=SPECS["bo"].levels)
    roster = load_roster(path, levels=SPECS["hai-cap"].levels)
    assert [u.code for u in roster.reporting_units()] == ["X1", "X2"]  # the province only merges


@pytest.mark.parametrize("name", SPECS)
def test_a_template_of_each_level(tmp_path, name):
    spec = SPECS[name]
    cells = layout(spec)
    for level in spec.levels:
        path = tmp_path / f"{level}.xlsx"
        path.write_bytes(template_bytes(spec, level=level, generated_at=WHEN))
        sub = read_workbook(path, spec)
        assert sub.level == level and sub.reported_levels == spec.reported_levels(level)
        ws = load_workbook(path)["Biểu mẫu 1"]
        locked = {ind.id for ind in spec.value_indicators
                  if ws.cell(cells[ind.id][1] + 1, 4).protection.locked}
        assert locked == {ind.id for ind in spec.value_indicators
                          if ind.kind == "ratio" or not spec.concerns(ind, level)}, level
    with pytest.raises(CchcError, match=r"Cấp 'huyen' không hợp lệ \(chỉ nhận: " + ", ".join(spec.levels)):
        template_bytes(spec, level="huyen")


def test_the_command_line_takes_the_levels_of_the_spec(tmp_path):
    from click.testing import CliRunner

    from cchc_excel.cli import cli

    spec_file = tmp_path / "bo.yaml"
    spec_file.write_text(yaml.safe_dump(MINISTRY, allow_unicode=True), encoding="utf-8")
    run = CliRunner().invoke
    result = run(cli, ["template", "--spec", str(spec_file), "--level", "bo", "-o", str(tmp_path / "bo.xlsx")])
    assert result.exit_code == 0 and "(Bộ, ngành trung ương)" in result.output
    assert read_workbook(tmp_path / "bo.xlsx", SPECS["bo"]).level == "bo"
    result = run(cli, ["template", "--spec", str(spec_file), "-o", str(tmp_path / "x.xlsx")])
    assert result.exit_code == 2 and "Cần --level (so hoặc bo)" in result.output
    roster = tmp_path / "don-vi.csv"
    roster.write_text(ROSTERS["bo"], encoding="utf-8")
    result = run(cli, ["template", "--spec", str(spec_file), "--roster", str(roster), "--period", "2026-Q1",
                       "--level", "so", "-o", str(tmp_path / "mau")])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "mau").iterdir()) == ["S1_so-noi-vu-tinh-a_2026-Q1.xlsx",
                                                                   "S2_so-noi-vu-tinh-c_2026-Q1.xlsx"]


@pytest.mark.parametrize("name", SPECS)
def test_a_filled_template_is_checked(tmp_path, name):
    spec, level = SPECS[name], CHILD[name]
    unit = Unit("U1", "Đơn vị thử", level)
    values = {"BM1-1": 12, "BM1-2.1": 10, "BM1-2.2": 11}
    if name == "bo":
        values["BM1-4"] = 3
    path = tmp_path / "u1.xlsx"
    path.write_bytes(template_bytes(spec, level=level, unit=unit, period="2026-Q1", values=values,
                                    generated_at=WHEN))
    report = check_file(path, spec)
    assert report.unit["level"] == level and report.reported_levels == spec.reported_levels(level)
    assert report.values["BM1-1"] == 12 and report.values["BM1-2.1"] == 10
    assert report.values.get("BM1-4") == (3 if name == "bo" else None)
    assert {i.rule for i in report.issues if i.severity == "error"} == {"T-R1"}
    # The feedback workbook is a template of the same level, the unit's numbers in it.
    back = tmp_path / "u1_phan-hoi.xlsx"
    back.write_bytes(feedback_bytes(report, generated_at=WHEN))
    sub = read_workbook(back, spec)
    assert sub.level == level and sub.values["BM1-2.2"] == 11


@pytest.mark.parametrize("name", SPECS)
def test_a_return_of_unknown_level_gets_the_default_levels_template(tmp_path, name):
    spec = SPECS[name]
    path = tmp_path / "u.xlsx"
    path.write_bytes(template_bytes(spec, level=spec.default_level, values={"BM1-2.1": 1, "BM1-2.2": 2},
                                    generated_at=WHEN))
    report = check_file(path, spec)
    assert report.unit is None
    report.submission.level, report.submission.reported_levels = None, frozenset()  # as a hand-made file
    plan = make_plan(report)
    assert plan.level == spec.default_level and "Chưa xác định được cấp" in " ".join(plan.remarks)


@pytest.mark.parametrize("name", SPECS)
def test_the_returns_of_a_new_level_merge(tmp_path, name):
    from cchc_excel.merge.exports import summary, write_csv
    from cchc_excel.merge.run import merge_reports
    from cchc_excel.merge.workbook import write_merged_workbook

    spec = SPECS[name]
    roster_path = tmp_path / "don-vi.csv"
    roster_path.write_text(ROSTERS[name], encoding="utf-8")
    roster = load_roster(roster_path, levels=spec.levels)
    paths = write_roster_templates(roster, "2026-Q1", tmp_path / "mau", spec, generated_at=WHEN)
    # The ministry has rows of its own: it fills a return too; the province of 2025 only merges.
    assert [p.name.split("_")[0] for p in paths] == {"bo": ["B", "S1", "S2"], "hai-cap": ["X1", "X2"]}[name]
    top = roster.roots()[0]
    returns = tmp_path / "ve"
    returns.mkdir()
    for n, unit in enumerate(roster.reporting_units(top.code), start=1):
        (returns / f"{unit.code}.xlsx").write_bytes(template_bytes(
            spec, level=unit.level, unit=unit, period="2026-Q1", generated_at=WHEN,
            values={"BM1-1": 10 * n, "BM1-2.1": 4, "BM1-2.2": n}))
    report = check_paths([returns], spec, roster=roster, jobs=1)
    result = merge_reports(report.files, spec, roster=roster)
    assert result.root.code == top.code and result.level == top.level and result.expected == 2
    assert result.totals["BM1-1"].value == 30
    assert result.reported_levels >= spec.reported_levels(CHILD[name])
    merged = write_merged_workbook(result, tmp_path / "tong-hop.xlsx")
    write_csv(result, tmp_path / "so-lieu.csv")
    assert summary(result)["level"] == top.level
    # The merged report is a return of the level above, checked like any other.
    again = check_file(merged, spec)
    assert again.unit["level"] == top.level and again.values["BM1-1"] == 30
