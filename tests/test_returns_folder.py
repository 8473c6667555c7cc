"""A returns folder as it really is: PDFs, Word documents, images, lock files and zips beside the
workbooks. Every file gets its line; every spreadsheet in a zip is checked as `archive.zip!inner.xlsx`.

Unit codes are made up; the names are wards of thị xã Hoài Nhơn.
"""

import io
import json
import os
import zipfile
from datetime import datetime, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner

from cchc_excel.check import run as check_mod
from cchc_excel.check.run import check_file, check_paths
from cchc_excel.cli import cli
from cchc_excel.core.roster import Unit
from cchc_excel.errors import UnreadableFile
from cchc_excel.ooxml.gate import Limits, NotWorkbook, open_checked
from cchc_excel.read.archive import Archive, member_path, outer_file
from cchc_excel.spec.loader import load_spec
from cchc_excel.template.build import template_bytes, write_template
from test_safety import make_ole

SPEC = load_spec()
TQB = Unit("HN-TQB", "UBND phường Tam Quan Bắc", "xa")
BS = Unit("HN-BS", "UBND phường Bồng Sơn", "xa")
CLEAN = {"BM1-1": 5, "BM1-2.1": 10, "BM1-2.2": 8}
WRONG = {"BM1-2.1": 5, "BM1-2.2": 9}  # more tasks done than planned: an error
ROSTER = ("ma_don_vi,ten_don_vi,cap,don_vi_cha,email\nHN,Thị xã Hoài Nhơn,huyen,,\n"
          "HN-TQB,Phường Tam Quan Bắc,xa,HN,\nHN-BS,Phường Bồng Sơn,xa,HN,\n")


def filled(unit=TQB, values=CLEAN, day=10) -> bytes:
    return template_bytes(SPEC, level="xa", unit=unit, period="2023-Q2", values=values,
                          generated_at=datetime(2023, 6, day, 9, tzinfo=timezone.utc))


def zipped(members: dict) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def docx() -> bytes:
    return zipped({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w:document/>"})


def run(*args):
    return CliRunner().invoke(cli, [*map(str, args)], catch_exceptions=False)


def lines_by_name(report):
    return {Path(f.path).name: f for f in report.files}


# --------------------------------------------------------------------------------------------- not returns

@pytest.fixture
def mixed(tmp_path):
    d = tmp_path / "bao-cao-ve"
    d.mkdir()
    (d / "22240_tam-quan-bac.xlsx").write_bytes(filled())
    (d / "Công văn 12.pdf").write_bytes(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n")
    (d / "Báo cáo.doc").write_bytes(make_ole({"WordDocument": b"\xec\xa5", "1Table": b""}))
    (d / "Báo cáo.docx").write_bytes(docx())
    (d / "ảnh chụp.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    (d / "GHI CHU").write_text("Số liệu gửi sau.", encoding="utf-8")
    (d / "~$22240_tam-quan-bac.xlsx").write_bytes(b"\x07Nguyen A" + b" " * 47)
    return d


def test_every_file_under_a_folder_gets_its_line(mixed):
    report = check_paths([mixed])
    by_name = lines_by_name(report)
    assert sorted(by_name) == sorted(os.listdir(mixed))
    assert by_name["22240_tam-quan-bac.xlsx"].status == "ok"
    others = {name: f for name, f in by_name.items() if name != "22240_tam-quan-bac.xlsx"}
    for name, line in others.items():
        assert line.status == "unreadable", name
        assert [(i.severity, i.rule) for i in line.issues] == [("error", "not-a-return")], name
        assert name in line.issues[0].message
    said = {name: f.issues[0].message for name, f in others.items()}
    assert "tệp PDF" in said["Công văn 12.pdf"] and "tệp Excel biểu mẫu" in said["Công văn 12.pdf"]
    assert "tài liệu Word (.doc)" in said["Báo cáo.doc"] and "tệp Excel biểu mẫu" in said["Báo cáo.doc"]
    assert "tài liệu Word (.docx)" in said["Báo cáo.docx"] and "tệp Excel biểu mẫu" in said["Báo cáo.docx"]
    assert "ảnh PNG" in said["ảnh chụp.png"]
    assert "tệp văn bản" in said["GHI CHU"]
    assert "tệp khoá tạm Excel" in said["~$22240_tam-quan-bac.xlsx"]
    assert report.exit_code == 1  # something under the folder is not checked


def test_check_lists_them_and_exits_1(mixed):
    result = run("check", mixed)
    assert result.exit_code == 1
    heads = [line for line in result.output.splitlines() if line.startswith(str(mixed))]
    assert len(heads) == 7 and sum(line.endswith("Không đọc được") for line in heads) == 6
    assert "Đã kiểm tra 7 tệp: 1 đạt, 6 không đọc được" in result.output


def test_lock_and_system_files_are_named(tmp_path):
    for name in (".~lock.a.xlsx#", "._a.xlsx", "Thumbs.db", ".DS_Store"):
        (tmp_path / name).write_bytes(b"x")
    said = {Path(f.path).name: f.issues[0].message for f in check_paths([tmp_path]).files}
    assert "tệp khoá tạm LibreOffice" in said[".~lock.a.xlsx#"]
    assert "tệp phụ máy Mac" in said["._a.xlsx"]
    assert "tệp hệ thống" in said["Thumbs.db"] and "tệp hệ thống" in said[".DS_Store"]


def test_the_gate_names_what_a_file_is(tmp_path):
    cases = {"a.pdf": (b"%PDF-1.7\n", "pdf"), "a.zip": (zipped({"x.txt": b"x"}), "zip"), "a.docx": (docx(), "docx"),
             "a.doc": (make_ole({"WordDocument": b"\xec\xa5"}), "doc"), "a.odg": (zipped({"mimetype": b"x"}), None)}
    for name, (data, kind) in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(NotWorkbook) as err:
            open_checked(tmp_path / name)
        assert err.value.kind == kind, name
        with pytest.raises(NotWorkbook) as err:  # the same from bytes held in memory
            open_checked(tmp_path / "khác" / name, data=data)
        assert err.value.kind == kind and f'"{name}"' in str(err.value)


# --------------------------------------------------------------------------------------------- zips

@pytest.fixture
def archive(tmp_path):
    d = tmp_path / "bao-cao-ve"
    d.mkdir()
    (d / "ho-so.zip").write_bytes(zipped({
        "22240_tam-quan-bac.xlsx": filled(),
        "Bao cao/22201_bong-son.xlsx": filled(BS, WRONG),
        "Bao cao/": b"",  # a folder entry: no line
        "cong-van.pdf": b"%PDF-1.4\n",
        "cu.zip": zipped({"x.xlsx": filled()}),
        "__MACOSX/._22240_tam-quan-bac.xlsx": b"\x00\x05\x16\x07",
    }))
    return d


def test_each_spreadsheet_in_a_zip_is_checked_as_a_return(archive):
    before = sorted(p.name for p in archive.rglob("*"))
    report = check_paths([archive], keep_submissions=True)
    zip_path = str(archive / "ho-so.zip")
    assert [(f.path, f.status) for f in report.files] == [
        (f"{zip_path}!22240_tam-quan-bac.xlsx", "ok"),
        (f"{zip_path}!Bao cao!22201_bong-son.xlsx", "errors"),
        (f"{zip_path}!__MACOSX!._22240_tam-quan-bac.xlsx", "unreadable"),
        (f"{zip_path}!cong-van.pdf", "unreadable"),
        (f"{zip_path}!cu.zip", "unreadable"),
    ]
    by_name = lines_by_name(report)
    ok = by_name["ho-so.zip!22240_tam-quan-bac.xlsx"]
    assert ok.status == "ok" and ok.unit["code"] == "HN-TQB" and ok.values["BM1-1"] == 5
    assert ok.saved_at.replace(tzinfo=None) == datetime(2023, 6, 10, 9)  # from the member's docProps
    assert len(ok.sha256) == 64
    wrong = by_name["ho-so.zip!Bao cao!22201_bong-son.xlsx"]
    assert wrong.status == "errors" and wrong.unit["code"] == "HN-BS"
    assert [i.rule for i in by_name["ho-so.zip!cong-van.pdf"].issues] == ["not-a-return"]
    nested = by_name["ho-so.zip!cu.zip"]
    assert [i.rule for i in nested.issues] == ["nested-archive"] and "không được mở" in nested.issues[0].message
    mac = by_name["ho-so.zip!__MACOSX!._22240_tam-quan-bac.xlsx"].issues[0].message
    assert mac.startswith('Tệp "ho-so.zip!__MACOSX!._22240_tam-quan-bac.xlsx" là tệp phụ máy Mac')
    assert sorted(p.name for p in archive.rglob("*")) == before  # nothing extracted


def test_zip_members_in_parallel_match_serial(archive, monkeypatch):
    (archive / "22201_bong-son.xlsx").write_bytes(filled(BS))
    monkeypatch.setattr(check_mod, "PARALLEL_MIN_FILES", 1)
    serial = check_paths([archive], jobs=1)
    parallel = check_paths([archive], jobs=2)
    assert [f.to_dict() for f in parallel.files] == [f.to_dict() for f in serial.files]
    assert len(serial.files) == 6


def test_check_json_and_feedback_name_the_member(archive, tmp_path):
    out = tmp_path / "phan-hoi"
    result = run("check", archive, "--json", "--feedback", out)
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    paths = [f["path"] for f in doc["files"]]
    assert str(archive / "ho-so.zip") + "!22240_tam-quan-bac.xlsx" in paths
    assert sorted(os.listdir(out)) == ["ho-so.zip!Bao cao!22201_bong-son_phan-hoi.xlsx"]


def test_check_file_on_a_zip(tmp_path):
    one = tmp_path / "mot.zip"
    one.write_bytes(zipped({"22240.xlsx": filled()}))
    assert check_file(one).path == f"{one}!22240.xlsx" and check_file(one).status == "ok"
    two = tmp_path / "hai.zip"
    two.write_bytes(zipped({"a.xlsx": filled(), "b.xlsx": filled(BS)}))
    line = check_file(two)
    assert line.status == "unreadable" and "chứa 2 tệp" in line.issues[0].message


def test_a_zip_bomb_is_refused_under_the_gates_limits(tmp_path):
    bomb = tmp_path / "bom.zip"
    bomb.write_bytes(zipped({"a.xlsx": bytes(4 << 20)}))  # 4 MB of zeros: a ratio of about 1,000
    (line,) = check_paths([tmp_path]).files
    assert line.path == str(bomb) and line.status == "unreadable"
    assert "bom zip" in line.issues[0].message
    big = tmp_path / "lon.zip"
    big.write_bytes(zipped({"a.xlsx": os.urandom(3 << 19).hex().encode()}))  # 3 MB, compressed to less than 2
    with Archive(big, Limits(max_file_bytes=2 << 20)) as arc:
        (shown, info), = arc.members
        with pytest.raises(UnreadableFile, match="a.xlsx.*giải nén ra 3,0 MB, quá lớn"):
            arc.read(shown, info)


def test_empty_and_broken_zips(tmp_path):
    (tmp_path / "rong.zip").write_bytes(zipped({"thu-muc/": b""}))
    (tmp_path / "hong.zip").write_bytes(zipped({"a.xlsx": filled()})[:-30])
    said = {Path(f.path).name: f.issues[0].message for f in check_paths([tmp_path]).files}
    assert "không chứa tệp nào" in said["rong.zip"]
    assert "bị hỏng" in said["hong.zip"]


def test_member_names_never_become_paths(tmp_path):
    assert member_path("a/x.zip", "../../etc/passwd") == "a/x.zip!..!..!etc!passwd"
    assert member_path("x.zip", "/abs\\win\\b\x07.xlsx") == "x.zip!abs!win!b?.xlsx"
    z = tmp_path / "x.zip"
    z.write_bytes(b"PK")
    assert outer_file(f"{z}!a!b.xlsx") == str(z) and outer_file(str(z)) == str(z)
    assert outer_file("khong-co.zip!a.xlsx") == "khong-co.zip!a.xlsx"


def test_a_utf8_name_without_the_flag_is_read_as_utf8(tmp_path):
    z = tmp_path / "x.zip"
    with zipfile.ZipFile(z, "w") as zf:
        info = zipfile.ZipInfo("Báo cáo.xlsx")
        zf.writestr(info, filled())
    raw = bytearray(z.read_bytes())
    # Clear the UTF-8 flag in both headers, as 7-Zip and mail programs write such names.
    for sig in (b"PK\x03\x04", b"PK\x01\x02"):
        at = raw.find(sig)
        flag_at = at + (6 if sig == b"PK\x03\x04" else 8)
        raw[flag_at] &= ~0x08 & 0xFF
        raw[flag_at + 1] &= ~0x08 & 0xFF
    z.write_bytes(bytes(raw))
    with Archive(z) as arc:
        assert [shown for shown, _ in arc.members] == [f"{z}!Báo cáo.xlsx"]


# --------------------------------------------------------------------------------------------- aggregate

def test_aggregate_takes_zip_members_latest_wins_and_duplicates(tmp_path):
    from cchc_excel.merge.run import aggregate_paths

    d = tmp_path / "bao-cao-ve"
    d.mkdir()
    roster = tmp_path / "don-vi.csv"
    roster.write_text(ROSTER, encoding="utf-8")
    bs = filled(BS, {"BM1-1": 2})
    (d / "a-bong-son.xlsx").write_bytes(bs)
    (d / "b-tam-quan-bac-cu.xlsx").write_bytes(filled(TQB, {"BM1-1": 1}, day=10))
    (d / "c-gui-lai.zip").write_bytes(zipped({"tam-quan-bac-moi.xlsx": filled(TQB, {"BM1-1": 5}, day=12),
                                              "bong-son.xlsx": bs, "huong-dan.pdf": b"%PDF-1.4\n"}))
    result = aggregate_paths([d], SPEC, roster=roster, unit_code="HN", period="2023-Q2")
    status = {Path(f.path).name: f.status for f in result.files}
    assert status == {"a-bong-son.xlsx": "merged", "b-tam-quan-bac-cu.xlsx": "superseded",
                      "c-gui-lai.zip!bong-son.xlsx": "duplicate", "c-gui-lai.zip!huong-dan.pdf": "unreadable",
                      "c-gui-lai.zip!tam-quan-bac-moi.xlsx": "merged"}
    assert result.report_values()["BM1-1"] == 7
    assert sorted(result.units_with("merged")) == ["HN-BS", "HN-TQB"]


def test_a_member_takes_its_archives_received_time(tmp_path):
    from cchc_excel.merge.inputs import read_entries

    z = tmp_path / "gui.zip"
    z.write_bytes(zipped({"a.xls": b"x"}))
    got = datetime(2023, 6, 21, 8, tzinfo=timezone.utc)

    class Line:
        path, status, unit, period, values, issues, sha256 = f"{z}!a.xls", "ok", None, None, {}, [], ""
        saved_at, reported_levels, merged_units = None, None, None

    (entry,) = read_entries([Line()], None, {str(z.resolve()): got})
    assert entry.received == got and entry.time == got
    (entry,) = read_entries([Line()], None, {})
    assert entry.time == datetime.fromtimestamp(z.stat().st_mtime, timezone.utc)
