"""The same xlsx cells read the same way on every path: the fast column reading of our templates, the
streamed reading of huge sheets, python-calamine, and the reader end to end over each of them.

The workbooks are written here by hand (zip + XML), so each cell is exactly as a writer may store it.
"""

import io
import zipfile
from datetime import date, datetime, time, timedelta

import pytest
from python_calamine import CalamineWorkbook

from cchc_excel.ooxml import fast
from cchc_excel.ooxml.cells import CellError, NumberFormats, decode_cell, is_empty
from cchc_excel.ooxml.parts import sheet_parts
from cchc_excel.ooxml.stream import stream_xlsx_rows
from cchc_excel.ooxml.strings import SharedStrings, needed_strings
from cchc_excel.ooxml.styles import date_styles, duration_styles, percent_styles
from cchc_excel.ooxml.xmltext import decode_escapes, escape, xml_text
from cchc_excel.read import workbook_io
from cchc_excel.read.reader import read_workbook
from cchc_excel.template import metadata

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG = "http://schemas.openxmlformats.org/package/2006/relationships"
SHEET = "Biểu mẫu 1"
# cellXfs: 0 general, 1 dd/mm/yyyy (built-in 14), 2 0% (built-in 9), 3 h:mm (built-in 20), 4 [h]:mm (custom)
STYLES = (f'<styleSheet xmlns="{MAIN}"><numFmts count="1"><numFmt numFmtId="164" formatCode="[h]:mm"/></numFmts>'
          '<fonts count="1"><font/></fonts><fills count="1"><fill/></fills><borders count="1"><border/></borders>'
          '<cellStyleXfs count="1"><xf/></cellStyleXfs><cellXfs count="5"><xf numFmtId="0"/><xf numFmtId="14"/>'
          '<xf numFmtId="9"/><xf numFmtId="20"/><xf numFmtId="164"/></cellXfs></styleSheet>')
STRINGS = ["Biểu mẫu 1", "STT", "Chỉ tiêu thống kê", "Đơn vị tính", "Số liệu", "Ghi chú", "4",
           "Dòng một_x000D_dòng hai &amp; ba", "gõ _x005F_x000D_ như thế"]
RICH = '<r><t>rich</t></r><r><t xml:space="preserve"> text</t></r><rPh sb="0" eb="1"><t>PH</t></rPh>'

# BM1's rows: code, label, the value cell's XML (`{}` is its reference), what the cell decodes to (with
# python-calamine's '' for an error), and what the reader makes of it.
ROWS = [
    ("1", '<c r="{}" s="1"><v>45092</v></c>', date(2023, 6, 15), "15/06/2023"),
    ("2", '<c r="{}" t="e"><f>D5/D4</f><v>#DIV/0!</v></c>', CellError("#DIV/0!"), None),
    ("2.1", '<c r="{}" t="d"><v>2023-06-15T00:00:00</v></c>', datetime(2023, 6, 15), "15/06/2023"),
    ("2.2", '<c r="{}" t="b"><v>1</v></c>', True, 1),
    ("3", None, "", None),
    ("3.1", '<c r="{}" t="str"><f>"12"&amp;CHAR(13)</f><v>12_x000D_</v></c>', "12\r", 12),
    ("3.2", '<c r="{}" t="inlineStr"><is><r><t>1</t></r><r><t>5</t></r></is></c>', "15", 15),
    ("3.3", '<c r="{}" s="2"><v>0.5</v></c>', 0.5, 50),
    ("3.3.1", '<c r="{}" t="s"><v>6</v></c>', "4", 4),
    ("3.3.2", '<c r="{}"><v>1</v></c>', 1.0, 1),
    ("4", None, "", None),
    ("4.1", '<c r="{}" t="d"><v>2023-06-15</v></c>', date(2023, 6, 15), "15/06/2023"),
    ("4.2", '<c r="{}" t="e"><v>#REF!</v></c>', CellError("#REF!"), None),
    ("4.3", '<c r="{}" s="1"><v>45092.75</v></c>', datetime(2023, 6, 15, 18), "15/06/2023 18:00"),
    ("4.4", '<c r="{}" s="3"><v>0.5</v></c>', time(12), "12:00"),
    ("5", '<c r="{}" t="b"><v>0</v></c>', False, 0),
    ("5.1", '<c r="{}" s="4"><v>1.5</v></c>', timedelta(days=1, hours=12), "1 day, 12:00:00"),
    ("5.2", '<c r="{}" t="d"><v>10:30:00</v></c>', time(10, 30), "10:30"),
    ("6", '<c r="{}" t="inlineStr"><is><t>Có</t></is></c>', "Có", 1),
]
# Notes (column E) of a few rows: shared strings with escapes, rich text, an inline string.
NOTES = {"1": '<c r="{}" t="s"><v>7</v></c>', "2.1": '<c r="{}" t="s"><v>8</v></c>',
         "2.2": '<c r="{}" t="s"><v>9</v></c>', "3.1": '<c r="{}" t="inlineStr"><is><t>a&lt;b_x000A_c</t></is></c>'}
NOTES_READ = {"BM1-1": "Dòng một\rdòng hai & ba", "BM1-2.1": "gõ _x000D_ như thế", "BM1-2.2": "rich text",
              "BM1-3.1": "a<b\nc"}
FIRST = 3  # the first form row (1-based): title in row 1, header in row 2


def _shared(texts) -> str:
    items = "".join(f"<si><t>{t}</t></si>" for t in texts) + f"<si>{RICH}</si>"
    return f'<sst xmlns="{MAIN}" count="{len(texts) + 1}">{items}</sst>'


def _form_sheet() -> str:
    head = '<row r="1"><c r="A1" t="s"><v>0</v></c></row><row r="2">' + "".join(
        f'<c r="{c}2" t="s"><v>{i}</v></c>' for i, c in enumerate("ABCDE", start=1)) + "</row>"
    rows = []
    for i, (code, value, _, _) in enumerate(ROWS):
        r = FIRST + i
        cells = f'<c r="A{r}" t="inlineStr"><is><t>{code}.</t></is></c>'
        if value:
            cells += value.format(f"D{r}")
        if code in NOTES:
            cells += NOTES[code].format(f"E{r}")
        rows.append(f'<row r="{r}">{cells}</row>')
    protection = '<sheetProtection sheet="1"/>'  # as our templates are
    return f'<worksheet xmlns="{MAIN}"><sheetData>{head}{"".join(rows)}</sheetData>{protection}</worksheet>'


def _meta_sheet() -> str:
    """Our `_cchc` sheet: the metadata pairs, then the layout of BM1's value cells (inline strings)."""
    pairs = [("generator", metadata.GENERATOR + " test"), ("spec_id", "cv371-2022"), ("level", "xa"),
             ("unit_code", "HN10"), ("unit_name", "Phường Tam Quan Bắc"), ("period", "2023-Q2")]
    rows = [(r, pair) for r, pair in enumerate(pairs, start=1)]
    rows.append((metadata.LAYOUT_ROW, metadata.LAYOUT_HEADER))
    for i, (code, value, _, _) in enumerate(ROWS):
        rows.append((metadata.LAYOUT_ROW + 1 + i, (f"BM1-{code}", SHEET, f"D{FIRST + i}")))
    xml = "".join(f'<row r="{r}">' + "".join(f'<c r="{"ABC"[c]}{r}" t="inlineStr"><is><t>{v}</t></is></c>'
                                              for c, v in enumerate(row)) + "</row>" for r, row in rows)
    return f'<worksheet xmlns="{MAIN}"><sheetData>{xml}</sheetData></worksheet>'


def write_book(path, sheets: dict, *, date1904: bool = False, strings=STRINGS) -> str:
    """An xlsx of `sheets` ({title: worksheet XML}) with the styles and shared strings above."""
    names = "".join(f'<sheet name="{name}" sheetId="{i}" r:id="rId{i}"/>' for i, name in enumerate(sheets, 1))
    pr = '<workbookPr date1904="1"/>' if date1904 else ""
    rels = "".join(f'<Relationship Id="rId{i}" Type="{REL}/worksheet" Target="worksheets/sheet{i}.xml"/>'
                   for i in range(1, len(sheets) + 1))
    n = len(sheets)
    rels += (f'<Relationship Id="rId{n + 1}" Type="{REL}/styles" Target="styles.xml"/>'
             f'<Relationship Id="rId{n + 2}" Type="{REL}/sharedStrings" Target="sharedStrings.xml"/>')
    ct = "application/vnd.openxmlformats-officedocument.spreadsheetml"
    types = (f'<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
             '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
             '<Default Extension="xml" ContentType="application/xml"/>'
             f'<Override PartName="/xl/workbook.xml" ContentType="{ct}.sheet.main+xml"/>'
             + "".join(f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="{ct}.worksheet+xml"/>'
                       for i in range(1, n + 1))
             + f'<Override PartName="/xl/styles.xml" ContentType="{ct}.styles+xml"/>'
             f'<Override PartName="/xl/sharedStrings.xml" ContentType="{ct}.sharedStrings+xml"/></Types>')
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", types)
        z.writestr("_rels/.rels", f'<Relationships xmlns="{PKG}"><Relationship Id="rId1" '
                   f'Type="{REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>')
        z.writestr("xl/workbook.xml", f'<workbook xmlns="{MAIN}" xmlns:r="{REL}">{pr}<sheets>{names}</sheets>'
                   "</workbook>")
        z.writestr("xl/_rels/workbook.xml.rels", f'<Relationships xmlns="{PKG}">{rels}</Relationships>')
        z.writestr("xl/styles.xml", STYLES)
        z.writestr("xl/sharedStrings.xml", _shared(strings))
        for i, xml in enumerate(sheets.values(), start=1):
            z.writestr(f"xl/worksheets/sheet{i}.xml", xml)
    return str(path)


@pytest.fixture(scope="module")
def handmade(tmp_path_factory):
    return write_book(tmp_path_factory.mktemp("cells") / "handmade.xlsx", {SHEET: _form_sheet()})


@pytest.fixture(scope="module")
def ours(tmp_path_factory):
    """The same form sheet with our metadata sheet: the reader trusts its layout and reads columns fast."""
    return write_book(tmp_path_factory.mktemp("cells") / "template.xlsx",
                      {SHEET: _form_sheet(), metadata.SHEET: _meta_sheet()})


FORMATS = NumberFormats(dates=frozenset({1, 3, 4}), durations=frozenset({4}), percents=frozenset({2}))


def _paths(path: str, sheet: str = SHEET, formats: NumberFormats = FORMATS) -> dict:
    """The sheet's rows read by each path."""
    with zipfile.ZipFile(path) as z:
        part = "xl/worksheets/sheet1.xml"
        xml, sst = z.read(part), z.read("xl/sharedStrings.xml")
        streamed = stream_xlsx_rows(z, part, "xl/sharedStrings.xml", 100, 256, formats).rows
    return {
        "fast": fast.column_rows(xml, ("A", "D", "E"), SharedStrings(sst), formats, 100),
        "streamed": streamed,
        "calamine": CalamineWorkbook.from_path(path).get_sheet_by_name(sheet).to_python(skip_empty_area=False),
        "book": workbook_io.Book(path, "xlsx", 100).rows(sheet),  # python-calamine, errors put back
    }


def test_the_workbook_styles_are_understood(handmade):
    with zipfile.ZipFile(handmade) as z:
        styles = z.read("xl/styles.xml")
    assert (date_styles(styles), duration_styles(styles), percent_styles(styles)) == ({1, 3, 4}, {4}, {2})


def test_every_path_decodes_the_same_cells_to_the_same_values(handmade):
    got = _paths(handmade)
    column = {name: [row[3] if len(row) > 3 else "" for row in rows[FIRST - 1:]] for name, rows in got.items()}
    expected = [decoded for _, _, decoded, _ in ROWS]
    assert column["fast"] == expected
    assert column["streamed"] == expected
    assert column["book"] == expected
    # python-calamine gives '' for an error cell, where ours keep the error
    assert column["calamine"] == ["" if type(v) is CellError else v for v in expected]
    assert [type(v) for v in column["fast"]] == [type(v) for v in column["streamed"]]  # 1.0, not True


def test_text_cells_are_decoded_alike(handmade):
    got = _paths(handmade)
    for name, rows in got.items():
        notes = {code: rows[FIRST - 1 + i][4] for i, (code, *_) in enumerate(ROWS) if code in NOTES}
        assert notes == {"1": "Dòng một\rdòng hai & ba", "2.1": "gõ _x000D_ như thế", "2.2": "rich text",
                         "3.1": "a<b\nc"}, name
        assert [rows[1][c] for c in (0, 3, 4)] == ["STT", "Số liệu", "Ghi chú"], name


def _read(path, monkeypatch, streamed: bool):
    with monkeypatch.context() as m:
        if streamed:  # every sheet as if it were too large to hold: the streamed path
            m.setattr(workbook_io, "STREAM_THRESHOLD", 0)
        return read_workbook(path)


def _what_was_read(sub) -> tuple:
    conversions = sorted((i.indicator, i.message) for i in sub.issues if i.rule == "read-conversion")
    return dict(sub.values), dict(sub.texts), dict(sub.notes), sub.formulas, conversions


@pytest.mark.parametrize("streamed", [False, True], ids=["whole", "streamed"])
def test_the_reader_reads_the_same_values_on_every_path(handmade, ours, monkeypatch, streamed):
    sub = _read(ours, monkeypatch, streamed)
    assert sub.template is not None and "template-changed" not in [i.rule for i in sub.issues]
    first = _what_was_read(sub)
    assert _what_was_read(_read(handmade, monkeypatch, streamed)) == first
    values, texts, notes, formulas, conversions = first
    for code, _, _, read in ROWS:
        key = f"BM1-{code}"
        if type(read) is str:
            assert texts[key] == read and values[key] is None, key
        else:
            assert values.get(key) == read and key not in texts, key
    assert notes == NOTES_READ
    assert formulas == {"BM1-2"}
    assert ("BM1-2.2", "Ô chứa giá trị logic TRUE; đã hiểu là 1.") in conversions
    assert [m for k, m in conversions if k == "BM1-1"] == [
        "Ô chứa ngày 15/06/2023, không phải số: Excel tự đổi những gì gõ như '1/2' thành ngày; "
        "hãy định dạng ô là Số (Number) rồi gõ lại."]


def test_the_fast_path_is_the_one_taken_for_our_template(ours, monkeypatch):
    """The template's form is placed by its layout and its values read by columns from the sheet XML."""
    calls = []
    column_rows = fast.column_rows

    def spy(xml, columns, *args):
        calls.append(columns)
        return column_rows(xml, columns, *args)

    with monkeypatch.context() as m:
        m.setattr(workbook_io.fast, "column_rows", spy)
        sub = read_workbook(ours)
    assert calls == [("A", "D", "E")]
    assert sub.values["BM1-3.3"] == 50 and sub.texts["BM1-1"] == "15/06/2023"


# --- dates as python-calamine counts them -----------------------------------------------------------------

SERIALS = ["0", "0.25", "1", "1.25", "59", "59.5", "60", "61", "45092", "45092.5", "45092.0000001",
           "45092.99999999", "0.999999", "-0.25", "2958465", "2958466", "1e10"]


@pytest.mark.parametrize("date1904", [False, True], ids=["1900", "1904"])
def test_day_counts_read_as_python_calamine_reads_them(tmp_path, date1904):
    cells = "".join(f'<row r="{r}"><c r="A{r}" s="{style}"><v>{v}</v></c></row>'
                    for r, (v, style) in enumerate(((v, 1) for v in SERIALS), start=1))
    cells += "".join(f'<row r="{len(SERIALS) + r}"><c r="A{len(SERIALS) + r}" s="4"><v>{v}</v></c></row>'
                     for r, v in enumerate(["0", "1.5", "-1", "0.25"], start=1))
    path = write_book(tmp_path / "days.xlsx", {"S": f'<worksheet xmlns="{MAIN}"><sheetData>{cells}</sheetData>'
                                                    "</worksheet>"}, date1904=date1904)
    formats = NumberFormats(FORMATS.dates, FORMATS.durations, FORMATS.percents, date1904)
    got = _paths(path, "S", formats)
    first = [row[0] for row in got["calamine"]]
    assert [row[0] for row in got["fast"]] == first
    assert [row[0] for row in got["streamed"]] == first
    assert first[SERIALS.index("1")] == (date(1904, 1, 2) if date1904 else date(1900, 1, 1))
    assert first[SERIALS.index("45092.5")] == (datetime(2027, 6, 16, 12) if date1904 else datetime(2023, 6, 15, 12))
    assert first[SERIALS.index("0.25")] == time(6)
    assert first[SERIALS.index("1e10")] == 1e10  # past 31/12/9999: a number


def test_iso_dates_as_python_calamine_reads_them():
    def iso(text):
        return decode_cell("d", text, None)

    assert iso("2023-06-15T10:30:00.5") == datetime(2023, 6, 15, 10, 30, 0, 500000)
    assert iso(" 2023-06-15") == date(2023, 6, 15)
    assert iso("10:30") == time(10, 30)
    for text in ("2023-06-15T10:30:00Z", "2023-06-15T10:30", "2023-13-01", "garbage"):
        assert iso(text) == text  # python-calamine gives these as text too


def test_decoding_small_cases():
    assert decode_cell("b", "true", None) is True and decode_cell("b", "0", None) is False
    assert decode_cell("e", "#N/A", None) == CellError("#N/A") and str(CellError("#N/A")) == "#N/A"
    assert decode_cell("n", "", 1, FORMATS) == "" and decode_cell("n", "abc", None) == "abc"
    assert decode_cell("s", "2", None, strings=SharedStrings(b"<sst><si><t>a</t></si></sst>")) == ""
    assert decode_cell("n", "inf", 1, FORMATS) == float("inf")
    assert is_empty(CellError("#REF!")) and is_empty("") and is_empty(None) and not is_empty(0.0)


# --- the one XML text and shared-strings reading ------------------------------------------------------------

def test_escapes_both_ways():
    text = "a & b <c>\r\n_x000D_ \x01"
    written = escape(text)
    assert written == "a &amp; b &lt;c&gt;_x000D_\n_x005F_x000D_ _x0001_"
    assert xml_text(written.encode()) == text
    assert decode_escapes("x_x000A_y_x005F_x0041_") == "x\ny_x0041_"


def test_shared_strings_streamed_as_held_whole():
    texts = [f"chuỗi {i} &amp; _x000D_" for i in range(3000)]
    xml = _shared(texts).encode()
    held = SharedStrings(xml)
    with zipfile.ZipFile(io.BytesIO(), "w") as z:
        z.writestr("sst.xml", xml)
        wanted = {0, 5, 2999, 3000}
        got = needed_strings(z, "sst.xml", wanted)
    assert got == {i: held[i] for i in wanted}
    assert got[5] == "chuỗi 5 & \r" and got[3000] == "rich text"


def test_sheet_parts_whatever_the_writer():
    workbook = ('<x:workbook xmlns:x="m" xmlns:r="r"><x:sheets><x:sheet name="A &amp; B" sheetId="1" r:id="r1"/>'
                "<x:sheet name='Ẩn' sheetId='2' state='veryHidden' r:id='r2'/><x:sheet name='Chart' r:id='r3'/>"
                "</x:sheets></x:workbook>").encode()
    rels = (b'<Relationships><Relationship Id="r1" Type="x/worksheet" Target="/xl/worksheets/s1.xml"/>'
            b'<Relationship Target="worksheets/../worksheets/s2.xml" Type="x/worksheet" Id="r2"/>'
            b'<Relationship Id="r3" Type="x/chartsheet" Target="chartsheets/c1.xml"/></Relationships>')
    found = sheet_parts(workbook, rels)
    assert {name: (s.part, s.state) for name, s in found.items()} == {
        "A & B": ("xl/worksheets/s1.xml", "visible"), "Ẩn": ("xl/worksheets/s2.xml", "veryHidden")}
