"""The merge's numbers without pandas: `PackedValues` read back exactly, `ValueTable` as the frame was,
and the small parts of a package parsed once without sharing what callers get."""

from __future__ import annotations

import math
import pickle

import numpy as np

from cchc_excel.check.report import FileReport
from cchc_excel.core.periods import parse_period
from cchc_excel.core.roster import Roster, Unit
from cchc_excel.merge.inputs import CompactReport, PackedValues, compact, pack_values
from cchc_excel.merge.table import value_table
from cchc_excel.merge.totals import Record, value_frame
from cchc_excel.ooxml import parts
from cchc_excel.spec.loader import load_spec

SPEC = load_spec()
IDS = [ind.id for ind in SPEC.value_indicators]
Q2 = parse_period("2023-Q2")


def test_packed_values_read_back_as_given():
    values = {IDS[0]: 3, IDS[1]: 2.5, IDS[2]: None, IDS[3]: 0, IDS[4]: 100.0, IDS[5]: -0.25, "not-a-row": 9}
    packed = PackedValues.of(values, SPEC)
    assert dict(packed) == {IDS[0]: 3, IDS[1]: 2.5, IDS[3]: 0, IDS[4]: 100.0, IDS[5]: -0.25}
    assert type(packed[IDS[0]]) is int and type(packed[IDS[4]]) is float and type(packed[IDS[3]]) is int
    assert packed.get(IDS[2]) is None and packed.get(IDS[2], 7) == 7 and packed.get("not-a-row") is None
    assert len(packed) == 5 and IDS[2] not in packed


def test_packed_values_keep_any_other_value_as_it_is():
    values = {IDS[0]: True, IDS[1]: "khoảng 20", IDS[2]: 4}
    packed = PackedValues.of(values, SPEC)
    assert dict(packed) == values and packed[IDS[0]] is True
    assert packed.floats(tuple(IDS)) is None


def test_packed_values_pickled_share_their_ids():
    a, b = (PackedValues.of({IDS[0]: n, IDS[7]: n / 4}, SPEC) for n in (1, 6))
    a2, b2 = pickle.loads(pickle.dumps([a, b]))
    assert dict(a2) == dict(a) and dict(b2) == dict(b) == {IDS[0]: 6, IDS[7]: 1.5}
    assert a2._ids is b2._ids is a._ids and a2._index is a._index


def test_pack_values_as_a_workers_after_and_compact_with_the_roster():
    roster = Roster({"X1": Unit("X1", "Xã Một", "xa", "T"), "T": Unit("T", "Tỉnh", "tinh")})
    report = FileReport(path="x1.xlsx", status="ok", unit={"code": "X1", "name": "khác", "level": "xa"},
                        period="2023-Q2", values={IDS[0]: 5, IDS[1]: None}, issues=[], sha256="ab",
                        reported_levels=frozenset({"xa"}), submission=object())
    pack_values(SPEC, report)
    assert isinstance(report.values, PackedValues) and dict(report.values) == {IDS[0]: 5}
    small = compact(report, SPEC, roster)
    assert isinstance(small, CompactReport) and small.submission is None
    assert small.unit is roster.get("X1") and small.values is report.values
    assert (small.path, small.status, small.period, small.sha256, small.issues) == ("x1.xlsx", "ok", "2023-Q2",
                                                                                    "ab", ())
    assert small.reported_levels == frozenset({"xa"}) and small.merged_units is None
    other = compact(FileReport(path="y.xlsx", status="ok", unit={"code": "Y9", "name": "Y", "level": "xa"}), SPEC,
                    roster)
    assert other.unit == {"code": "Y9", "name": "Y", "level": "xa"}  # not in the roster: as the file says


def test_value_table_holds_what_the_pandas_frame_held():
    records = [
        Record("a", Q2, PackedValues.of({IDS[0]: 3, IDS[1]: 2.5}, SPEC), "xa", frozenset({"xa"})),
        Record("b", Q2, {IDS[0]: 1, IDS[2]: "khoảng 20"}, "xa"),
        Record("c", Q2, {}, None),
        Record("h", Q2, {i: 1 for i in IDS}, "huyen", frozenset({"huyen"})),
    ]
    table = value_table(records, SPEC)
    frame = value_frame(records, SPEC)
    assert list(frame.columns) == IDS == list(table.columns) and len(table) == 4 and not table.empty
    assert np.array_equal(table.data, frame.to_numpy(), equal_nan=True)
    assert table.data[0, 0] == 3 and table.data[0, 1] == 2.5 and math.isnan(table.data[1, 2])
    assert np.array_equal(table.column(IDS[1]), frame[IDS[1]].to_numpy(), equal_nan=True)
    assert np.array_equal(table.block([IDS[2], IDS[0]]), frame[[IDS[2], IDS[0]]].to_numpy(), equal_nan=True)
    # a row the records' levels do not report is blank, as it was
    xa_only = [i for i in IDS if not SPEC[i].levels & {"huyen"}]
    assert xa_only and all(math.isnan(v) for v in table.block(xa_only)[3])
    taken = table.take([3, -1, 0])
    assert np.array_equal(taken.data[0], table.data[3], equal_nan=True) and np.isnan(taken.data[1]).all()
    assert value_table([], SPEC).empty and value_table([], SPEC).data.shape == (0, len(IDS))


def test_parsed_parts_are_the_callers_own():
    rels = (b'<Relationships><Relationship Id="rId1" Type="x/worksheet" Target="worksheets/sheet1.xml"/>'
            b'</Relationships>')
    first = parts.relationships(rels, "xl")
    first["rId9"] = ("changed", "elsewhere")
    assert parts.relationships(rels, "xl") == {"rId1": ("x/worksheet", "xl/worksheets/sheet1.xml")}
    book = b'<workbook><sheets><sheet name="A" sheetId="1" r:id="rId1"/></sheets></workbook>'
    sheets = parts.sheet_parts(book, rels)
    sheets.clear()
    assert parts.sheet_parts(book, rels) == {"A": parts.SheetPart("xl/worksheets/sheet1.xml")}


def test_aggregate_merges_and_writes_without_pandas(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    code = (
        "import sys\n"
        "from cchc_excel.merge.run import aggregate_paths\n"
        "from cchc_excel.merge.outputs import write_outputs\n"
        f"r = aggregate_paths([{str(root / 'samples' / 'returns')!r}], roster={str(root / 'samples' / 'roster.csv')!r},"
        " unit_code='540', period='2023-Q2', jobs=1)\n"
        f"write_outputs(r, {str(tmp_path / 'out.xlsx')!r}, csv_path={str(tmp_path / 'out.csv')!r})\n"
        "assert r.files and 'pandas' not in sys.modules, 'pandas imported'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert (tmp_path / "out.xlsx").stat().st_size and (tmp_path / "out.csv").stat().st_size
