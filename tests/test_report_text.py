"""The report's sentence templates (the spec's `report:` key): parsed when the spec loads, refused with the
file and key named when a field is unknown, and filled from a merge by `word.text`."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from cchc_excel.core.roster import load_roster
from cchc_excel.errors import SpecError
from cchc_excel.merge.run import merge_reports
from cchc_excel.spec.loader import FORMS_DIR, load_spec, parse_spec
from cchc_excel.spec.report_text import Field, Gap
from cchc_excel.word.text import ReportContext, paragraph, plain, vn_number

BUNDLED = yaml.safe_load((FORMS_DIR / "cv371-2022.yaml").read_text(encoding="utf-8"))

# A spec with other rows than Công văn 371: one form of two counts and their ratio, and its own sentences.
MINI_FORMS = [{"number": 1, "title": "Giải quyết hồ sơ", "rows": [
    {"code": "1", "label": "Tỷ lệ đúng hạn", "unit": "%", "kind": "ratio", "of": ["1.2", "1.1"]},
    {"code": "1.1", "label": "Số hồ sơ đã giải quyết", "unit": "Hồ sơ", "kind": "count"},
    {"code": "1.2", "label": "Số hồ sơ đúng hạn", "unit": "Hồ sơ", "kind": "count"},
    {"code": "2", "label": "Số đơn thư", "unit": "Đơn", "kind": "count"},
]}]
MINI_REPORT = {
    "kind": "BÁO CÁO", "title": "Hồ sơ {period}", "number": "Số: /BC", "closing": "Hết./.",
    "sections": [{"heading": "KẾT QUẢ", "forms": [1]}],
    "areas": {1: {"heading": "Hồ sơ", "paragraphs": [
        ["Trong {period}, {scope} giải quyết {BM1-1.1} hồ sơ, đúng hạn {BM1-1.2} (đạt {BM1-1}).",
         {"text": "Số liệu của {BM1-1.1:units}.", "for": "merged"},
         {"text": "Có {BM1-2} đơn thư.", "if_missing": "skip"},
         {"text": "Không nhận được số liệu đơn thư: [lý do…].", "for": "own"}],
        [{"text": "Chưa báo cáo: {missing_units}.", "if_missing": "skip"}],
    ]}},
}


def mini_data(report=None) -> dict:
    data = {k: copy.deepcopy(v) for k, v in BUNDLED.items() if k not in ("forms", "rules", "charts", "report")}
    data["forms"] = copy.deepcopy(MINI_FORMS)
    data["report"] = copy.deepcopy(report if report is not None else MINI_REPORT)
    return data


ROSTER = """ma_don_vi,ten_don_vi,cap,don_vi_cha
H1,Huyện Phù Mỹ,huyen,
X1,Xã Mỹ An,xa,H1
X2,Xã Mỹ Thọ,xa,H1
X3,Xã Mỹ Đức,xa,H1
"""


@dataclass
class FakeReport:
    path: Path
    unit: dict
    values: dict
    status: str = "ok"
    period: str | None = "2023-Q2"
    issues: list = field(default_factory=list)
    sha256: str = ""
    saved_at: object = None
    reported_levels: frozenset | None = None
    merged_units: int | None = None


def merged(spec, tmp_path, values_by_unit: dict):
    roster_file = tmp_path / "roster.csv"
    roster_file.write_text(ROSTER, encoding="utf-8")
    reports = [FakeReport(Path(f"/returns/{code}.xlsx"), {"code": code, "name": code, "level": "xa"}, values,
                          sha256=code) for code, values in values_by_unit.items()]
    return merge_reports(reports, spec, roster=load_roster(roster_file), period="2023-Q2", unit_code="H1")


def test_the_bundled_spec_has_a_report_with_every_area():
    text = load_spec().report
    assert [s.heading for s in text.sections][:2] == ["CÔNG TÁC CHỈ ĐẠO, ĐIỀU HÀNH CẢI CÁCH HÀNH CHÍNH",
                                                     "KẾT QUẢ THỰC HIỆN CÔNG TÁC CẢI CÁCH HÀNH CHÍNH"]
    assert sorted(text.areas) == [1, 2, 3, 4, 5, 6, 7]
    placed = [n for s in text.sections for n in s.forms]
    assert sorted(placed) == [1, 2, 3, 4, 5, 6, 7]
    first = text.areas[3][1][2][0].text
    assert Field("BM3-3.1.1") in first.fields and Field("BM3-3.1") in first.fields


def test_templates_are_split_into_literals_fields_and_gaps():
    spec = parse_spec(mini_data(), source="mini.yaml")
    sentences = spec.report.areas[1][1][0]
    assert sentences[0].text.parts[:4] == ("Trong ", Field("period"), ", ", Field("scope"))
    assert sentences[1].text.fields == (Field("BM1-1.1", "units"),)
    assert sentences[1].audience == "merged" and sentences[2].if_missing == "skip"
    assert Gap("[lý do…]") in sentences[3].text.parts


@pytest.mark.parametrize("text, key, what", [
    ("Có {BM1-9} hồ sơ.", "report.areas.1.paragraphs[0][0]", "dòng BM1-9 không có trong biểu mẫu"),
    ("Trong {quarter}.", "report.areas.1.paragraphs[0][0]", "trường {quarter} không tồn tại"),
    ("Đạt {BM1-1.1:min}.", "report.areas.1.paragraphs[0][0]", "không có min"),
    ("Đạt {BM1-1.1:sum}.", "report.areas.1.paragraphs[0][0]", "không hiểu 'sum'"),
    ("Đạt {BM1-1.1.", "report.areas.1.paragraphs[0][0]", "dấu ngoặc nhọn không khớp"),
])
def test_an_unknown_field_is_refused_naming_the_file_and_the_key(text, key, what):
    report = copy.deepcopy(MINI_REPORT)
    report["areas"][1]["paragraphs"][0][0] = text
    with pytest.raises(SpecError) as e:
        parse_spec(mini_data(report), source="mini.yaml")
    assert str(e.value).startswith(f"mini.yaml: {key}: ")
    assert what in str(e.value)


def test_the_bundled_spec_file_refuses_an_unknown_row_when_loaded(tmp_path):
    data = copy.deepcopy(BUNDLED)
    data["report"]["areas"][3]["paragraphs"][2][0] = "Đã giải quyết {BM3-3.1.9} hồ sơ."
    path = tmp_path / "hong.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(SpecError, match=r"^hong\.yaml: report\.areas\.3\.paragraphs\[2\]\[0\]: .*BM3-3\.1\.9"):
        load_spec(path)


@pytest.mark.parametrize("change, key", [
    (lambda r: r["sections"][0].update(forms=[2]), "report.sections[0].forms"),
    (lambda r: r["areas"].update({9: {"heading": "X", "paragraphs": []}}), "report.areas.9"),
    (lambda r: r["areas"][1]["paragraphs"][0][1].update({"for": "everyone"}),
     "report.areas.1.paragraphs[0][1].for"),
    (lambda r: r["areas"][1]["paragraphs"][0][2].update(only_if="BM1-7"), "report.areas.1.paragraphs[0][2].only_if"),
    (lambda r: r.update(recipients={"lang": ["X;"]}), "report.recipients.lang"),
    (lambda r: r.pop("title"), "report.title"),
])
def test_a_broken_report_key_is_refused_naming_the_key(change, key):
    report = copy.deepcopy(MINI_REPORT)
    change(report)
    with pytest.raises(SpecError) as e:
        parse_spec(mini_data(report), source="mini.yaml")
    assert str(e.value).startswith(f"mini.yaml: {key}: ")


def test_a_spec_without_report_still_loads():
    data = mini_data()
    del data["report"]
    assert parse_spec(data, source="mini.yaml").report is None


def test_a_spec_with_other_rows_brings_its_own_sentences(tmp_path):
    spec = parse_spec(mini_data(), source="mini.yaml")
    result = merged(spec, tmp_path, {"X1": {"BM1-1.1": 1200, "BM1-1.2": 1187}, "X2": {"BM1-1.1": 434, "BM1-1.2": 430}})
    ctx = ReportContext(result)
    area = spec.report.areas[1][1]
    assert plain(paragraph(area[0], ctx)) == (
        "Trong quý II/2023, toàn huyện giải quyết 1.634 hồ sơ, đúng hạn 1.617 (đạt 98,96%). "
        "Số liệu của 2/3 đơn vị.")  # no unit gave BM1-2: its sentence is skipped; `own` is not for a merge
    assert plain(paragraph(area[1], ctx)) == "Chưa báo cáo: Xã Mỹ Đức."


def test_a_missing_value_is_a_highlighted_gap(tmp_path):
    report = copy.deepcopy(MINI_REPORT)
    report["areas"][1]["paragraphs"] = [["Có {BM1-2} đơn thư, {BM1-1.1} hồ sơ."]]
    spec = parse_spec(mini_data(report), source="mini.yaml")
    result = merged(spec, tmp_path, {"X1": {"BM1-1.1": 5}})
    segments = paragraph(spec.report.areas[1][1][0], ReportContext(result))
    assert segments == [("Có ", False), ("[…]", True), (" đơn thư, 5 hồ sơ.", False)]


def test_vietnamese_numbers():
    assert vn_number(16634) == "16.634"
    assert vn_number(13692.3) == "13.692,3"
    assert vn_number(98.6748, percent=True) == "98,67%"
    assert vn_number(100.0, percent=True) == "100%"
