"""No silent wrong value: formula errors, links to other workbooks and numbers that are not finite are
error findings naming the cell, never a blank or a number in silence."""

import io
import json
import zipfile

import pytest

from cchc_excel.check.run import check_file
from cchc_excel.ooxml.cells import CellError, is_external_formula
from cchc_excel.ooxml.stream import scan_ods
from cchc_excel.read import workbook_io
from cchc_excel.read.reader import read_workbook
from cchc_excel.spec.loader import load_spec

from workbooks import Formula, Pct, write_handmade

SPEC = load_spec()


def findings(sub, *rules):
    return [(i.severity, i.rule, i.indicator) for i in sub.issues if i.rule in rules]


def where(sub, ind_id) -> str:
    ref = sub.cells[ind_id]
    return f"{ref.sheet}!{ref.cell}"


@pytest.fixture(params=["xml", "streamed", "stacked"])
def handmade(request, tmp_path, monkeypatch):
    """A hand-made return written with `values`, read on each of the xlsx paths."""
    if request.param == "streamed":
        monkeypatch.setattr(workbook_io, "STREAM_THRESHOLD", 0)  # every sheet streamed with expat

    def write(values, name="bc.xlsx"):
        layout = "stacked" if request.param == "stacked" else "sheets"
        return write_handmade(tmp_path / name, SPEC, values, layout=layout)
    return write


def test_error_cells_are_errors_naming_the_cell(handmade):
    sub = read_workbook(handmade({"BM1-1": Formula("=1/0", "#DIV/0!"), "BM2-1.1": Formula("=A1", "#REF!"),
                                  "BM6-1.1": Formula('="a"+1', "#VALUE!"), "BM1-2.1": 4}))
    assert findings(sub, "cell-error") == [("error", "cell-error", "BM1-1"), ("error", "cell-error", "BM2-1.1"),
                                           ("error", "cell-error", "BM6-1.1")]
    issue = next(i for i in sub.issues if i.indicator == "BM2-1.1")
    assert "#REF!" in issue.message and f"{issue.sheet}!{issue.cell}" == where(sub, "BM2-1.1")
    assert sub.values["BM1-1"] is None and sub.values["BM1-2.1"] == 4
    assert check_file(handmade({"BM1-1": Formula("=1/0", "#DIV/0!")}, "b.xlsx")).status == "errors"


def test_a_ratio_over_a_zero_denominator_may_show_div0(handmade):
    zero = {"BM1-2": Formula("=1/0", "#DIV/0!"), "BM1-2.1": 0, "BM1-2.2": 0}
    assert findings(read_workbook(handmade(zero)), "cell-error") == []
    blank = {"BM1-2": Formula("=1/0", "#DIV/0!")}
    assert findings(read_workbook(handmade(blank, "b.xlsx")), "cell-error") == []
    filled = {**zero, "BM1-2.1": 5}
    assert findings(read_workbook(handmade(filled, "c.xlsx")), "cell-error") == [("error", "cell-error", "BM1-2")]
    broken = {**zero, "BM1-2": Formula("=A1", "#REF!")}
    assert findings(read_workbook(handmade(broken, "d.xlsx")), "cell-error") == [("error", "cell-error", "BM1-2")]


def test_a_number_linked_from_another_workbook_is_not_the_units(handmade):
    sub = read_workbook(handmade({"BM1-1": Formula("=[1]Sheet1!D5", 7), "BM1-2.1": Formula("=2+3", 5),
                                  "BM3-1.4": Formula("='[Tong hop.xlsx]BM3'!$D$9", 157)}))
    assert findings(sub, "external-link") == [("error", "external-link", "BM1-1"),
                                              ("error", "external-link", "BM3-1.4")]
    assert sub.values["BM1-1"] is None and sub.values["BM3-1.4"] is None
    assert sub.values["BM1-2.1"] == 5  # a formula of the workbook itself: its result, as before
    issue = next(i for i in sub.issues if i.rule == "external-link")
    assert f"{issue.sheet}!{issue.cell}" == where(sub, "BM1-1") and "tệp khác" in issue.message


def test_external_formulas():
    assert is_external_formula("[1]Sheet1!A1") and is_external_formula("SUM('[2]Biểu 1'!D5:D9)")
    assert is_external_formula("of:=['file:///C:/bc/b.ods'#$Sheet1.A1]")
    assert not is_external_formula("Table1[Số liệu]") and not is_external_formula("[@Col]*2")
    assert not is_external_formula('"[1]"&A1') and not is_external_formula("of:=[.D11]/[.D12]*100")


def _with_number(path, marker: str, text: str):
    """Put `text` as the stored number of every cell holding `marker` (what no writer lets us type)."""
    with zipfile.ZipFile(path) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    for name, data in parts.items():
        if name.startswith("xl/worksheets/"):
            parts[name] = data.replace(f"<v>{marker}</v>".encode(), f"<v>{text}</v>".encode())
    with zipfile.ZipFile(path, "w") as z:
        for name, data in parts.items():
            z.writestr(name, data)
    return path


def test_numbers_that_are_not_finite_are_errors(handmade):
    path = _with_number(handmade({"BM1-1": 123457, "BM1-2.1": 123458, "BM4-2.1": 1e20, "BM7-1.1": Pct(1.5e307)}),
                        "123457", "1E+400")
    _with_number(path, "123458", "NaN")
    sub = read_workbook(path)
    assert findings(sub, "not-finite") == [("error", "not-finite", "BM1-1"), ("error", "not-finite", "BM1-2.1"),
                                           ("error", "not-finite", "BM4-2.1"), ("error", "not-finite", "BM7-1.1")]
    assert all(sub.values[i] is None for i in ("BM1-1", "BM1-2.1", "BM4-2.1", "BM7-1.1"))
    assert not any(i.rule == "not-number" for i in sub.issues)
    report = check_file(path)
    json.dumps(report.to_dict(), ensure_ascii=False, allow_nan=False)  # raises on inf or nan
    assert report.status == "errors" and all(report.values[i] is None for i in ("BM1-1", "BM4-2.1"))


def _ods(content: str) -> zipfile.ZipFile:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("content.xml", content)
    return zipfile.ZipFile(io.BytesIO(buf.getvalue()))


def test_ods_error_cells_and_external_links_are_seen():
    """LibreOffice's own words for them: `calcext:value-type="error"`, `['file:///…'#$Sheet.A1]`."""
    content = (
        '<office:document-content xmlns:office="o" xmlns:table="t" xmlns:text="x" xmlns:calcext="c">'
        '<office:body><office:spreadsheet><table:table table:name="BM1">'
        '<table:table-row><table:table-cell office:value-type="float" office:value="5"><text:p>5</text:p>'
        '</table:table-cell><table:table-cell table:formula="of:=1/0" office:value-type="string" '
        'office:string-value="" calcext:value-type="error"><text:p>#DIV/0!</text:p></table:table-cell>'
        '</table:table-row><table:table-row><table:table-cell table:formula="of:=[&apos;file:///tmp/b.ods&apos;'
        '#$b.A1]" office:value-type="float" office:value="7"><text:p>7</text:p></table:table-cell>'
        '<table:table-cell table:formula="of:=[.A1]*2" office:value-type="float" office:value="10">'
        '<text:p>10</text:p></table:table-cell><table:table-cell office:value-type="string" '
        'calcext:value-type="error" table:formula="of:=[.Z99]+" table:number-columns-repeated="2">'
        '<text:p>Err:502</text:p></table:table-cell></table:table-row>'
        '</table:table></office:spreadsheet></office:body></office:document-content>')
    flags, extents, errors = scan_ods(_ods(content), 100, 256)
    assert errors == {"BM1": {(0, 1): CellError("#DIV/0!"), (1, 2): CellError("Err:502"),
                              (1, 3): CellError("Err:502")}}
    assert flags["BM1"]["A2"] == (True, False, True) and flags["BM1"]["B2"] == (True, False, False)
    assert extents["BM1"] == (2, 4)


@pytest.mark.libreoffice
def test_libreoffice_ods_keeps_error_cells_and_links_apart(tmp_path):
    """Saved as .ods by LibreOffice: the error cell and the linked number are findings as in the xlsx; a
    legacy .xls cannot tell an error cell from a blank one (python-calamine gives '' for both)."""
    import lo

    path = write_handmade(tmp_path / "bc.xlsx", SPEC, {"BM1-1": Formula("=1/0", "#DIV/0!"),
                                                       "BM1-2.1": Formula("=[1]Sheet1!D5", 7), "BM1-2.2": 3},
                          layout="sheets")
    ods = lo.convert(path, "ods", tmp_path / "out")
    sub = read_workbook(ods)
    assert findings(sub, "cell-error", "external-link") == [("error", "cell-error", "BM1-1"),
                                                            ("error", "external-link", "BM1-2.1")]
    assert (sub.values["BM1-1"], sub.values["BM1-2.1"], sub.values["BM1-2.2"]) == (None, None, 3)


def test_our_templates_fast_path_sees_them_too(tmp_path):
    """Our template is read column by column from its XML (`ooxml.fast`): the same findings."""
    import re

    from cchc_excel.core.roster import Unit
    from cchc_excel.template.build import write_template

    ward = Unit("HN-BS", "Phường Bồng Sơn", "xa")
    path = write_template(tmp_path / "bs.xlsx", SPEC, level="xa", unit=ward, period="2023-Q2",
                          values={"BM1-1": 123457, "BM1-2.1": 123458, "BM1-2.2": 3})
    with zipfile.ZipFile(path) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    for name, data in parts.items():
        if name.startswith("xl/worksheets/"):
            data = re.sub(rb'(<c r="D\d+"[^>]*?)><v>123457</v>', rb'\1 t="e"><f>1/0</f><v>#DIV/0!</v>', data)
            parts[name] = re.sub(rb'(<c r="D\d+"[^>]*?)><v>123458</v>', rb'\1><f>[1]BM1!D9</f><v>9</v>', data)
    with zipfile.ZipFile(path, "w") as z:
        for name, data in parts.items():
            z.writestr(name, data)
    sub = read_workbook(path)
    assert sub.template is not None
    assert findings(sub, "cell-error", "external-link") == [("error", "cell-error", "BM1-1"),
                                                            ("error", "external-link", "BM1-2.1")]
    assert (sub.values["BM1-1"], sub.values["BM1-2.1"], sub.values["BM1-2.2"]) == (None, None, 3)
