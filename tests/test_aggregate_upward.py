"""The merged report fit to send upward: choices combined by the spec's rule, the parent's own return
(`--own`), a clean official form (one short Ghi chú line, a footnote, a signature block), readable detail
sheets, a `Kiểm tra` sheet in words, charts in the table's order. Inputs are built here."""

import pytest

from cchc_excel.merge.totals import Record, aggregate_units, choice_counts
from cchc_excel.core.periods import parse_period
from cchc_excel.errors import SpecError
from cchc_excel.spec.model import load_spec, parse_spec

SPEC = load_spec()
Q2 = parse_period("2023-Q2")
XA = frozenset({"xa"})


def rec(unit, values, level="xa", levels=XA, weight=1):
    return Record(unit, Q2, values, level, levels, weight, f"{unit}.xlsx")


def choices(*codes):
    return aggregate_units([rec(f"u{i}", {"BM1-5.2": c}) for i, c in enumerate(codes)], SPEC)["BM1-5.2"]


def test_a_choice_with_a_combining_code_is_merged_by_the_specs_rule():
    # Online in six wards, paper in three, both in three: the district used both, whatever is most common.
    t = choices(*[0] * 6, *[1] * 3, *[2] * 3)
    assert t.mode == 0 and t.report_value == 2
    assert t.to_dict()["combined"] == 2
    assert choice_counts(t, SPEC["BM1-5.2"]) == "Trực tuyến: 6; Phát phiếu: 3; Kết hợp: 3"
    assert choices(0, 0, None).report_value == 0  # all online: online
    assert choices(1).report_value == 1
    assert choices(0, 2).report_value == 2  # online and both: both
    assert choices(None).report_value is None


def test_the_combining_rule_is_data_for_any_row():
    row = {"code": "1", "label": "Cách làm", "unit": "A = 0 B = 1 C = 2 AB = 3", "kind": "choice",
           "choices": {0: "A", 1: "B", 2: "C", 3: "AB"}, "combine": {3: [0, 1]}}
    ind = parse_spec(_spec_with(row))["BM1-1"]
    assert ind.combine == ((3, (0, 1)),)
    with pytest.raises(SpecError, match="combine"):
        parse_spec(_spec_with({**row, "combine": {3: [0, 9]}}))
    with pytest.raises(SpecError, match="combine"):
        parse_spec(_spec_with({**row, "kind": "count", "choices": None}))


def _spec_with(row: dict) -> dict:
    from cchc_excel.spec import model

    return {"id": "thu", "version": "1", "title": "Thử", "column_note": "",
            "checks": {c: {"severity": "error", "message": "{label}: lỗi."} for c in model.CHECK_IDS},
            "forms": [{"number": 1, "title": "Thử", "rows": [row]}]}
