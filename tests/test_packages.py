"""Every file a spreadsheet program opens is opened, within bounded memory: packages in unusual shapes
(zip names with backslashes, parts outside `xl/`), and .xls/.ods/.xlsx sheets whose cells span more than
python-calamine should hold. The odd files are built here; peak memory is measured in a subprocess."""

from __future__ import annotations

import json
import resource  # noqa: F401  (used by the subprocess; fails early where it does not exist)
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import xlsxwriter
from python_calamine import CalamineWorkbook

from cchc_excel.errors import UnreadableFile
from cchc_excel.ooxml.biff import sheet_extents
from cchc_excel.ooxml.gate import Limits, NotWorkbook, inspect_file
from cchc_excel.read.reader import read_workbook
from cchc_excel.spec.loader import load_spec

from test_safety import make_ole, biff
from workbooks import write_handmade, write_template

SPEC = load_spec()
VALUES = {"BM1-1": 6, "BM1-2.1": 25, "BM1-2.2": 12, "BM3-3.1.1": 369, "BM3-3.1.2": 369, "BM4-2.2": 20}
MAX_RSS_MB = 300

# --- odd packages ------------------------------------------------------------------------------------


def backslashed(src: Path, dst: Path) -> Path:
    """A copy of an xlsx whose member names use backslashes, as some generators write them."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            zout.writestr(zipfile.ZipInfo(info.filename.replace("/", "\\"), info.date_time), zin.read(info),
                          zipfile.ZIP_DEFLATED)
    return dst


def relocated(src: Path, dst: Path) -> Path:
    """A copy of an xlsx with the parts of `xl/` at the root: found only through `_rels/.rels`."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename == "[Content_Types].xml":
                data = data.replace(b'PartName="/xl/', b'PartName="/')
            elif info.filename == "_rels/.rels":
                data = data.replace(b'Target="xl/', b'Target="')
            zout.writestr(info.filename.removeprefix("xl/"), data)
    return dst


@pytest.fixture(scope="module")
def originals(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("packages")
    return {"template": write_template(folder / "mau.xlsx", SPEC, values=VALUES),
            "handmade": write_handmade(folder / "tu-lam.xlsx", SPEC, VALUES)}


def read_values(path: Path) -> dict:
    sub = read_workbook(path)
    return {k: v for k, v in sub.values.items() if v is not None}


@pytest.mark.parametrize("kind", ["template", "handmade"])
@pytest.mark.parametrize("shape", ["backslash", "relocated", "both"])
def test_unusual_packages_are_read_as_the_original(originals, tmp_path, kind, shape):
    src = originals[kind]
    odd = tmp_path / f"{shape}.xlsx"
    if shape == "backslash":
        backslashed(src, odd)
    elif shape == "relocated":
        relocated(src, odd)
    else:
        backslashed(relocated(src, tmp_path / "moved.xlsx"), odd)
    names = zipfile.ZipFile(odd).namelist()
    assert ("xl/workbook.xml" not in names) and any(n.endswith("workbook.xml") for n in names)
    assert CalamineWorkbook.from_path(str(odd)).sheet_names  # python-calamine opens it: so must we
    assert inspect_file(odd) == "xlsx"
    expected = read_values(src)
    assert {k: expected[k] for k in VALUES} == VALUES
    assert read_values(odd) == expected


def test_part_names_compared_without_case(originals, tmp_path):
    """OPC compares part names case-insensitively; Excel and python-calamine find `Worksheets/Sheet1.xml`."""
    odd = tmp_path / "case.xlsx"
    with zipfile.ZipFile(originals["handmade"]) as zin, zipfile.ZipFile(odd, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename == "xl/_rels/workbook.xml.rels":
                data = data.replace(b'Target="worksheets/sheet', b'Target="Worksheets/Sheet')
            zout.writestr(info.filename, data)
    assert b"Worksheets/Sheet1.xml" in zipfile.ZipFile(odd).read("xl/_rels/workbook.xml.rels")
    assert read_values(odd) == read_values(originals["handmade"])


def _package(path: Path, main: str, content_type: str) -> Path:
    rels = ('<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
            f'officeDocument" Target="{main}"/></Relationships>')
    types = ('<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
             f'<Override PartName="/{main}" ContentType="{content_type}"/></Types>')
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("[Content_Types].xml", types)
        z.writestr("_rels/.rels", rels)
        z.writestr(main, b"\0\0" if main.endswith(".bin") else "<w:document/>")
    return path


def test_relocated_documents_are_named_by_their_content_type(tmp_path):
    xlsb = _package(tmp_path / "a.xlsx", "workbook.bin", "application/vnd.ms-excel.sheet.binary.macroEnabled.main")
    with pytest.raises(NotWorkbook, match="sổ Excel nhị phân") as err:
        inspect_file(xlsb)
    assert err.value.kind == "xlsb"
    doc = _package(tmp_path / "b.xlsx", "document.xml",
                   "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml")
    with pytest.raises(NotWorkbook):
        inspect_file(doc)


# --- .xls: sheets measured before python-calamine opens the file -------------------------------------


def _bof(kind: int) -> tuple[int, bytes]:
    return 0x0809, struct.pack("<HHHHII", 0x0600, kind, 0x0DBB, 0x07CC, 0, 0x0206)


def number(row: int, col: int, value: float) -> tuple[int, bytes]:
    return 0x0203, struct.pack("<HHHd", row, col, 0, value)


def formula(row: int, col: int) -> tuple[int, bytes]:
    """A FORMULA record with a cached 0 and no tokens: calamine keeps the cell."""
    return 0x0006, struct.pack("<HHHdHIH", row, col, 0, 0.0, 0, 0, 0)


def dimensions(rows: int, cols: int) -> tuple[int, bytes]:
    return 0x0200, struct.pack("<IIHHH", 0, rows, 0, cols, 0)


def workbook_stream(sheets: dict[str, list]) -> bytes:
    """A BIFF8 workbook stream: globals with a BOUNDSHEET for each sheet, then the sheets' records."""
    def boundsheet(pos: int, name: str) -> tuple[int, bytes]:
        return 0x0085, struct.pack("<IBBBB", pos, 0, 0, len(name), 1) + name.encode("utf-16-le")

    pos = len(biff(_bof(5), *(boundsheet(0, n) for n in sheets), (0x000A, b"")))
    bounds, bodies = [], []
    for name, records in sheets.items():
        bounds.append(boundsheet(pos, name))
        bodies.append(biff(_bof(0x10), *records, (0x000A, b"")))
        pos += len(bodies[-1])
    return biff(_bof(5), *bounds, (0x000A, b"")) + b"".join(bodies)


def mini_ole(name: str, stream: bytes) -> bytes:
    """An OLE2 file whose one stream is under 4096 bytes, hence in the mini stream (as a tiny .xls is)."""
    end, free, fatsect = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD
    n_mini = -(-len(stream) // 64)
    container = stream.ljust(-(-n_mini * 64 // 512) * 512, b"\0")
    n_cont = len(container) // 512
    fat = [fatsect, end, end] + [4 + i if i < n_cont - 1 else end for i in range(n_cont)]
    minifat = [i + 1 if i < n_mini - 1 else end for i in range(n_mini)]

    def entry(nm: str, kind: int, child: int, start: int, size: int) -> bytes:
        raw = nm.encode("utf-16-le") + b"\0\0"
        return struct.pack("<64sHBBIII16sIQQIQ", raw, len(raw), kind, 1, free, free, child, b"", 0, 0, 0,
                           start, size)

    directory = (entry("Root Entry", 5, 1, 3, n_mini * 64) + entry(name, 2, free, 0, len(stream))).ljust(512, b"\0")
    header = struct.pack("<8s16sHHHHH6sIIIIIIIII109I", bytes.fromhex("D0CF11E0A1B11AE1"), b"", 0x3E, 3, 0xFFFE,
                         9, 6, b"", 0, 1, 2, 0, 4096, 1, 1, end, 0, 0, *([free] * 108))
    sector = lambda ids: struct.pack(f"<{len(ids)}I", *ids).ljust(512, b"\xff")  # noqa: E731
    return header + sector(fat) + sector(minifat) + directory + container


FAR = {"Biểu mẫu 1": [dimensions(65535, 255), number(0, 0, 1.0), formula(65534, 254)]}


@pytest.mark.parametrize("container", ["sectors", "mini stream"])
def test_xls_whose_sheet_spans_65535_by_255_is_refused_unread(tmp_path, container):
    stream = workbook_stream(FAR)
    path = tmp_path / "bm.xls"
    path.write_bytes(make_ole({"Workbook": stream}) if container == "sectors" else mini_ole("Workbook", stream))
    assert path.stat().st_size < 10_000
    with pytest.raises(UnreadableFile) as err:
        inspect_file(path)
    assert str(err.value) == (
        'Tệp "bm.xls" bất thường: trang tính \'Biểu mẫu 1\' trải trên 65.535 dòng × 255 cột (16.711.425 ô, '
        'giới hạn 2.000.000 ô), quá lớn; để an toàn, hệ thống không đọc tệp này.')


def test_small_xls_in_the_mini_stream_is_read(tmp_path):
    path = tmp_path / "nho.xls"
    path.write_bytes(mini_ole("Workbook", workbook_stream({"Trang 1": [dimensions(2, 3), number(1, 2, 7.0)]})))
    sheet = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("Trang 1")
    assert sheet.to_python(skip_empty_area=False) == [["", "", ""], ["", "", 7.0]]
    assert inspect_file(path) == "xls"


def test_xls_limits_count_cells_not_declared_blanks(tmp_path):
    """Formatted empty cells (BLANK, MULBLANK) out to IU65535, which DIMENSIONS counts, cost calamine
    nothing: accepted. A sheet whose DIMENSIONS under-declares its cells is measured by the cells."""
    blanks = [dimensions(65535, 255), number(0, 0, 1.0), (0x0201, struct.pack("<HHH", 65534, 254, 15)),
              (0x00BE, struct.pack("<HHHHH", 65000, 250, 15, 15, 251))]
    ok = tmp_path / "ok.xls"
    ok.write_bytes(make_ole({"Workbook": workbook_stream({"S": blanks})}))
    assert inspect_file(ok) == "xls"
    liar = tmp_path / "liar.xls"
    liar.write_bytes(make_ole({"Workbook": workbook_stream({"S": [dimensions(1, 1), number(0, 0, 1.0),
                                                                  number(30000, 200, 2.0)]})}))
    with pytest.raises(UnreadableFile, match="'S' trải trên 30.001 dòng × 201 cột"):
        inspect_file(liar)
    with pytest.raises(UnreadableFile, match="tổng cộng 2.400.000 ô"):  # every sheet parsed on opening
        inspect_file(_xls(tmp_path / "two.xls", {"A": [number(5999, 199, 1.0)], "B": [number(5999, 199, 1.0)]}))
    assert inspect_file(ok, Limits(max_cells=10**9)) == "xls"


def test_biff5_book_stream_is_measured():
    """BIFF5 (Excel 5/95, stream "Book"): 8-bit sheet names in the workbook's code page."""
    bof = (0x0809, struct.pack("<HHHH", 0x0500, 0x0005, 0x0DBB, 0x07CC))
    name = "Trang".encode("cp1252")
    sheet = biff((0x0809, struct.pack("<HHHH", 0x0500, 0x0010, 0, 0)), number(29999, 99, 1.0), (0x000A, b""))
    codepage = (0x0042, struct.pack("<H", 1252))
    head_len = len(biff(bof, codepage, (0x0085, bytes(7 + len(name))), (0x000A, b"")))
    bound = (0x0085, struct.pack("<IHB", head_len, 0, len(name)) + name)
    assert sheet_extents(biff(bof, codepage, bound, (0x000A, b"")) + sheet) == {"Trang": (30000, 100)}


def _xls(path: Path, sheets: dict) -> Path:
    path.write_bytes(make_ole({"Workbook": workbook_stream(sheets)}))
    return path


# --- peak memory of reading: a subprocess per file -------------------------------------------------------

# The peak of this process's own memory: /proc's VmHWM, where Linux has it. getrusage's ru_maxrss counts
# the parent's memory too (kept over fork and exec), as large as the test run that started it.
MEASURE = """
import json, resource, sys
from cchc_excel.errors import UnreadableFile
from cchc_excel.read.reader import read_workbook
try:
    sub = read_workbook(sys.argv[1])
    outcome = "read"
except UnreadableFile as e:
    outcome = str(e)
try:
    with open("/proc/self/status") as f:
        mb = next(int(line.split()[1]) for line in f if line.startswith("VmHWM:")) / 1024
except (OSError, StopIteration):
    mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps([outcome, mb]))
"""


def peak(path: Path) -> tuple[str, float]:
    """Read `path` in a fresh process: ("read" or the refusal's message, peak RSS in MB)."""
    run = subprocess.run([sys.executable, "-c", MEASURE, str(path)], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    outcome, mb = json.loads(run.stdout.strip().splitlines()[-1])
    return outcome, mb


def _ods(path: Path, sheets: dict[str, tuple[int, int]]) -> Path:
    """An .ods whose sheets hold a cell at A1 and one at (rows, cols), repeats between."""
    ns = ('xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
          'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
          'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"')
    cell = '<table:table-cell office:value-type="float" office:value="1"><text:p>1</text:p></table:table-cell>'
    tables = "".join(
        f'<table:table table:name="{name}"><table:table-row>{cell}</table:table-row>'
        f'<table:table-row table:number-rows-repeated="{rows - 2}"><table:table-cell/></table:table-row>'
        f'<table:table-row><table:table-cell table:number-columns-repeated="{cols - 1}"/>{cell}</table:table-row>'
        '</table:table>' for name, (rows, cols) in sheets.items())
    manifest = ('<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0">'
                '<manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.'
                'opendocument.spreadsheet"/></manifest:manifest>')
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        z.writestr("META-INF/manifest.xml", manifest)
        z.writestr("content.xml", f'<office:document-content {ns}><office:body><office:spreadsheet>{tables}'
                                  '</office:spreadsheet></office:body></office:document-content>', zipfile.ZIP_DEFLATED)
    return path


def _xlsx_corners(path: Path, sheets: list[tuple[int, int]]) -> Path:
    """An xlsx whose sheets hold a cell at A1 and one at (rows, cols) each."""
    wb = xlsxwriter.Workbook(path)
    for n, (rows, cols) in enumerate(sheets, 1):
        ws = wb.add_worksheet(f"Biểu mẫu {n}")
        ws.write_number(0, 0, 1)
        ws.write_number(rows - 1, cols - 1, 2)
    wb.close()
    return path


def test_no_file_takes_the_reader_past_300_mb(tmp_path):
    """Each file at (or over) the limits, read in a fresh process: refused or read, under 300 MB."""
    cases = {
        # 5 KB, 65,535 × 255: python-calamine alone reached 1.1 GB opening it.
        "far.xls": (_xls(tmp_path / "far.xls", FAR), "65.535 dòng × 255 cột"),
        "under.xls": (_xls(tmp_path / "under.xls", {"S": [number(0, 0, 1.0), number(7799, 255, 2.0)]}), "read"),
        # 20,000 × 256 was within the former rows × columns bound of an .ods: 370 MB in calamine.
        "wide.ods": (_ods(tmp_path / "wide.ods", {"S": (20000, 256)}), "'S' trải trên 20.000 dòng × 256 cột"),
        "two.ods": (_ods(tmp_path / "two.ods", {"A": (8000, 200), "B": (8000, 200)}), "tổng cộng 3.200.000 ô"),
        "under.ods": (_ods(tmp_path / "under.ods", {"S": (7800, 256)}), "read"),
        # Within max_rows × max_cols, so once read whole by calamine: streamed now.
        "corners.xlsx": (_xlsx_corners(tmp_path / "corners.xlsx", [(20000, 256)]), "read"),
        # Each sheet within the limits, all of them together not: 8 × 41 MB of rows kept (350 MB).
        "sheets.xlsx": (_xlsx_corners(tmp_path / "sheets.xlsx", [(20000, 256)] * 8),
                        "tổng cộng 10.240.000 ô (giới hạn 5.120.000 ô)"),
    }
    for name, (path, expected) in cases.items():
        outcome, mb = peak(path)
        assert expected in outcome, (name, outcome)
        assert mb < MAX_RSS_MB, (name, mb)
