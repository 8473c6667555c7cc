"""core.kinds: the row kinds and their groups, and how the form spec uses them."""

import pytest

from cchc_excel.core.kinds import (CODED_KINDS, INPUT_KINDS, KINDS, PERCENT_KINDS, QUANTITY_KINDS, VALUE_KINDS,
                                   WHOLE_KINDS)
from cchc_excel.spec.loader import DEFAULT_TIME, DEFAULT_UNITS, load_spec


@pytest.mark.parametrize("kind, groups", [
    ("header", set()),
    ("count", {"value", "input", "quantity", "whole"}),
    ("amount", {"value", "input", "quantity"}),
    ("ratio", {"value", "percent"}),
    ("rate", {"value", "input", "percent"}),
    ("flag", {"value", "input", "coded", "whole"}),
    ("choice", {"value", "input", "coded", "whole"}),
])
def test_groups_of_each_kind(kind, groups):
    named = {"value": VALUE_KINDS, "input": INPUT_KINDS, "quantity": QUANTITY_KINDS, "percent": PERCENT_KINDS,
             "coded": CODED_KINDS, "whole": WHOLE_KINDS}
    assert kind in KINDS
    assert {name for name, kinds in named.items() if kind in kinds} == groups


def test_every_kind_has_default_aggregations():
    assert set(DEFAULT_UNITS) == set(DEFAULT_TIME) == set(KINDS)


def test_spec_rows_use_the_groups():
    spec = load_spec()
    assert {ind.kind for ind in spec.value_indicators} <= set(VALUE_KINDS)
    assert [ind.id for ind in spec.indicators.values() if ind.is_input] == \
        [ind.id for ind in spec.indicators.values() if ind.kind not in ("header", "ratio")]
