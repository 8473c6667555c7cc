"""Tests of cchc_excel.check.rules: one test per check and rule kind, on Submissions built in the test."""

import re
import unicodedata
from pathlib import Path

import pytest

from cchc_excel.check.report import FileReport, Issue, Report
from cchc_excel.core.roster import Unit
from cchc_excel.check.rules import check_submission, derive_values, format_number, indicator_label
from cchc_excel.spec.loader import load_spec
from cchc_excel.read.submission import CellRef, Submission
from cchc_excel.core.values import parse_value

SPEC = load_spec()

# Phụ lục I of the seed: UBND phường Tam Quan Bắc, Q2/2023, every row it filled (test_seed_values_match
# re-reads them from the seed when the file is there). "02" contracts read as 2.
SEED = {
    "BM1-1": 6, "BM1-2": 48, "BM1-2.1": 25, "BM1-2.2": 12, "BM1-5": 1, "BM1-5.1": 10, "BM1-5.2": 0,
    "BM1-6": 1,
    "BM2-1.3": 0,
    "BM3-1.4": 157, "BM3-1.4.3": 157, "BM3-3.1": 100, "BM3-3.1.1": 369, "BM3-3.1.2": 369, "BM3-3.2": 0,
    "BM3-3.2.1": 0, "BM3-3.2.2": 0,
    "BM4-1.1": 1, "BM4-2.1": 0, "BM4-2.2": 20, "BM4-2.3": 2, "BM4-2.4": 0, "BM4-3.1": 42, "BM4-3.2": 42,
    "BM4-3.3": 0, "BM4-3.4": 0,
    "BM7-1.1": 100, "BM7-1.1.3": 100, "BM7-1.2.3": 100, "BM7-2.4.1": 399, "BM7-2.4.2": 399,
}


def cell_of(ind_id):
    """The made-up layout of these tests: row 7 onward in column D of each form's sheet."""
    ind = SPEC[ind_id]
    return CellRef(f"Biểu mẫu {ind.form}", f"D{7 + SPEC.form(ind.form).indicators.index(ind)}")


CELLS = {ind_id: cell_of(ind_id) for ind_id in SPEC.indicators}


def make_sub(values=None, *, level="xa", texts=None, formulas=(), template=None, reported_levels=None):
    vals = {ind.id: None for ind in SPEC.value_indicators}
    vals.update(values or {})
    if reported_levels is None:
        reported_levels = SPEC.reported_levels(level) if level else frozenset()
    return Submission(
        path=Path("tam-quan-bac.xlsx"), spec=SPEC, level=level, reported_levels=frozenset(reported_levels),
        unit=Unit("HN-TQB", "UBND phường Tam Quan Bắc", "xa") if level == "xa" else None,
        values=vals, texts=dict(texts or {}), formulas=set(formulas), cells=dict(CELLS), template=template,
    )


def found(values=None, **kw):
    """(severity, rule, indicator) of every finding."""
    return [(i.severity, i.rule, i.indicator) for i in check_submission(make_sub(values, **kw))]


def only(values=None, **kw) -> Issue:
    issues = check_submission(make_sub(values, **kw))
    assert len(issues) == 1, issues
    return issues[0]


# --------------------------------------------------------------------------------------------- the seed

def test_seed_values_match_the_seed_text(seed_file):
    text = seed_file.read_text(encoding="utf-8")
    appendix = text[text.index("Phụ lục I\n"):]
    values, form = {}, None
    for line in appendix.splitlines():
        m = re.match(r"\**Biểu mẫu (\d)", line)
        if m:
            form = int(m.group(1))
            continue
        cols = line.split("\t")
        if form and re.fullmatch(r"\d+(\.\d+)*\.", cols[0]) and len(cols) > 3 and cols[3].strip():
            ind_id = f"BM{form}-{cols[0].rstrip('.')}"
            values[ind_id] = parse_value(cols[3], SPEC[ind_id].kind).value
    assert values == SEED


def test_seed_ward_has_no_error_and_exactly_the_honest_warnings():
    assert found(SEED) == [
        ("warning", "BM4-R1", "BM4-2.2"),  # 20 staff present, 0 assigned
        ("warning", "parent-blank", "BM7-1.2"),  # 1.2 blank, 1.2.3 = 100
    ]


def test_seed_messages():
    first, second = check_submission(make_sub(SEED))
    assert first.sheet == "Biểu mẫu 4" and first.cell == CELLS["BM4-2.2"].cell
    assert first.message == ("Tổng số biên chế có mặt tại thời điểm báo cáo (20) lớn hơn "
                             "Tổng số biên chế được giao trong năm (0); hãy kiểm tra lại.")
    assert second.message == ("Tỷ lệ hồ sơ công việc được xử lý trên môi trường mạng để trống trong khi "
                              "các chỉ tiêu chi tiết của nó đã có số liệu.")


def test_derive_values_of_the_seed():
    values = derive_values(make_sub(SEED))
    assert list(values) == [ind.id for ind in SPEC.value_indicators]  # every non-header row, in order
    assert "BM1-3" not in values  # a header
    assert values["BM1-2"] == 48  # 12 / 25, an int
    assert values["BM3-3.1"] == 100
    assert values["BM3-3.2"] is None  # 0 / 0: no ratio
    assert values["BM7-2.4"] == 100  # blank in the seed, recomputed from 399 / 399
    assert values["BM7-2.1"] is None  # operands blank
    assert values["BM4-2.3"] == 2
    assert values["BM1-3.1"] is None  # blank is not zero


def test_derive_values_recomputes_whatever_the_file_showed():
    values = derive_values(make_sub({"BM1-2": 99, "BM1-2.1": 3, "BM1-2.2": 1}))
    assert values["BM1-2"] == round(100 / 3, 2)  # 33.33: rounded as the template's ROUND(..., 2) shows it


# --------------------------------------------------------------------------------------------- checks

def test_not_number():
    issue = only(texts={"BM1-1": "khoảng 20"})
    assert (issue.severity, issue.rule, issue.indicator) == ("error", "not-number", "BM1-1")
    assert issue.message == ('Số văn bản chỉ đạo CCHC đã ban hành: "khoảng 20" không phải là số.')
    assert (issue.sheet, issue.cell) == ("Biểu mẫu 1", "D7")


def test_negative():
    issue = only({"BM6-1.1": -1500.5})
    assert (issue.rule, issue.indicator) == ("negative", "BM6-1.1")
    assert "(-1.500,5)" in issue.message


def test_not_whole():
    issue = only({"BM3-3.1.1": 2.5, "BM3-3.1.2": 2})
    assert (issue.severity, issue.rule, issue.indicator) == ("error", "not-whole", "BM3-3.1.1")
    assert issue.message == "Tổng số hồ sơ TTHC đã giải quyết xong (2,5) phải là số nguyên (đơn vị: Hồ sơ)."


def test_amounts_may_have_decimals():
    assert found({"BM6-1.1": 16.2, "BM6-1.2": 10}) == []


def test_percent_range():
    assert found({"BM7-1.1": 120}) == [("error", "percent-range", "BM7-1.1")]
    assert found({"BM4-2.5": -5}) == [("error", "percent-range", "BM4-2.5")]
    assert found({"BM4-2.5": 12.5, "BM7-1.1": 0}) == []


def test_not_choice():
    assert found({"BM1-5": 1, "BM1-5.2": 3}) == [("error", "not-choice", "BM1-5.2")]
    assert found({"BM1-6": 2}) == [("error", "not-choice", "BM1-6")]
    assert found({"BM1-6": 0.5}) == [("error", "not-choice", "BM1-6")]
    issue = only({"BM1-5": 1, "BM1-5.2": 3})
    assert issue.message.endswith("(3) không phải là một giá trị được phép: "
                                  "0 = Trực tuyến, 1 = Phát phiếu, 2 = Kết hợp.")
    assert issue.message.startswith("Khảo sát sự hài lòng của người dân, tổ chức – Hình thức khảo sát")


def test_wrong_level():
    issue = only({"BM1-3.2": 4})  # "Số UBND cấp xã đã kiểm tra" is a district row
    assert (issue.severity, issue.rule, issue.indicator) == ("warning", "wrong-level", "BM1-3.2")
    assert issue.message == ("Số UBND cấp xã đã kiểm tra (4) không thuộc báo cáo của UBND cấp xã; "
                             "số liệu này sẽ không được tổng hợp.")
    assert found({"BM1-3.2": 4}, level="huyen") == []
    assert found({"BM1-3.2": 4}, level=None) == []  # unknown level: skipped
    # a merged district report covers its own rows and its communes'
    assert found({"BM1-3.2": 4, "BM2-1": 2, "BM2-1.3": 2}, level="huyen", reported_levels={"huyen", "xa"}) == []
    assert found({"BM2-1.3": 2}, level="huyen") == [("warning", "wrong-level", "BM2-1.3")]


def test_wrong_level_text_is_not_also_not_a_number():
    assert found(texts={"BM1-3.2": "hai"}) == [("warning", "wrong-level", "BM1-3.2")]


def test_ratio():
    issue = only({"BM3-3.1": 90, "BM3-3.1.1": 369, "BM3-3.1.2": 369})
    assert (issue.severity, issue.rule, issue.indicator) == ("error", "ratio", "BM3-3.1")
    assert issue.message == (
        "Tỷ lệ hồ sơ TTHC do các cơ quan, địa phương tiếp nhận được giải quyết đúng hạn ghi 90%, nhưng tính "
        "từ Số hồ sơ TTHC giải quyết đúng hạn (369) và Tổng số hồ sơ TTHC đã giải quyết xong (369) thì phải "
        "là 100%.")


@pytest.mark.parametrize("typed, ok", [(60.66, True), (61, True), (60, True), (61.6, True), (59, False),
                                       (62, False), (0.6066, False)])
def test_ratio_tolerates_rounding_to_a_whole_number(typed, ok):
    # 37 / 61 = 60.655...%: "chiếm 61%" is fine
    got = found({"BM1-2": typed, "BM1-2.1": 61, "BM1-2.2": 37})
    assert got == ([] if ok else [("error", "ratio", "BM1-2")])


def test_ratio_message_has_two_decimals():
    issue = only({"BM1-2": 50, "BM1-2.1": 61, "BM1-2.2": 37})
    assert "thì phải là 60,66%." in issue.message


def test_ratio_zero_over_zero_may_be_blank_or_zero():
    assert found({"BM3-3.2": 0, "BM3-3.2.1": 0, "BM3-3.2.2": 0}) == []
    assert found({"BM3-3.2.1": 0, "BM3-3.2.2": 0}) == []
    assert found({"BM3-3.2": 0}) == []


def test_ratio_no_denominator():
    assert found({"BM3-3.2": 100, "BM3-3.2.1": 0, "BM3-3.2.2": 0}) == [
        ("error", "ratio-no-denominator", "BM3-3.2")]
    issue = only({"BM1-2": 48})  # typed, but nothing to compute it from
    assert issue.rule == "ratio-no-denominator"
    assert issue.message == ("Tỷ lệ hoàn thành Kế hoạch CCHC năm ghi 48% nhưng Số nhiệm vụ đề ra trong kế hoạch "
                             "bằng 0 hoặc để trống; tỷ lệ phải để trống hoặc bằng 0.")


def test_ratio_no_numerator():
    issue = only({"BM1-2": 48, "BM1-2.1": 25})
    assert (issue.severity, issue.rule, issue.indicator) == ("warning", "ratio-no-numerator", "BM1-2")
    assert "Số nhiệm vụ đã hoàn thành" in issue.message and "{" not in issue.message


def test_ratio_that_overflows_is_not_recomputed():
    """1e300 over 1e-300: no infinity in `values` (JSON has none), no comparison with it."""
    values = {"BM1-2": 50, "BM1-2.1": 1e-300, "BM1-2.2": 1e300}
    assert derive_values(make_sub(values))["BM1-2"] is None
    assert ("error", "ratio", "BM1-2") not in found(values)


def test_ratio_blank_is_not_a_finding():
    assert found({"BM7-2.4.1": 399, "BM7-2.4.2": 399}) == []


def test_formula_overwritten():
    meta = {"generator": "cchc_excel 0.1.0", "spec_id": "cv371-2022"}
    values = {"BM1-2": 50, "BM1-2.1": 25, "BM1-2.2": 12}
    issue = only(values, template=meta)  # our template: the ratio cell lost its formula
    assert (issue.severity, issue.rule, issue.indicator) == ("error", "formula-overwritten", "BM1-2")
    assert issue.message == ("Tỷ lệ hoàn thành Kế hoạch CCHC năm: ô công thức đã bị ghi đè bằng số 50; "
                             "giá trị tính lại là 48.")
    assert found(values, template=meta, formulas={"BM1-2"}) == []  # formula intact: nothing typed
    assert found({**values, "BM1-2": 48}, template=meta) == []  # overwritten but agrees
    assert found(values) == [("error", "ratio", "BM1-2")]  # someone else's workbook: a contradiction


def test_formula_overwritten_is_as_grave_as_the_same_numbers_in_a_handmade_layout():
    """One contradiction, one severity: a typed ratio that disagrees is an error in our template too."""
    meta = {"generator": "cchc_excel 0.1.0", "spec_id": "cv371-2022"}
    values = {"BM3-3.1": 90, "BM3-3.1.1": 10, "BM3-3.1.2": 10}
    ours, theirs = only(values, template=meta), only(values)
    assert (ours.rule, theirs.rule) == ("formula-overwritten", "ratio")
    assert ours.severity == theirs.severity == "error"
    assert SPEC.checks["formula-overwritten"].severity == SPEC.checks["ratio"].severity


def test_parent_blank():
    assert found({"BM7-1.2.3": 100}) == [("warning", "parent-blank", "BM7-1.2")]
    assert found({"BM6-2.4.1": 2}) == [("warning", "parent-blank", "BM6-2.4")]
    assert found({"BM2-1.3": 0}) == []  # zero breakdowns under a blank total: nothing lost
    assert found({"BM7-2.4.1": 5, "BM7-2.4.2": 3}) == []  # a ratio parent is computed, never typed
    assert found({"BM1-2.1": 5}) == []  # ratio parent
    # a district leaves BM7-1.2 blank: the commune breakdown is not its row, so only wrong-level
    assert found({"BM7-1.2.3": 100}, level="huyen") == [("warning", "wrong-level", "BM7-1.2.3")]
    assert found({"BM7-1.2.2": 90}, level="huyen") == [("warning", "parent-blank", "BM7-1.2")]


# --------------------------------------------------------------------------------------------- rules

def test_le():
    issue = only({"BM3-3.1.1": 369, "BM3-3.1.2": 370, "BM3-3.1": 100})
    assert (issue.severity, issue.rule, issue.indicator) == ("error", "BM3-R5", "BM3-3.1.2")
    assert (issue.sheet, issue.cell) == (CELLS["BM3-3.1.2"].sheet, CELLS["BM3-3.1.2"].cell)
    assert issue.text() == (f"Biểu mẫu 3!{CELLS['BM3-3.1.2'].cell}: Số hồ sơ TTHC giải quyết đúng hạn (370) "
                            "lớn hơn Tổng số hồ sơ TTHC đã giải quyết xong (369).")
    assert found({"BM3-3.1.2": 370}) == []  # one side blank: not evaluated
    assert found({"BM3-3.1.1": 369, "BM3-3.1.2": 369}) == []


def test_le_with_a_sum_and_a_blank_part():
    # 4.2 + 4.3 + 4.4 <= 4.1; 4.3 blank: the known parts already exceed the whole
    issue = only({"BM1-4.1": 10, "BM1-4.2": 5, "BM1-4.4": 8})
    assert (issue.rule, issue.indicator) == ("BM1-R3", "BM1-4.2")
    assert issue.message == "Tổng 4.2 + 4.3 + 4.4 (13) lớn hơn Tổng số nhiệm vụ được giao (10)."
    assert found({"BM1-4.1": 10, "BM1-4.2": 5, "BM1-4.4": 5}) == []
    assert found({"BM1-4.2": 5, "BM1-4.4": 8}) == []  # the whole is blank


def test_le_is_not_decided_by_a_blank_on_the_larger_side():
    # BM7-R9: 2.1.1 <= BM3-1.4 (a single row); blank right side: not evaluated
    assert found({"BM7-2.1.1": 200}) == []


def test_eq_sum():
    assert found({"BM3-1.4": 150, "BM3-1.4.3": 157}) == [("error", "BM3-R1", "BM3-1.4")]
    issue = only({"BM3-1.4": 150, "BM3-1.4.3": 157})
    assert issue.message == ("Tổng số TTHC thuộc thẩm quyền giải quyết tại cơ quan, địa phương (150) khác tổng "
                             "các chỉ tiêu chi tiết 1.4.1 + 1.4.2 + 1.4.3 (157).")
    # a ward: 1.4.1 and 1.4.2 are not its rows, so their blanks count as 0
    assert found({"BM3-1.4": 157, "BM3-1.4.3": 157}) == []
    assert found({"BM3-1.4": 157}) == []  # no part filled: not evaluated


def test_eq_with_a_part_the_unit_should_have_filled_is_left_ge_known_parts():
    # unknown level: every part concerns the unit; 1.4.2 blank
    assert found({"BM3-1.4": 10, "BM3-1.4.1": 3, "BM3-1.4.3": 4}, level=None) == []
    assert found({"BM3-1.4": 5, "BM3-1.4.1": 3, "BM3-1.4.3": 4}, level=None) == [("error", "BM3-R1", "BM3-1.4")]
    # BM2-R1 for a ward: 1.1 and 1.2 are not its rows (0), 1.3 is
    assert found({"BM2-1": 3, "BM2-1.3": 2}) == [("error", "BM2-R1", "BM2-1")]
    assert found({"BM2-1": 2, "BM2-1.3": 2}) == []


def test_eq_cross_row():
    # BM7-2.3.1 = 2.1.2 + 2.2.2: level 3 and level 4 online procedures together
    assert found({"BM7-2.3.1": 20, "BM7-2.1.2": 12, "BM7-2.2.2": 8, "BM7-2.1.1": 12, "BM7-2.2.1": 8}) == []
    issue = only({"BM7-2.3.1": 25, "BM7-2.1.2": 12, "BM7-2.2.2": 8, "BM7-2.1.1": 12, "BM7-2.2.1": 8})
    assert (issue.rule, issue.indicator) == ("BM7-R5", "BM7-2.3.1")
    assert issue.message.endswith("khác tổng số TTHC đang cung cấp trực tuyến mức độ 3 và mức độ 4 (20).")


def test_ge():
    # BM6-2.4 >= 2.4.1 + 2.4.2 + 2.4.3 (the bands stop at 10%)
    assert found({"BM6-2.4": 3, "BM6-2.4.1": 2, "BM6-2.4.2": 2}) == [("error", "BM6-R3", "BM6-2.4")]
    assert found({"BM6-2.4": 5, "BM6-2.4.1": 2, "BM6-2.4.2": 2}) == []
    issue = only({"BM6-2.4": 3, "BM6-2.4.1": 2, "BM6-2.4.2": 2})
    assert issue.message == ("Số ĐVSN tự bảo đảm một phần chi thường xuyên (3) nhỏ hơn tổng các nhóm chi tiết "
                             "2.4.1 + 2.4.2 + 2.4.3 (4).")


def test_blank_if():
    issue = only({"BM1-5": 0, "BM1-5.1": 10})
    assert (issue.severity, issue.rule, issue.indicator) == ("error", "BM1-R4", "BM1-5.1")
    assert (issue.sheet, issue.cell) == (CELLS["BM1-5.1"].sheet, CELLS["BM1-5.1"].cell)
    assert issue.message == ("Khảo sát sự hài lòng của người dân, tổ chức ghi 0 (không khảo sát) nhưng "
                             "Số lượng phiếu khảo sát lại có số liệu (10).")
    assert found({"BM1-5": 0, "BM1-5.1": 0, "BM1-5.2": 0}) == []
    assert found({"BM1-5": 1, "BM1-5.1": 10}) == []
    assert found({"BM1-5": 0, "BM1-5.1": 3, "BM1-5.2": 2}) == [
        ("error", "BM1-R4", "BM1-5.1"), ("error", "BM1-R4", "BM1-5.2")]


def test_plausibility_is_a_warning():
    assert found({"BM4-3.1": 40, "BM4-3.2": 42}) == [("warning", "BM4-R2", "BM4-3.2")]


def test_amount_sums_tolerate_float_noise():
    assert found({"BM6-1.1": 0.3, "BM6-1.2": 0.1 + 0.2}) == []


def test_errors_come_first_and_every_message_is_filled():
    values = {"BM1-1": -1, "BM4-2.1": 1, "BM4-2.2": 5, "BM1-2": 10, "BM1-2.1": 10, "BM1-2.2": 20,
              "BM7-1.2.3": 100, "BM1-3.2": 1, "BM1-5": 0, "BM1-5.1": 2, "BM6-2.4": 1, "BM6-2.4.1": 2}
    issues = check_submission(make_sub(values, texts={"BM5-3": "?"}))
    severities = [i.severity for i in issues]
    assert severities == sorted(severities, key=["error", "warning", "info"].index)
    assert {i.rule for i in issues} >= {"negative", "BM4-R1", "BM1-R1", "ratio", "parent-blank",
                                        "wrong-level", "BM1-R4", "BM6-R3", "not-number"}
    for issue in issues:
        assert "{" not in issue.message and issue.message.endswith(".")
        assert unicodedata.is_normalized("NFC", issue.message)
        assert issue.sheet.startswith("Biểu mẫu ") and issue.cell


def test_every_rule_of_the_spec_can_fire():
    """Each rule of the spec, broken on purpose, is reported under its id."""
    for rule in SPEC.rules:
        if rule.kind == "blank_if":
            values = {rule.when: rule.equals, rule.rows[0]: 1}
        else:
            big, small = (5, 1) if rule.kind == "le" else (1, 5)  # le: left > right breaks it
            if rule.kind == "eq":
                big, small = 5, 1
            values = {i: big for i in rule.left} | {i: small for i in rule.right}
        rules = {i.rule for i in check_submission(make_sub(values, level="tinh"))}
        assert rule.id in rules, rule.id


# --------------------------------------------------------------------------------------------- text

@pytest.mark.parametrize("value, percent, text", [
    (1234, False, "1.234"), (1234567, False, "1.234.567"), (16.2, False, "16,2"), (1234.5, False, "1.234,5"),
    (60.6557, True, "60,66"), (100.0, True, "100"), (48, True, "48"), (0.5, True, "0,5"), (-3, False, "-3"),
    (None, False, "để trống"), (2.0, False, "2"), (0.1 + 0.2, False, "0,3"),
])
def test_format_number(value, percent, text):
    assert format_number(value, percent=percent) == text


def test_labels():
    assert indicator_label(SPEC, SPEC["BM7-1.2.3"]) == "Tỷ lệ hồ sơ công việc được xử lý trên môi trường mạng – Cấp xã"
    assert indicator_label(SPEC, SPEC["BM6-1.2"]) == "Tỷ lệ thực hiện Kế hoạch giải ngân vốn đầu tư công – Đã thực hiện"
    assert indicator_label(SPEC, SPEC["BM3-3.1.2"]) == "Số hồ sơ TTHC giải quyết đúng hạn"
    assert indicator_label(SPEC, SPEC["BM4-1.1"]) == SPEC["BM4-1.1"].label  # parent is a header


def test_unknown_placeholder_is_left_as_written():
    from cchc_excel.check.rules import fill
    assert fill("{label} ({nope})", {"label": "A"}) == "A ({nope})"
    assert fill("{label:%}", {"label": "A"}) == "{label:%}"


# --------------------------------------------------------------------------------------------- report

def _file_report(path, issues, status=None):
    from cchc_excel.check.report import status_of
    return FileReport(path=path, status=status or status_of(issues), unit={"code": "X", "name": "Y", "level": "xa"},
                      period="2023-Q2", spec="cv371-2022", values={"BM1-1": 6}, issues=issues)


def test_report_summary_flatten_and_exit_code():
    err = Issue("error", "BM3-R5", "BM3-3.1.2", "Biểu mẫu 3", "D21", "m")
    warn = Issue("warning", "BM4-R1", "BM4-2.2", "Biểu mẫu 4", "D11", "w")
    report = Report([_file_report("a.xlsx", []), _file_report("b.xlsx", [warn]),
                     _file_report("c.xlsx", [err, warn])])
    assert [f.status for f in report.files] == ["ok", "warnings", "errors"]
    assert report.exit_code == 1 and not report.valid
    assert report.flatten(["path", "rule", "location"]) == [
        ["b.xlsx", "BM4-R1", "Biểu mẫu 4!D11"], ["c.xlsx", "BM3-R5", "Biểu mẫu 3!D21"],
        ["c.xlsx", "BM4-R1", "Biểu mẫu 4!D11"]]
    summary = report.summary()
    assert summary == {"files": 3, "ok": 1, "warnings": 1, "errors": 1, "unreadable": 0,
                       "issues": {"error": 1, "warning": 2, "info": 0}, "valid": False}
    assert Report([_file_report("a.xlsx", []), _file_report("b.xlsx", [warn])]).exit_code == 0
    assert Report([]).exit_code == 0
    info = Issue("info", "read-conversion", "BM4-2.3", "Biểu mẫu 4", "D12", "Đã hiểu '02' là 2.")
    assert _file_report("e.xlsx", [info]).status == "ok"  # info is not a finding against the unit
    unreadable = _file_report("d.xls", [Issue("error", "unreadable", message="x")], status="unreadable")
    assert Report([unreadable]).exit_code == 1


def test_file_report_to_dict_shape():
    d = _file_report("a.xlsx", [Issue("warning", "BM4-R1", "BM4-2.2", "Biểu mẫu 4", "D11", "w")]).to_dict()
    assert list(d) == ["path", "status", "unit", "period", "spec", "values", "issues"]
    assert d["issues"] == [{"severity": "warning", "rule": "BM4-R1", "indicator": "BM4-2.2",
                            "sheet": "Biểu mẫu 4", "cell": "D11", "message": "w"}]
    with pytest.raises(ValueError):
        FileReport(path="a", status="fine")


def test_report_lines_errors_first():
    err = Issue("error", "BM3-R5", "BM3-3.1.2", "Biểu mẫu 3", "D21", "Số hồ sơ ... (370) lớn hơn ... (369).")
    warn = Issue("warning", "BM4-R1", "BM4-2.2", "Biểu mẫu 4", "D11", "w")
    lines = Report([_file_report("c.xlsx", [warn, err])]).lines()
    assert [kind for kind, _ in lines] == ["file", "error", "warning", "summary"]
    assert lines[0][1] == "c.xlsx — Y (X) — 2023-Q2 — Có lỗi"
    assert lines[1][1] == "  Lỗi        Biểu mẫu 3!D21  BM3-3.1.2  Số hồ sơ ... (370) lớn hơn ... (369)."
    assert lines[-1][1] == "Đã kiểm tra 1 tệp: 1 có lỗi (1 lỗi, 1 cảnh báo)."


# --------------------------------------------------------------------------------------------- the tree

def test_one_ratio_for_template_checks_and_totals():
    """37 of 61: the template's cached value, the checker's derived value and the merged total agree."""
    from cchc_excel.core.periods import parse_period
    from cchc_excel.merge.totals import Record, aggregate_units
    from cchc_excel.spec.expr import ratio
    from cchc_excel.template.forms import ratio_value

    values = {"BM1-2.1": 61, "BM1-2.2": 37}
    assert ratio(37, 61) == 60.66 and ratio(12, 25) == 48 and isinstance(ratio(12, 25), int)
    assert ratio(1, 0) is None and ratio(None, 5) is None and ratio(1e300, 1e-300) is None
    assert ratio_value(values, SPEC["BM1-2"]) == derive_values(make_sub(values))["BM1-2"] == 60.66
    total = aggregate_units([Record("a", parse_period("2023-Q2"), values, "xa")], SPEC)["BM1-2"]
    assert total.value == 60.66


def test_expression_tree_renders_and_evaluates_the_same_comparison():
    from cchc_excel.spec.expr import EPS, AllOf, Compare, Count, Gap, IsNumber, Ratio, Sum, Value

    a, b, c = Value("a"), Value("b"), Value("c")
    over = Compare(">", Sum((a, b)), Sum((c,)), EPS)
    ref = {"a": "D1", "b": "D2", "c": "D3"}.get
    assert over.xl(ref) == "SUM(D1,D2)-SUM(D3)>0.000001"
    assert over.ev({"a": 2, "b": None, "c": 1.5}) and not over.ev({"a": 1, "b": "x", "c": 1})
    test = AllOf((Compare(">", Count((a, b)), 0), Compare(">=", Gap(c, Ratio(a, b)), 1)))
    assert test.xl(ref) == ('AND(COUNT(D1,D2)>0,ABS(D3-IF(AND(ISNUMBER(D1),ISNUMBER(D2)),'
                            'IF(D2=0,"",ROUND(D1/D2*100,2)),""))>=1)')
    assert test.ev({"a": 1, "b": 4, "c": 24}) and not test.ev({"a": 1, "b": 4, "c": 25.5})
    assert not test.ev({"a": 1, "b": 0, "c": 50})  # no ratio over 0: nothing to compare with
    assert IsNumber(Ratio(a, b)).ev({"a": 1, "b": 3})


def test_skipping_blank_rows_finds_what_every_tree_finds():
    """The engine skips conditions whose rows are all blank; evaluating every tree finds the same."""
    import random

    from cchc_excel.spec.conditions import conditions

    rng = random.Random(7)
    levels = SPEC.reported_levels("xa")
    trees = conditions(SPEC, lambda ind: not ind.levels.isdisjoint(levels))
    ids = [ind.id for ind in SPEC.value_indicators]
    for _ in range(200):
        values = {i: rng.choice([0, 1, 2, 5, 50, 120, -1, 2.5]) for i in ids if rng.random() < 0.3}
        texts = {i: "x" for i in ids if i not in values and rng.random() < 0.05}
        cells = {**values, **texts}
        every = {(c.id, c.row) for c in trees if c.test.ev(cells)}
        engine = {(i.rule, i.indicator) for i in check_submission(make_sub(values, texts=texts))}
        assert engine == every, cells
