"""Tests of checking files: `check_file`, `check_paths` and `cchc check`.

The first part runs the orchestration (finding files, worker processes, a crashing file, exit statuses,
the JSON document, the terminal table) over a stand-in reader that reads small JSON files, so that it
does not depend on how workbooks are parsed. The second part builds real workbooks, good and hostile,
and checks them end to end through the real reader.
"""

import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from cchc_excel.check import run as check_mod
from cchc_excel.check.run import check_file, check_paths, find_files
from cchc_excel.cli import cli
from cchc_excel.errors import UnreadableFile
from cchc_excel.core.periods import parse_period
from cchc_excel.core.roster import Unit
from cchc_excel.spec.loader import load_spec
from cchc_excel.read.submission import CellRef, Submission

SPEC = load_spec()
ROOT = Path(__file__).resolve().parent.parent

SEED = {
    "BM1-1": 6, "BM1-2": 48, "BM1-2.1": 25, "BM1-2.2": 12, "BM1-5": 1, "BM1-5.1": 10, "BM1-5.2": 0,
    "BM1-6": 1, "BM2-1.3": 0, "BM3-1.4": 157, "BM3-1.4.3": 157, "BM3-3.1": 100, "BM3-3.1.1": 369,
    "BM3-3.1.2": 369, "BM3-3.2": 0, "BM3-3.2.1": 0, "BM3-3.2.2": 0, "BM4-1.1": 1, "BM4-2.1": 0, "BM4-2.2": 20,
    "BM4-2.3": 2, "BM4-2.4": 0, "BM4-3.1": 42, "BM4-3.2": 42, "BM4-3.3": 0, "BM4-3.4": 0, "BM7-1.1": 100,
    "BM7-1.1.3": 100, "BM7-1.2.3": 100, "BM7-2.4.1": 399, "BM7-2.4.2": 399,
}
CLEAN = {**SEED, "BM4-2.1": 20, "BM7-1.2": 100}  # no finding at all


# --------------------------------------------------------------------------------------------- stand-in

def fake_read(path, spec, *, roster=None, unit_code=None, period=None):
    """Reads `{"unit": [code, name], "period": "2023-Q2", "values": {...}}`; CRASH kills the process."""
    spec = spec or load_spec()
    raw = Path(path).read_bytes()
    if raw.startswith(b"CRASH"):
        os._exit(3)
    if raw.startswith(b"BUG"):
        raise KeyError("boom")
    try:
        data = json.loads(raw)
    except ValueError:
        raise UnreadableFile(f"{Path(path).name}: tệp không phải là bảng tính Excel hoặc LibreOffice.") from None
    cells = {}
    for form in spec.forms:
        for n, ind in enumerate(form.indicators):
            cells[ind.id] = CellRef(form.name, f"D{7 + n}")
    values = {ind.id: None for ind in spec.value_indicators}
    values.update(data.get("values", {}))
    code, name = data.get("unit") or (unit_code, None)
    return Submission(
        path=Path(path), spec=spec, unit=Unit(code, name, "xa") if name else None,
        period=parse_period(data["period"]) if data.get("period") else period, level="xa",
        reported_levels=frozenset({"xa"}), values=values, cells=cells, saved_at=None,
    )


@pytest.fixture
def fake_reader(monkeypatch):
    monkeypatch.setattr(check_mod, "_read_workbook", fake_read)


def write_return(path: Path, values, unit=("HN-TQB", "UBND phường Tam Quan Bắc"), period="2023-Q2"):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"unit": unit, "period": period, "values": values}), encoding="utf-8")
    return path


def run(*args):
    return CliRunner().invoke(cli, ["check", *map(str, args)], catch_exceptions=False)


@pytest.fixture
def returns(tmp_path, fake_reader):
    """Three returns: a clean one, the seed (two warnings), one with an error, and a broken file."""
    d = tmp_path / "returns"
    write_return(d / "a-clean.xlsx", CLEAN, unit=("HN-HD", "UBND phường Hoài Đức"))
    write_return(d / "b-seed.xlsx", SEED)
    write_return(d / "c-error.xlsx", {**SEED, "BM3-3.1.2": 370}, unit=("HN-HH", "UBND xã Hoài Hải"))
    (d / "d-broken.xlsx").write_bytes(b"not a workbook")
    return d


# --------------------------------------------------------------------------------------------- library

def test_check_file_values_and_status(tmp_path, fake_reader):
    report = check_file(write_return(tmp_path / "seed.xlsx", SEED))
    assert report.status == "warnings"
    assert [(i.rule, i.indicator) for i in report.issues] == [("BM4-R1", "BM4-2.2"), ("parent-blank", "BM7-1.2")]
    assert report.unit == {"code": "HN-TQB", "name": "UBND phường Tam Quan Bắc", "level": "xa"}
    assert report.period == "2023-Q2" and report.spec == "cv371-2022"
    assert report.values["BM7-2.4"] == 100 and report.values["BM3-3.2"] is None
    assert len(report.sha256) == 64 and report.submission is not None
    assert report.reported_levels == frozenset({"xa"})


def test_check_file_never_raises_for_a_bad_file(tmp_path, fake_reader):
    (tmp_path / "bug.xlsx").write_bytes(b"BUG")
    report = check_file(tmp_path / "bug.xlsx")
    assert report.status == "unreadable"
    assert [(i.severity, i.rule) for i in report.issues] == [("error", "unreadable")]
    assert "lỗi không lường trước" in report.issues[0].message
    missing = check_file(tmp_path / "nope.xlsx")
    assert missing.status == "unreadable" and "không tìm thấy tệp" in missing.issues[0].message
    folder = check_file(tmp_path)
    assert folder.status == "unreadable" and "thư mục" in folder.issues[0].message
    device = check_file("/dev/zero")  # never read: it has no end
    assert device.status == "unreadable" and "tệp đặc biệt" in device.issues[0].message


def test_find_files(tmp_path):
    for name in ["b/2.xlsx", "b/1.XLSX", "a.ods", "c/d/e.xls", "c/f.xlsm", "~$a.xlsx", "b/.~lock.1.xlsx#",
                 "._a.xlsx", "notes.txt", "c/g.csv"]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    from cchc_excel.core.manifest import MANIFEST_COLUMNS

    (tmp_path / "manifest.csv").write_text("\ufeff" + ",".join(MANIFEST_COLUMNS) + "\r\n", encoding="utf-8")
    (tmp_path / "c" / "manifest.csv").write_text("ma,ten\n", encoding="utf-8")  # not collect's: listed
    got = [os.path.relpath(p, tmp_path) for p in find_files([tmp_path, tmp_path / "notes.txt", tmp_path / "a.ods"])]
    # Every file under a folder is listed (lock files, text, csv too), save the manifest of `cchc collect`.
    assert got == ["._a.xlsx", "a.ods", "b/.~lock.1.xlsx#", "b/1.XLSX", "b/2.xlsx", "c/d/e.xls", "c/f.xlsm",
                   "c/g.csv", "c/manifest.csv", "notes.txt", "~$a.xlsx"]


def test_check_paths_in_parallel_matches_serial(tmp_path, fake_reader):
    for n in range(40):
        values = {**CLEAN, "BM1-1": n}
        if n % 7 == 0:
            values["BM3-3.1.2"] = 400  # > 369
        write_return(tmp_path / f"r{n:02}.xlsx", values)
    (tmp_path / "r99.xlsx").write_bytes(b"broken")
    calls = []
    parallel = check_paths([tmp_path], jobs=2, progress=lambda done, total: calls.append((done, total)))
    serial = check_paths([tmp_path], jobs=1)
    assert [f.to_dict() for f in parallel.files] == [f.to_dict() for f in serial.files]
    assert [f.path for f in parallel.files] == sorted(f.path for f in parallel.files)
    assert parallel.summary()["errors"] == 6 and parallel.summary()["unreadable"] == 1
    assert calls[-1] == (41, 41) and len(calls) > 1
    assert all(f.submission is None for f in parallel.files)  # memory flat: no Submissions kept
    kept = check_paths([tmp_path], jobs=2, keep_submissions=True)
    assert all(f.submission.spec is SPEC for f in kept.files if f.status != "unreadable")
    assert check_paths([tmp_path], SPEC, jobs=2, keep_submissions=True).files[0].submission.spec is SPEC


def test_a_submission_is_pickled_without_a_spec_load_spec_gives_back():
    import dataclasses
    import pickle

    from cchc_excel.spec.loader import parse_spec

    sub = Submission(path=Path("a.xlsx"), spec=SPEC, values={"BM1-1": 3})
    data = pickle.dumps(sub)
    assert len(data) < 1000  # a reference to the spec, not the spec
    back = pickle.loads(data)
    assert back.spec is SPEC and back.values == {"BM1-1": 3} and back.path == Path("a.xlsx")
    # A spec load_spec cannot give back (built in memory, or changed since loaded) travels whole.
    import yaml

    built = parse_spec(yaml.safe_load((ROOT / "cchc_excel/spec/forms/cv371-2022.yaml").read_text("utf-8")))
    changed = dataclasses.replace(SPEC, deadline_day=25)
    for spec in (built, changed):
        again = pickle.loads(pickle.dumps(Submission(path=Path("a.xlsx"), spec=spec)))
        assert again.spec == spec and again.spec.deadline_day == spec.deadline_day


def test_a_file_that_kills_its_worker_does_not_stop_the_others(tmp_path, fake_reader):
    for n in range(30):
        write_return(tmp_path / f"r{n:02}.xlsx", CLEAN)
    (tmp_path / "r15-crash.xlsx").write_bytes(b"CRASH")
    report = check_paths([tmp_path], jobs=2)
    assert len(report.files) == 31
    crashed = [f for f in report.files if f.status == "unreadable"]
    assert [Path(f.path).name for f in crashed] == ["r15-crash.xlsx"]
    assert "bị dừng đột ngột" in crashed[0].issues[0].message
    assert sum(f.status == "ok" for f in report.files) == 30


# --------------------------------------------------------------------------------------------- CLI

def test_json_document(returns):
    result = run(returns, "--json")
    assert result.exit_code == 1
    doc = json.loads(result.output)
    assert list(doc) == ["files", "summary"]
    assert [(Path(f["path"]).name, f["status"]) for f in doc["files"]] == [
        ("a-clean.xlsx", "ok"), ("b-seed.xlsx", "warnings"), ("c-error.xlsx", "errors"),
        ("d-broken.xlsx", "unreadable")]
    seed = doc["files"][1]
    assert list(seed) == ["path", "status", "unit", "period", "spec", "values", "issues"]
    assert seed["unit"] == {"code": "HN-TQB", "name": "UBND phường Tam Quan Bắc", "level": "xa"}
    assert seed["period"] == "2023-Q2" and seed["spec"] == "cv371-2022"
    assert len(seed["values"]) == len(SPEC.value_indicators)
    assert seed["values"]["BM1-1"] == 6 and seed["values"]["BM1-3.1"] is None
    assert seed["values"]["BM7-2.4"] == 100  # recomputed
    assert seed["issues"][0] == {
        "severity": "warning", "rule": "BM4-R1", "indicator": "BM4-2.2", "sheet": "Biểu mẫu 4", "cell": "D11",
        "message": "Tổng số biên chế có mặt tại thời điểm báo cáo (20) lớn hơn Tổng số biên chế được giao "
                   "trong năm (0); hãy kiểm tra lại."}
    broken = doc["files"][3]
    assert broken["unit"] is None and broken["values"] == {}
    assert [(i["severity"], i["rule"]) for i in broken["issues"]] == [("error", "unreadable")]
    assert doc["summary"]["files"] == 4 and doc["summary"]["errors"] == 1 and doc["summary"]["unreadable"] == 1


def test_terminal_table(returns):
    result = run(returns / "c-error.xlsx", returns / "b-seed.xlsx", returns / "d-broken.xlsx")
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0] == f"{returns / 'b-seed.xlsx'} — UBND phường Tam Quan Bắc (HN-TQB) — 2023-Q2 — Có cảnh báo"
    error_file = lines.index(f"{returns / 'c-error.xlsx'} — UBND xã Hoài Hải (HN-HH) — 2023-Q2 — Có lỗi")
    assert re.fullmatch(r"  Lỗi +Biểu mẫu 3!D22 +BM3-3\.1\.2 +Số hồ sơ TTHC giải quyết đúng hạn \(370\) lớn hơn "
                        r"Tổng số hồ sơ TTHC đã giải quyết xong \(369\)\.", lines[error_file + 1])
    assert lines[error_file + 2].startswith("  Cảnh báo")  # errors first
    assert "Không đọc được" in lines[-3] and lines[-2].startswith("  Lỗi ")
    assert lines[-1] == "Đã kiểm tra 3 tệp: 1 có cảnh báo, 1 có lỗi, 1 không đọc được (2 lỗi, 4 cảnh báo)."


def test_exit_status_0_when_only_warnings(returns):
    result = run(returns / "a-clean.xlsx", returns / "b-seed.xlsx")
    assert result.exit_code == 0
    assert result.output.splitlines()[-1] == "Đã kiểm tra 2 tệp: 1 đạt, 1 có cảnh báo (0 lỗi, 2 cảnh báo)."


def test_exit_status_1_for_errors_or_unreadable(returns):
    assert run(returns / "c-error.xlsx").exit_code == 1
    assert run(returns / "d-broken.xlsx").exit_code == 1


@pytest.mark.parametrize("args, message", [
    ([], "Thiếu đối số"),
    (["nope/"], "Không tìm thấy"),
    (["{returns}", "--period", "quý năm"], "--period"),
    (["{returns}", "--spec", "cv999"], "--spec"),
    (["{returns}", "--roster", "{returns}/a-clean.xlsx"], "--roster"),
    (["{returns}", "--jobs", "0"], "--jobs"),
])
def test_exit_status_2_for_wrong_usage(returns, args, message):
    result = run(*[a.format(returns=returns) for a in args])
    assert result.exit_code == 2, result.output
    assert message in result.output


def test_period_and_unit_options_reach_the_reader(tmp_path, fake_reader):
    write_return(tmp_path / "x.xlsx", CLEAN, unit=None, period=None)
    doc = json.loads(run(tmp_path / "x.xlsx", "--json", "--period", "Quý II/2023").output)
    assert doc["files"][0]["period"] == "2023-Q2"


def test_empty_folder(tmp_path):
    result = run(tmp_path, "--json")
    assert result.exit_code == 0
    assert "Không tìm thấy tệp bảng tính nào" in result.output  # on stderr


def test_feedback_is_written_for_files_with_findings(returns, tmp_path):
    result = run(returns, "--feedback", tmp_path / "fb")
    assert result.exit_code == 1
    written = sorted(p.name for p in (tmp_path / "fb").iterdir())
    # the clean file gets none, the unreadable one neither (nothing to carry)
    assert written == ["b-seed_phan-hoi.xlsx", "c-error_phan-hoi.xlsx"]
    assert "Đã ghi 2 tệp phản hồi vào" in result.output  # on stderr


def test_a_feedback_that_fails_does_not_stop_the_others(returns, tmp_path, monkeypatch):
    from cchc_excel.check import feedback

    real = feedback.write_feedback

    def flaky(file_report, out_dir, **options):
        if file_report.path.endswith("b-seed.xlsx"):
            raise KeyError("bug")
        return real(file_report, out_dir, **options)

    monkeypatch.setattr(feedback, "write_feedback", flaky)
    result = run(returns, "--feedback", tmp_path / "fb")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert sorted(p.name for p in (tmp_path / "fb").iterdir()) == ["c-error_phan-hoi.xlsx"]
    assert f"Không ghi được phản hồi cho {returns / 'b-seed.xlsx'} do lỗi của chương trình (KeyError)" \
        in result.output


def test_help_is_vietnamese_with_an_example():
    result = CliRunner().invoke(cli, ["check", "--help"])
    assert result.exit_code == 0
    assert "Kiểm tra các tệp báo cáo CCHC" in result.output and "Ví dụ:" in result.output
    assert "cchc check bao-cao-ve/" in result.output


# --------------------------------------------------------------------------------------------- real files

SEED_VALUES = dict(SEED)


@pytest.fixture(scope="module")
def real_files(tmp_path_factory):
    pytest.importorskip("cchc_excel.read.reader")
    from workbooks import write_template

    d = tmp_path_factory.mktemp("real")
    ward = Unit("HN-TQB", "UBND phường Tam Quan Bắc", "xa")
    write_template(d / "tam-quan-bac.xlsx", SPEC, unit=ward, period="2023-Q2", values=SEED_VALUES)
    # our template always writes ratios as formulas: the stand-in writes the number typed over one
    write_template(d / "overwritten.xlsx", SPEC, unit=ward, period="2023-Q2",
                   values={**CLEAN, "BM3-3.1": 90}, real=False)
    return d


def test_real_template_of_the_seed_ward(real_files):
    report = check_file(real_files / "tam-quan-bac.xlsx")
    assert report.status == "warnings", report.issues
    assert [(i.severity, i.rule, i.indicator) for i in report.issues if i.severity != "info"] == [
        ("warning", "BM4-R1", "BM4-2.2"), ("warning", "parent-blank", "BM7-1.2")]
    assert report.unit == {"code": "HN-TQB", "name": "UBND phường Tam Quan Bắc", "level": "xa"}
    assert report.period == "2023-Q2"
    assert report.values["BM3-3.1"] == 100 and report.values["BM7-2.4"] == 100
    issue = report.issues[0]
    assert issue.sheet == "Biểu mẫu 4" and re.fullmatch(r"D\d+", issue.cell)


def test_real_template_with_an_overwritten_formula(real_files):
    report = check_file(real_files / "overwritten.xlsx")
    assert [(i.severity, i.rule, i.indicator) for i in report.issues if i.severity != "info"] == [
        ("error", "formula-overwritten", "BM3-3.1")]
    assert "ô công thức đã bị ghi đè bằng số 90; giá trị tính lại là 100" in report.issues[0].message


# --------------------------------------------------------------------------------------------- bad input

_NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PARTS = {
    "[Content_Types].xml": (
        '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
        'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
        'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override '
        'PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.'
        'sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>'),
    "_rels/.rels": (
        '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/'
        f'package/2006/relationships"><Relationship Id="rId1" Type="{_REL}/officeDocument" '
        'Target="xl/workbook.xml"/></Relationships>'),
    "xl/workbook.xml": (
        f'<?xml version="1.0" encoding="UTF-8"?><workbook {_NS} xmlns:r="{_REL}"><sheets>'
        '<sheet name="{sheet}" sheetId="1" r:id="rId1"/></sheets></workbook>'),
    "xl/_rels/workbook.xml.rels": (
        '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/'
        f'package/2006/relationships"><Relationship Id="rId1" Type="{_REL}/worksheet" '
        'Target="worksheets/sheet1.xml"/></Relationships>'),
}


def minimal_xlsx(path: Path, write_sheet, sheet: str = "Biểu mẫu 1") -> Path:
    """A one-sheet .xlsx written part by part; `write_sheet(stream)` writes the sheet's XML."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in _PARTS.items():
            z.writestr(name, text.replace("{sheet}", sheet))
        with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as f:
            write_sheet(f)
    return path


def _sheet(body: bytes, prolog: bytes = b"") -> bytes:
    return (b'<?xml version="1.0" encoding="UTF-8"?>' + prolog + f"<worksheet {_NS}><sheetData>".encode()
            + body + b"</sheetData></worksheet>")


def xml_bomb(path: Path) -> Path:
    """Billion laughs: ten levels of ten entities, 10^9 'lol's once expanded."""
    entities = '<!ENTITY lol0 "lol">' + "".join(
        f'<!ENTITY lol{i} "{("&lol%d;" % (i - 1)) * 10}">' for i in range(1, 10))
    prolog = f"<!DOCTYPE worksheet [{entities}]>".encode()
    cell = b'<row r="1"><c r="A1" t="inlineStr"><is><t>&lol9;</t></is></c></row>'
    return minimal_xlsx(path, lambda f: f.write(_sheet(cell, prolog)))


def zip_bomb(path: Path, megabytes: int = 150) -> Path:
    """A sheet of `megabytes` MB of blanks, compressed about 1,000 to 1."""
    def write(f):
        f.write(_sheet(b"")[:-len(b"</sheetData></worksheet>")])
        chunk = b" " * (1 << 20)
        for _ in range(megabytes):
            f.write(chunk)
        f.write(b"</sheetData></worksheet>")
    return minimal_xlsx(path, write)


def lying_zip_bomb(path: Path) -> Path:
    """The zip bomb again, its central directory claiming the sheet inflates to 1,000 bytes."""
    import struct

    data = bytearray(zip_bomb(path).read_bytes())
    at = data.find(b"PK\x01\x02")
    while at >= 0:
        name_len, extra_len = struct.unpack_from("<HH", data, at + 28)
        if data[at + 46:at + 46 + name_len].endswith(b"sheet1.xml"):
            struct.pack_into("<I", data, at + 24, 1000)
        at = data.find(b"PK\x01\x02", at + 46 + name_len + extra_len)
    path.write_bytes(bytes(data))
    return path


def many_rows(path: Path, rows: int = 400_000) -> Path:
    """A data dump: a sheet of `rows` rows of three numbers."""
    body = "".join(f'<row r="{i}"><c r="A{i}"><v>{i}</v></c><c r="B{i}"><v>{i % 97}</v></c>'
                   f'<c r="C{i}"><v>{i * 3}</v></c></row>' for i in range(1, rows + 1))
    return minimal_xlsx(path, lambda f: f.write(_sheet(body.encode())), sheet="Sheet1")


def far_cells(path: Path) -> Path:
    """Three cells, at A1, XFD2 and A1048576: python-calamine would allocate the whole rectangle they span
    (512 GB)."""
    body = (b'<row r="1"><c r="A1" t="inlineStr"><is><t>Bi\xe1\xbb\x83u m\xe1\xba\xabu 1</t></is></c></row>'
            b'<row r="2"><c r="XFD2"><v>1</v></c></row><row r="1048576"><c r="A1048576"><v>1</v></c></row>')
    return minimal_xlsx(path, lambda f: f.write(_sheet(body)))


def repeated_cells_ods(path: Path, rows: int = 30_000, cols: int = 1000) -> Path:
    """A 1 KB .ods whose one cell is repeated over `rows` rows and `cols` columns (30 million cells)."""
    ns = ('xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
          'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
          'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"')
    content = (f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {ns} office:version="1.2">'
               '<office:body><office:spreadsheet><table:table table:name="Biểu mẫu 1">'
               f'<table:table-row table:number-rows-repeated="{rows}"><table:table-cell '
               f'table:number-columns-repeated="{cols}" office:value-type="float" office:value="1">'
               '<text:p>1</text:p></table:table-cell></table:table-row>'
               '</table:table></office:spreadsheet></office:body></office:document-content>')
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        z.writestr("content.xml", content, zipfile.ZIP_DEFLATED)
    return path


def encrypted_workbook(path: Path) -> Path:
    """What Excel writes for a password-protected workbook: an OLE compound file holding the streams
    `EncryptionInfo` and `EncryptedPackage` instead of a zip (MS-OFFCRYPTO). Built by hand: CFB version
    3, 512-byte sectors, one FAT sector, one directory sector, two streams of 4,096 bytes."""
    import struct

    free, end, fat_sect, nostream = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF
    info = struct.pack("<HHI", 4, 4, 0x40) + b"\x00" * (4096 - 8)  # agile encryption, version 4.4
    package = struct.pack("<Q", 12345) + bytes(range(256)) * 15 + b"\x00" * (4096 - 8 - 3840)
    fat = [fat_sect, end] + list(range(3, 10)) + [end] + list(range(11, 18)) + [end]
    fat += [free] * (128 - len(fat))
    header = struct.pack(
        "<8s16sHHHHH6sIIIIIIIII", bytes.fromhex("D0CF11E0A1B11AE1"), b"\x00" * 16, 0x3E, 3, 0xFFFE, 9, 6,
        b"\x00" * 6, 0, 1, 1, 0, 0x1000, end, 0, end, 0)
    header += struct.pack("<I", 0) + struct.pack("<I", free) * 108

    def entry(name, kind, left, right, child, start, size):
        raw = (name + "\0").encode("utf-16-le") if name else b""
        return struct.pack("<64sHBBIII16sIQQIQ", raw.ljust(64, b"\0"), len(raw), kind, 1, left, right, child,
                           b"\x00" * 16, 0, 0, 0, start, size)

    directory = (entry("Root Entry", 5, nostream, nostream, 1, end, 0)
                 + entry("EncryptionInfo", 2, nostream, 2, nostream, 2, len(info))
                 + entry("EncryptedPackage", 2, nostream, nostream, nostream, 10, len(package))
                 + entry("", 0, nostream, nostream, nostream, 0, 0))
    path.write_bytes(header + struct.pack("<128I", *fat) + directory + info + package)
    return path


BAD_FILES = {
    # name: (builder, words one of which the message must contain)
    "empty.xlsx": (lambda p, good: p.write_bytes(b""), ("rỗng", "trống", "0 byte")),
    "not-a-spreadsheet.xlsx": (lambda p, good: p.write_bytes(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n"),
                               ("không phải",)),
    "a-word-document.xlsx": (lambda p, good: _word_document(p), ("không phải", "không có", "thiếu")),
    "truncated.xlsx": (lambda p, good: p.write_bytes(good.read_bytes()[: len(good.read_bytes()) * 2 // 3]),
                       ("hỏng", "không trọn vẹn", "cắt")),
    "encrypted.xlsx": (lambda p, good: encrypted_workbook(p), ("mật khẩu",)),
    "xml-bomb.xlsx": (lambda p, good: xml_bomb(p), ("nguy hiểm", "thực thể", "DOCTYPE", "hỏng", "DTD")),
    "zip-bomb.xlsx": (lambda p, good: zip_bomb(p), ("nén", "quá lớn", "giải nén")),
    "zip-bomb-lying.xlsx": (lambda p, good: lying_zip_bomb(p), ("hỏng", "quá lớn", "bất thường")),
    "400000-rows.xlsx": (lambda p, good: many_rows(p), ("dòng",)),
    "far-cells.xlsx": (lambda p, good: far_cells(p), ("quá nhiều cột",)),
    "repeated-cells.ods": (lambda p, good: repeated_cells_ods(p), ("quá lớn",)),
}


def _word_document(path: Path):
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<w:document/>")


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory):
    pytest.importorskip("cchc_excel.read.reader")
    from workbooks import write_template

    d = tmp_path_factory.mktemp("bad")
    good = write_template(d / "good.xlsx", SPEC, unit=Unit("HN-HD", "UBND phường Hoài Đức", "xa"),
                          period="2023-Q2", values=CLEAN)
    for name, (build, _) in BAD_FILES.items():
        build(d / name, good)
    return d


@pytest.mark.parametrize("name", list(BAD_FILES))
def test_bad_file(bad_files, name):
    """Each hostile file is refused with a message (how fast: benchmarks/bench_limits.py)."""
    report = check_file(bad_files / name)
    assert report.status in ("unreadable", "errors"), report.issues
    errors = [i for i in report.issues if i.severity == "error"]
    assert errors, report.issues
    text = " ".join(i.message for i in report.issues)
    assert any(word in text for word in BAD_FILES[name][1]), text
    assert "Traceback" not in text


def test_one_bad_file_never_stops_the_others(bad_files):
    result = run(bad_files, "--json")
    assert result.exit_code == 1
    doc = json.loads(result.output)
    by_name = {Path(f["path"]).name: f for f in doc["files"]}
    assert sorted(by_name) == sorted([*BAD_FILES, "good.xlsx"])
    assert by_name["good.xlsx"]["status"] == "ok"
    assert all(by_name[name]["status"] in ("unreadable", "errors") for name in BAD_FILES)
    terminal = run(bad_files)
    assert "Traceback" not in terminal.output and terminal.exit_code == 1
    assert len([line for line in terminal.output.splitlines() if not line.startswith("  ")]) == len(BAD_FILES) + 2


def test_bad_files_are_read_in_bounded_memory(bad_files):
    """All the hostile files, checked in a fresh process: its peak memory stays small."""
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over exec, so a child of pytest would report pytest's.
    code = (
        "import re, sys\n"
        "from cchc_excel.check.run import check_paths\n"
        "report = check_paths([sys.argv[1]], jobs=1)\n"
        "status = open('/proc/self/status').read()\n"
        "print(int(re.search(r'VmHWM:\\s+(\\d+)', status).group(1)) // 1024)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    baseline = subprocess.run([sys.executable, "-c", code.replace("check_paths([sys.argv[1]], jobs=1)", "None")
                               .replace("from cchc_excel.check.run import check_paths", "import cchc_excel.check.run"),
                               str(bad_files)], capture_output=True, text=True, env=env, check=True)
    peak = subprocess.run([sys.executable, "-c", code, str(bad_files)], capture_output=True, text=True, env=env,
                          check=True)
    grown = int(peak.stdout.split()[-1]) - int(baseline.stdout.split()[-1])
    assert grown < 100, f"checking the hostile files took {grown} MB more than importing the package"


def test_a_folder_that_cannot_be_listed_gets_its_line(tmp_path, monkeypatch):
    import os as os_module

    from cchc_excel.check import run as check_module

    locked = tmp_path / "khong-doc-duoc"
    locked.mkdir()
    real_walk = os_module.walk

    def walk(top, onerror=None, **kwargs):  # as root every folder can be listed: pretend this one cannot
        for root, dirs, files in real_walk(top, onerror=onerror, **kwargs):
            if "khong-doc-duoc" in dirs:
                dirs.remove("khong-doc-duoc")
                onerror(PermissionError(13, "Permission denied", str(locked)))
            yield root, dirs, files

    monkeypatch.setattr(check_module.os, "walk", walk)
    monkeypatch.setattr(check_module.os, "access", lambda path, mode: not str(path).endswith("khong-doc-duoc"))
    report = check_module.check_paths([tmp_path], jobs=1)
    (line,) = report.files
    assert line.status == "unreadable" and line.path == str(locked)
    assert "không mở được thư mục này" in line.issues[0].message
