"""The form spec: the bundled Công văn 371 forms, and a broken spec rejected with the file and row named."""

import copy
import unicodedata

import pytest
import yaml

from cchc_excel.errors import SpecError
from cchc_excel.spec.loader import FORMS_DIR, available_specs, load_spec, parse_spec

SEED_ROWS = {  # rows per form in the seed's Phụ lục I
    1: 19, 2: 13, 3: 19, 4: 13, 5: 15, 6: 12, 7: 27,
}


@pytest.fixture(scope="module")
def spec():
    return load_spec()


@pytest.fixture
def raw():
    return yaml.safe_load((FORMS_DIR / "cv371-2022.yaml").read_text(encoding="utf-8"))


def test_bundled_spec_has_all_118_rows_in_order(spec):
    assert "cv371-2022" in available_specs()
    assert len(spec.indicators) == 118
    assert {f.number: len(f.indicators) for f in spec.forms} == SEED_ROWS
    assert [i.code for i in spec.form(1).indicators][:5] == ["1", "2", "2.1", "2.2", "3"]
    assert list(spec.indicators)[-1] == "BM7-2.5.2"


def test_labels_units_and_notes_as_printed(spec):
    ind = spec["BM1-1"]
    assert ind.label == "Số văn bản chỉ đạo CCHC đã ban hành"
    assert ind.note == "(Kết luận, chỉ thị, công văn chỉ đạo, quán triệt)"
    assert ind.unit == "Văn bản"
    assert spec["BM2-1"].label == "Tổng số VBQPPL¹ đã ban hành/tham mưu ban hành"
    assert spec.form(2).footnote == "¹ Văn bản quy phạm pháp luật."
    assert spec.form(7).title == "Xây dựng và phát triển Chính quyền điện tử, Chính quyền số"
    for ind in spec.indicators.values():
        assert unicodedata.is_normalized("NFC", ind.label)


def test_seed_labels_all_appear_in_the_seed_text(spec, seed_file):
    text = unicodedata.normalize("NFC", seed_file.read_text(encoding="utf-8")).replace("<i>", "").replace("</i>", "")
    for ind in spec.indicators.values():
        assert ind.label in text, ind.id
        if ind.note:
            assert ind.note in text, ind.id


@pytest.mark.parametrize(
    "ind_id, kind",
    [
        ("BM1-3", "header"), ("BM1-1", "count"), ("BM6-1.1", "amount"), ("BM3-3.1", "ratio"),
        ("BM4-2.5", "rate"), ("BM7-1.2.3", "rate"), ("BM1-5", "flag"), ("BM1-5.2", "choice"),
    ],
)
def test_kinds(spec, ind_id, kind):
    assert spec[ind_id].kind == kind


def test_ratios_choices_levels_and_aggregation(spec):
    assert (spec["BM3-3.1"].numerator, spec["BM3-3.1"].denominator) == ("BM3-3.1.2", "BM3-3.1.1")
    assert spec["BM1-5.2"].choices == ((0, "Trực tuyến"), (1, "Phát phiếu"), (2, "Kết hợp"))
    assert spec["BM2-1.2"].levels == {"huyen"}
    assert spec["BM3-1.4.3"].concerns("xa") and not spec["BM3-1.4.3"].concerns("huyen")
    assert spec["BM3-1.4"].units == "max" and spec["BM3-3.1.1"].units == "sum"
    assert spec["BM4-2.2"].time == "stock" and spec["BM3-3.1.1"].time == "flow"
    assert spec["BM7-1.2.3"].unit == ""  # printed blank in the seed
    assert spec["BM3-3.1.1"].parent == "BM3-3.1"
    assert spec["BM3-3.1"].children == ("BM3-3.1.1", "BM3-3.1.2")
    assert len([i for i in spec.indicators.values() if i.kind == "ratio"]) == 12


def test_rules_reference_known_rows(spec):
    ids = {r.id for r in spec.rules}
    assert {"BM1-R1", "BM3-R1", "BM6-R3", "BM7-R5", "BM1-R4"} <= ids
    r = next(r for r in spec.rules if r.id == "BM1-R4")
    assert (r.kind, r.when, r.equals, r.rows) == ("blank_if", "BM1-5", 0, ("BM1-5.1", "BM1-5.2"))


def test_fingerprint_stable_and_structural(spec, raw):
    assert spec.fingerprint == parse_spec(copy.deepcopy(raw)).fingerprint
    raw["forms"][0]["rows"][0]["kind"] = "amount"
    assert parse_spec(raw).fingerprint != spec.fingerprint


def _mutate(raw, fn):
    data = copy.deepcopy(raw)
    fn(data)
    return data


BROKEN = [
    ("duplicate code", lambda d: d["forms"][0]["rows"].append(dict(d["forms"][0]["rows"][0])),
     "BM1-1: mã dòng bị trùng"),
    ("unknown kind", lambda d: d["forms"][0]["rows"][0].update(kind="số"),
     "Biểu mẫu 1, dòng 1: loại 'số' không hợp lệ"),
    ("missing parent", lambda d: d["forms"][1]["rows"].append({"code": "9.1", "label": "x", "kind": "count"}),
     "BM2-9.1: không có dòng cha BM2-9"),
    ("missing denominator", lambda d: d["forms"][2]["rows"][13].update(of=["3.1.2", "3.1.9"]),
     "BM3-3.1: tử số/mẫu số BM3-3.1.9 không tồn tại"),
    ("rule on unknown row", lambda d: d["rules"][0].update(left=["BM1-9.9"]),
     "quy tắc BM1-R1: dòng BM1-9.9 không tồn tại"),
    ("rule on a header", lambda d: d["rules"][0].update(right=["BM1-3"]),
     "quy tắc BM1-R1: dòng BM1-3 là dòng tiêu đề"),
    ("bad code", lambda d: d["forms"][0]["rows"][0].update(code="1a"),
     "mã STT '1a' không hợp lệ"),
    ("flag without choices", lambda d: d["forms"][0]["rows"][15].pop("choices"),
     "Biểu mẫu 1, dòng 5: dòng Có/Không hoặc lựa chọn phải có danh sách choices"),
    ("unknown rule kind", lambda d: d["rules"][0].update(kind="lt"), "loại quy tắc 'lt' không hợp lệ"),
    ("bad severity", lambda d: d["rules"][0].update(severity="fatal"), "mức độ 'fatal' không hợp lệ"),
    ("missing check message", lambda d: d["checks"].pop("ratio"), "checks.ratio"),
    # YAML reads an unquoted 3.10 as the number 3.1: codes are strings, never floats
    ("unquoted code", lambda d: d["forms"][2]["rows"][0].update(code=1.10),
     "Biểu mẫu 3, dòng 1.1: mã STT 1.1 phải viết trong dấu ngoặc kép"),
    ("unquoted ratio operand", lambda d: d["forms"][2]["rows"][13].update(of=[3.12, "3.1.1"]),
     "Biểu mẫu 3, dòng 3.1: mã STT 3.12 phải viết trong dấu ngoặc kép"),
    # wrong shapes are errors naming the place, not crashes
    ("choices as a list", lambda d: d["forms"][0]["rows"][15].update(choices=["Có", "Không"]),
     "Biểu mẫu 1, dòng 5: choices phải có dạng mã số: tên"),
    ("choices keyed by text", lambda d: d["forms"][0]["rows"][15].update(choices={"Có": 1, "Không": 0}),
     "Biểu mẫu 1, dòng 5: choices phải có dạng mã số: tên"),
    ("row not a mapping", lambda d: d["forms"][0]["rows"].append("7. Số văn bản"),
     "Biểu mẫu 1, dòng thứ 20: phải là một bảng (mapping)"),
    ("form not a mapping", lambda d: d["forms"].append("Biểu mẫu 8"), "forms, mục thứ 8: phải là một bảng"),
    ("forms not a list", lambda d: d.update(forms={"number": 1}), "forms: phải là một danh sách"),
    ("no form", lambda d: d.update(forms=[]), "forms: không có biểu mẫu nào"),
    ("level not a mapping", lambda d: d["levels"].update(xa="UBND cấp xã"), "levels.xa: phải là một bảng"),
    ("rule not a mapping", lambda d: d["rules"].append("BM1-2.2 <= BM1-2.1"), "rules, mục thứ 29: phải là một bảng"),
    ("rule side not a list", lambda d: d["rules"][0].update(left="BM1-2.2"),
     "quy tắc BM1-R1: left: phải là một danh sách"),
    ("check not a mapping", lambda d: d["checks"].update(ratio="lỗi"), "checks.ratio: phải là một bảng"),
    ("equals not a number", lambda d: d["rules"][3].update(equals="không"),
     "quy tắc BM1-R4: equals phải là một số (nhận được 'không')"),
    ("cut-off day as text", lambda d: d["periods"].update(cutoff_day="mười bốn"),
     "periods.cutoff_day: phải là một ngày trong tháng, từ 1 đến 29"),
    ("deadline past the month", lambda d: d["periods"].update(deadline_day=31),
     "periods.deadline_day: phải là một ngày trong tháng, từ 1 đến 30 (nhận được 31)"),
]


@pytest.mark.parametrize("name, mutate, expected", BROKEN, ids=[b[0] for b in BROKEN])
def test_broken_spec_names_file_and_row(raw, name, mutate, expected):
    with pytest.raises(SpecError) as e:
        parse_spec(_mutate(raw, mutate), source="hong.yaml")
    assert str(e.value).startswith("hong.yaml: ")
    assert expected in str(e.value)


def test_broken_yaml_file_named(tmp_path):
    bad = tmp_path / "bieu-mau-loi.yaml"
    bad.write_text("id: x\nforms: [\n", encoding="utf-8")
    with pytest.raises(SpecError, match="bieu-mau-loi.yaml: tệp YAML không hợp lệ"):
        load_spec(bad)


def test_unknown_spec_id_lists_the_known_ones():
    with pytest.raises(SpecError, match="cv371-2022"):
        load_spec("khong-co")


def test_a_small_spec_of_its_own():
    small = parse_spec({
        "id": "mini", "version": "1",
        "checks": yaml.safe_load((FORMS_DIR / "cv371-2022.yaml").read_text(encoding="utf-8"))["checks"],
        "forms": [
            {"number": 1, "title": "Thử", "rows": [
                {"code": "1", "label": "Tỷ lệ", "unit": "%", "kind": "ratio", "of": ["1.2", "1.1"]},
                {"code": "1.1", "label": "Tổng", "unit": "Hồ sơ", "kind": "count"},
                {"code": "1.2", "label": "Đúng hạn", "unit": "Hồ sơ", "kind": "count"},
            ]},
            {"number": 2, "title": "Khác", "rows": [{"code": "1", "label": "Có không", "unit": "Có = 1",
                                                     "kind": "flag", "choices": {1: "Có", 0: "Không"}}]},
        ],
    })
    assert list(small.indicators) == ["BM1-1", "BM1-1.1", "BM1-1.2", "BM2-1"]
    assert small.rules == ()
