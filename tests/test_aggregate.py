"""Totals over units and over time, from records built in the test (no files)."""

import math
from pathlib import Path

import pytest
import yaml

from cchc_excel.merge.totals import (Record, aggregate_units, choose_pieces, recompute_ratios, roll_up,
                                  total_note, value_frame)
from cchc_excel.core.periods import parse_period
from cchc_excel.spec.loader import load_spec, parse_spec

SPEC = load_spec()
NO_COMBINE = parse_spec(yaml.safe_load(  # the forms without BM1-5.2's combining rule
    Path(SPEC.origin).read_text(encoding="utf-8").replace(", combine: {2: [0, 1]}", "")))
Q2 = parse_period("2023-Q2")
XA = frozenset({"xa"})


def rec(unit, values, period=Q2, level="xa", levels=XA, weight=1):
    return Record(unit, parse_period(period), values, level, levels, weight, f"{unit}.xlsx")


def test_counts_and_amounts_sum_and_say_how_many_units():
    totals = aggregate_units([
        rec("a", {"BM3-3.1.1": 10, "BM6-1.1": 1.5}),
        rec("b", {"BM3-3.1.1": 32, "BM6-1.1": 2.25}),
        rec("c", {"BM3-3.1.1": None}),
    ], SPEC)
    assert totals["BM3-3.1.1"].to_dict() == {"value": 42, "units": 2}
    assert isinstance(totals["BM3-3.1.1"].value, int)
    assert totals["BM6-1.1"].value == pytest.approx(3.75)


def test_blank_stays_blank_never_zero():
    totals = aggregate_units([rec("a", {}), rec("b", {"BM1-1": None})], SPEC)
    assert totals["BM1-1"].value is None and totals["BM1-1"].units == 0
    assert totals["BM3-3.1"].value is None
    assert totals["BM1-5"].report_value is None
    assert total_note(totals["BM1-1"], SPEC["BM1-1"]) == "Không có đơn vị nào báo cáo"
    # A real zero is a zero, and counts a unit.
    totals = aggregate_units([rec("a", {"BM1-1": 0}), rec("b", {})], SPEC)
    assert totals["BM1-1"].to_dict() == {"value": 0, "units": 1}


def test_procedures_of_a_shared_catalogue_take_the_maximum():
    totals = aggregate_units([
        rec("a", {"BM3-1.4": 157, "BM3-1.4.3": 157, "BM7-2.1.1": 120}),
        rec("b", {"BM3-1.4": 150, "BM3-1.4.3": 150, "BM7-2.1.1": 118}),
        rec("c", {"BM3-1.4": 157, "BM3-1.4.3": 157}),
    ], SPEC)
    assert totals["BM3-1.4"].to_dict() == {"value": 157, "units": 3}  # not 464
    assert totals["BM7-2.1.1"].value == 120


def test_maximum_per_level_then_added_across_levels():
    # A district's own return and its wards': the district's catalogue plus the wards' catalogue.
    totals = aggregate_units([
        rec("h", {"BM3-1.4": 300, "BM3-1.4.2": 300}, level="huyen", levels=frozenset({"huyen"})),
        rec("a", {"BM3-1.4": 157, "BM3-1.4.3": 157}),
        rec("b", {"BM3-1.4": 150, "BM3-1.4.3": 150}),
    ], SPEC)
    assert totals["BM3-1.4.2"].value == 300 and totals["BM3-1.4.3"].value == 157
    assert totals["BM3-1.4"].value == 457  # = 1.4.2 + 1.4.3, so BM3-R1 still holds


def test_a_rule_between_maxima_still_holds_in_the_totals():
    # BM7-2.3.1 = 2.1.2 + 2.2.2 holds in each ward; the maxima are 90, 40 and 120: 120 != 130.
    totals = aggregate_units([
        rec("a", {"BM7-2.1.2": 80, "BM7-2.2.2": 40, "BM7-2.3.1": 120, "BM7-2.3.2": 100}),
        rec("b", {"BM7-2.1.2": 90, "BM7-2.2.2": 20, "BM7-2.3.1": 110, "BM7-2.3.2": 110}),
    ], SPEC)
    assert totals["BM7-2.3.1"].value == 130 and totals["BM7-2.3.1"].units == 2
    assert totals["BM7-2.3"].value == round(100 * 110 / 130, 2)  # its ratio follows, rounded as the template shows it


def test_ratio_recomputed_from_totals_not_averaged():
    totals = aggregate_units([
        rec("a", {"BM3-3.1.1": 10, "BM3-3.1.2": 10, "BM3-3.1": 100}),
        rec("b", {"BM3-3.1.1": 90, "BM3-3.1.2": 45, "BM3-3.1": 50}),
    ], SPEC)
    assert totals["BM3-3.1"].value == pytest.approx(55.0)  # 55/100, not (100 + 50) / 2 = 75
    assert totals["BM3-3.1"].units == 2


def test_ratio_over_zero_denominator_is_blank():
    totals = aggregate_units([rec("a", {"BM3-3.2.1": 0, "BM3-3.2.2": 0})], SPEC)
    assert totals["BM3-3.2"].value is None and totals["BM3-3.2"].units == 1


def test_rate_is_the_mean_with_n_min_max():
    totals = aggregate_units([
        rec("a", {"BM7-1.1": 80}), rec("b", {"BM7-1.1": 95.5}), rec("c", {"BM7-1.1": 100}), rec("d", {}),
    ], SPEC)
    t = totals["BM7-1.1"]
    assert t.to_dict() == {"value": 91.8333, "units": 3, "n": 3, "min": 80, "max": 100}
    assert t.report_value == pytest.approx(91.8333, abs=1e-3)
    assert total_note(t, SPEC["BM7-1.1"]) == "Trung bình của 3 đơn vị; thấp nhất 80%, cao nhất 100%"


def test_rate_note_writes_decimals_the_vietnamese_way():
    totals = aggregate_units([rec("a", {"BM7-1.1": 60.655}), rec("b", {"BM7-1.1": 99.5})], SPEC)
    assert total_note(totals["BM7-1.1"], SPEC["BM7-1.1"]) == \
        "Trung bình của 2 đơn vị; thấp nhất 60,66%, cao nhất 99,5%"


def test_flag_counts_units_answering_one_and_is_one_when_any():
    totals = aggregate_units([rec("a", {"BM1-5": 1}), rec("b", {"BM1-5": 0}), rec("c", {"BM1-5": 1}),
                              rec("d", {})], SPEC)
    t = totals["BM1-5"]
    assert t.to_dict() == {"value": 2, "units": 3, "answered": 3}
    assert t.report_value == 1
    assert total_note(t, SPEC["BM1-5"]) == "2/3 đơn vị trả lời Có"
    none_yes = aggregate_units([rec("a", {"BM1-5": 0})], SPEC)["BM1-5"]
    assert (none_yes.value, none_yes.report_value) == (0, 0)
    assert total_note(aggregate_units([rec("a", {"BM4-1.1": 1})], SPEC)["BM4-1.1"],
                      SPEC["BM4-1.1"]) == "1/1 đơn vị trả lời Hoàn thành"


def test_choice_counts_each_code_and_reports_the_most_common():
    totals = aggregate_units([rec(u, {"BM1-5.2": c}) for u, c in zip("abcdef", [2, 0, 2, 1, 2, None])], SPEC)
    t = totals["BM1-5.2"]
    assert t.value == {"0": 1, "1": 1, "2": 3} and t.units == 5 and t.report_value == 2 and not t.tie
    assert total_note(t, SPEC["BM1-5.2"]) == "Số đơn vị chọn: Trực tuyến 1; Phát phiếu 1; Kết hợp 3"
    # Without a `combine` rule in the spec (the bundled BM1-5.2 has one: see test_aggregate_upward).
    tie = aggregate_units([rec("a", {"BM1-5.2": 2}), rec("b", {"BM1-5.2": 1})], NO_COMBINE)["BM1-5.2"]
    assert tie.report_value == 1 and tie.tie and "bằng nhau" in total_note(tie, NO_COMBINE["BM1-5.2"])


def test_rows_outside_the_units_level_are_not_aggregated():
    # A ward that typed the district row BM1-3.2 (the checker warns `wrong-level`): not merged.
    totals = aggregate_units([rec("a", {"BM1-3.2": 4, "BM1-3.1": 2})], SPEC)
    assert totals["BM1-3.2"].value is None and totals["BM1-3.1"].value == 2


def test_a_merged_report_counts_for_its_units():
    district = rec("h", {"BM1-1": 40, "BM7-1.1": 90}, level="huyen", levels=frozenset({"huyen", "xa"}),
                   weight=17)
    totals = aggregate_units([district, rec("s", {"BM1-1": 2, "BM7-1.1": 60}, level="so",
                                                 levels=frozenset({"so"}))], SPEC)
    assert totals["BM1-1"].to_dict() == {"value": 42, "units": 18}
    assert totals["BM7-1.1"].value == pytest.approx((90 * 17 + 60) / 18)


def test_value_frame_has_one_column_per_value_row_and_nan_for_blank():
    frame = value_frame([rec("a", {"BM1-1": 3, "BM3-3.1.1": "khoảng 20"})], SPEC)
    assert list(frame.columns) == [i.id for i in SPEC.value_indicators]
    assert frame.loc[0, "BM1-1"] == 3 and math.isnan(frame.loc[0, "BM3-3.1.1"])


# ------------------------------------------------------------------------------------- over time


@pytest.mark.parametrize("given, target, chosen, missing", [
    (["2023-Q1", "2023-Q2"], "2023-H1", ["2023-Q1", "2023-Q2"], []),
    (["2023-Q1", "2023-Q2", "2023-Q3", "2023-Q4"], "2023", ["2023-Q1", "2023-Q2", "2023-Q3", "2023-Q4"], []),
    (["2023-H1", "2023-Q3", "2023-Q4"], "2023", ["2023-H1", "2023-Q3", "2023-Q4"], []),
    (["2023-Q1", "2023-H1", "2023-Q2", "2023-Q4"], "2023", ["2023-H1", "2023-Q4"], ["2023-Q3"]),
    (["2023-9M", "2023-Q4"], "2023", ["2023-9M", "2023-Q4"], []),
    (["2023-Q1", "2023-H1", "2023-Q2"], "2023-H1", ["2023-H1"], []),
    (["2023-Q2", "2022-Q1"], "2023-H1", ["2023-Q2"], ["2023-Q1"]),
])
def test_choose_pieces(given, target, chosen, missing):
    got_chosen, got_missing = choose_pieces([parse_period(p) for p in given], parse_period(target))
    assert [p.code for p in got_chosen] == chosen
    assert [p.code for p in got_missing] == missing


def test_roll_up_flows_sum_stocks_take_latest_ratios_recomputed():
    q1 = rec("a", {"BM3-3.1.1": 100, "BM3-3.1.2": 90, "BM3-3.1": 90, "BM4-2.1": 20, "BM3-1.4": 150,
                   "BM7-1.1": 80, "BM1-6": 0, "BM1-5.2": 0, "BM1-2.1": 10, "BM1-2.2": 2}, period="2023-Q1")
    q2 = rec("a", {"BM3-3.1.1": 300, "BM3-3.1.2": 150, "BM3-3.1": 50, "BM4-2.1": 21, "BM3-1.4": 157,
                   "BM7-1.1": 90, "BM1-6": 1, "BM1-5.2": 2, "BM1-2.1": 10, "BM1-2.2": 6}, period="2023-Q2")
    rolled = roll_up([q2, q1], SPEC, "2023-H1")
    v = rolled.record.values
    assert rolled.record.period == parse_period("2023-H1") and rolled.missing == ()
    assert [r.period.code for r in rolled.used] == ["2023-Q1", "2023-Q2"]
    assert v["BM3-3.1.1"] == 400 and v["BM3-3.1.2"] == 240  # flows
    assert v["BM3-3.1"] == pytest.approx(60.0)  # recomputed, not (90 + 50) / 2
    assert v["BM4-2.1"] == 21 and v["BM3-1.4"] == 157  # stocks: the latest
    assert v["BM1-2.2"] == 6 and v["BM1-2"] == pytest.approx(60.0)  # cumulative plan: latest, recomputed
    assert v["BM7-1.1"] == pytest.approx(85.0)  # rate: mean of the quarters
    assert v["BM1-6"] == 1  # any
    assert v["BM1-5.2"] == 2  # a choice is a stock
    assert v["BM1-1"] is None  # blank in both: blank


def test_roll_up_says_the_missing_period_and_keeps_partial_flows():
    rolled = roll_up([rec("a", {"BM1-1": 3}, period="2023-Q1"), rec("a", {"BM1-1": 4}, period="2023-Q3")],
                     SPEC, "2023")
    assert [q.code for q in rolled.missing] == ["2023-Q2", "2023-Q4"]
    assert rolled.record.values["BM1-1"] == 7


def test_roll_up_prefers_the_units_own_longer_return():
    h1 = rec("a", {"BM1-1": 9}, period="2023-H1")
    rolled = roll_up([rec("a", {"BM1-1": 3}, period="2023-Q1"), h1,
                      rec("a", {"BM1-1": 4}, period="2023-Q3"), rec("a", {"BM1-1": 1}, period="2023-Q4")],
                     SPEC, "2023")
    assert rolled.record.values["BM1-1"] == 14
    assert [r.period.code for r in rolled.unused] == ["2023-Q1"]
    same = roll_up([h1], SPEC, "2023-H1")
    assert same.record is h1


def test_roll_up_then_aggregate_over_units():
    records = []
    for unit, (a, b) in {"a": (10, 20), "b": (5, None)}.items():
        rolled = roll_up([rec(unit, {"BM3-3.1.1": a, "BM3-3.1.2": a}, period="2023-Q1"),
                          rec(unit, {"BM3-3.1.1": b, "BM3-3.1.2": b and b // 2}, period="2023-Q2")],
                         SPEC, "2023-H1")
        records.append(rolled.record)
    totals = aggregate_units(records, SPEC)
    assert totals["BM3-3.1.1"].value == 35 and totals["BM3-3.1.2"].value == 25
    assert totals["BM3-3.1"].value == round(100 * 25 / 35, 2)


def test_recompute_ratios():
    v = recompute_ratios({"BM6-1.1": 200.0, "BM6-1.2": 50.0, "BM6-1": 99}, SPEC)
    assert v["BM6-1"] == 25.0
    assert recompute_ratios({"BM6-1.1": 0, "BM6-1.2": 0, "BM6-1": 0}, SPEC)["BM6-1"] is None


def test_a_merged_report_already_holds_the_catalogue_of_the_communes_beside_it():
    # The province merges district H1's merged report (its catalogue and its communes') and, for a
    # district that sent none, a commune's own return: the communes' catalogue is counted once.
    totals = aggregate_units([
        rec("h1", {"BM3-1.4": 457, "BM3-1.4.2": 300, "BM3-1.4.3": 157}, level="huyen",
            levels=frozenset({"huyen", "xa"}), weight=3),
        rec("x4", {"BM3-1.4": 157, "BM3-1.4.3": 157}),
        rec("s", {"BM3-1.4": 40, "BM3-1.4.1": 40}, level="so", levels=frozenset({"so"})),
    ], SPEC)
    assert totals["BM3-1.4.3"].to_dict() == {"value": 157, "units": 4}  # not 314
    assert totals["BM3-1.4.2"].value == 300 and totals["BM3-1.4.1"].value == 40
    assert totals["BM3-1.4"].value == 40 + 300 + 157
