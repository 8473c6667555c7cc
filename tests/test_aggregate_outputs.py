"""`cchc aggregate`'s outputs are written as one set: all of them or none, with a Vietnamese line for
what went wrong (a full disk, a read-only folder, a target that is a folder, a parent that is a file, a
target another program holds, the same path twice), never a traceback.

Unit codes are made up; the names are wards of thị xã Hoài Nhơn.
"""

import errno
import os
import stat
from datetime import datetime, timezone

import pytest
from click.testing import CliRunner

from cchc_excel.cli import cli
from cchc_excel.core import atomic
from cchc_excel.core.roster import Unit
from cchc_excel.errors import OutputError
from cchc_excel.merge import exports, outputs
from cchc_excel.merge.outputs import check_outputs, write_outputs
from cchc_excel.merge.run import aggregate_paths
from cchc_excel.spec.loader import load_spec
from cchc_excel.template.build import write_template

SPEC = load_spec()
ROSTER = ("ma_don_vi,ten_don_vi,cap,don_vi_cha,email\nHN,Thị xã Hoài Nhơn,huyen,,\n"
          "HN-TQB,Phường Tam Quan Bắc,xa,HN,\nHN-BS,Phường Bồng Sơn,xa,HN,\n")


@pytest.fixture(scope="module")
def quarter(tmp_path_factory):
    base = tmp_path_factory.mktemp("outputs")
    returns = base / "bao-cao-ve"
    returns.mkdir()
    roster = base / "don-vi.csv"
    roster.write_text(ROSTER, encoding="utf-8")
    for code, name, n in (("HN-TQB", "UBND phường Tam Quan Bắc", 5), ("HN-BS", "UBND phường Bồng Sơn", 2)):
        write_template(returns / f"{code}.xlsx", SPEC, level="xa", unit=Unit(code, name, "xa"), period="2023-Q2",
                       values={"BM1-1": n}, generated_at=datetime(2023, 6, 10, tzinfo=timezone.utc))
    result = aggregate_paths([returns], SPEC, roster=roster, unit_code="HN", period="2023-Q2")
    return base, returns, roster, result


def targets(folder):
    return folder / "tong-hop.xlsx", folder / "tom-tat.json", folder / "so-lieu.csv"


def test_all_outputs_are_written(quarter, tmp_path):
    *_, result = quarter
    xlsx, js, csv = targets(tmp_path / "ket-qua")
    assert write_outputs(result, xlsx, json_path=js, csv_path=csv) == [xlsx, js, csv]
    assert sorted(os.listdir(tmp_path / "ket-qua")) == ["so-lieu.csv", "tom-tat.json", "tong-hop.xlsx"]
    assert xlsx.read_bytes()[:2] == b"PK" and '"period": "2023-Q2"' in js.read_text("utf-8")


def test_a_full_disk_midway_leaves_no_output_and_no_temporary_file(quarter, tmp_path, monkeypatch):
    *_, result = quarter
    xlsx, js, csv = targets(tmp_path)

    def full_disk(result, path):  # the workbook and the JSON were written; the CSV fills the disk
        with open(path, "wb") as f:
            f.write(b"ma_don_vi,")
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(exports, "write_csv", full_disk)
    with pytest.raises(OutputError) as err:
        write_outputs(result, xlsx, json_path=js, csv_path=csv)
    assert str(err.value) == (f"Không ghi được {csv}: ổ đĩa đã đầy; chưa ghi tệp kết quả nào (tệp cũ, nếu có, "
                              "vẫn giữ nguyên).")
    assert os.listdir(tmp_path) == []


def test_a_failed_fsync_keeps_the_old_outputs(quarter, tmp_path, monkeypatch):
    *_, result = quarter
    xlsx, js, csv = targets(tmp_path)
    for p in (xlsx, js, csv):
        p.write_bytes(b"old " + p.name.encode())
    calls = []
    real = os.fsync

    def fsync(fd):
        if stat.S_ISREG(os.fstat(fd).st_mode):  # files, not the folder after a rename
            calls.append(fd)
        if len(calls) == 2:  # the JSON's: the workbook is complete by then
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(fd)

    monkeypatch.setattr(atomic.os, "fsync", fsync)
    with pytest.raises(OutputError, match="tom-tat.json: ổ đĩa đã đầy"):
        write_outputs(result, xlsx, json_path=js, csv_path=csv)
    assert sorted(os.listdir(tmp_path)) == ["so-lieu.csv", "tom-tat.json", "tong-hop.xlsx"]
    assert [p.read_bytes() for p in (xlsx, js, csv)] == [b"old tong-hop.xlsx", b"old tom-tat.json", b"old so-lieu.csv"]


def test_a_locked_target_puts_back_what_was_renamed(quarter, tmp_path, monkeypatch):
    """Windows refuses to replace a file Excel holds open: the outputs already renamed are put back."""
    *_, result = quarter
    xlsx, js, csv = targets(tmp_path)
    for p in (xlsx, csv):
        p.write_bytes(b"old " + p.name.encode())
    real = os.replace

    def replace(src, dst):
        if str(src) == str(csv):  # moving the old CSV aside: it is open in Excel
            raise PermissionError(errno.EACCES, "Permission denied", str(src))
        return real(src, dst)

    monkeypatch.setattr(outputs.os, "replace", replace)
    with pytest.raises(OutputError, match="so-lieu.csv: không có quyền ghi vào đây"):
        write_outputs(result, xlsx, json_path=js, csv_path=csv)
    assert sorted(os.listdir(tmp_path)) == ["so-lieu.csv", "tong-hop.xlsx"]  # no new JSON left behind
    assert xlsx.read_bytes() == b"old tong-hop.xlsx" and csv.read_bytes() == b"old so-lieu.csv"


def test_targets_refused_from_their_paths(tmp_path):
    (tmp_path / "thu-muc").mkdir()
    (tmp_path / "tep").write_text("x")
    with pytest.raises(OutputError, match="cùng một tệp được chọn cho cả bảng tổng hợp và tệp CSV"):
        check_outputs(tmp_path / "x.xlsx", None, tmp_path / "." / "x.xlsx")
    with pytest.raises(OutputError, match="đây là một thư mục"):
        check_outputs(tmp_path / "x.xlsx", tmp_path / "thu-muc")
    with pytest.raises(OutputError, match=f"{tmp_path / 'tep'} là một tệp, không phải thư mục"):
        check_outputs(tmp_path / "tep" / "con" / "x.xlsx")
    assert check_outputs(tmp_path / "moi" / "x.xlsx", None, tmp_path / "x.csv") == [
        tmp_path / "moi" / "x.xlsx", tmp_path / "x.csv"]


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0,
                    reason="permissions do not apply to root")
def test_a_read_only_folder(quarter, tmp_path):
    *_, result = quarter
    folder = tmp_path / "chi-doc"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(OutputError, match="không có quyền ghi vào đây"):
            write_outputs(result, folder / "x.xlsx")
        assert os.listdir(folder) == []
    finally:
        folder.chmod(0o755)


def aggregate(returns, roster, *args):
    return CliRunner().invoke(cli, ["aggregate", str(returns), "--roster", str(roster), "--unit", "HN",
                                    "--period", "2023-Q2", *map(str, args)], catch_exceptions=False)


def test_cli_refuses_the_same_path_twice_before_reading(quarter, tmp_path):
    _, returns, roster, _ = quarter
    result = aggregate(returns, roster, "-o", tmp_path / "x.xlsx", "--csv", tmp_path / "x.xlsx")
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "cùng một tệp được chọn cho cả bảng tổng hợp và tệp CSV" in result.output
    assert os.listdir(tmp_path) == []


def test_cli_a_parent_that_is_a_file(quarter, tmp_path):
    _, returns, roster, _ = quarter
    (tmp_path / "tep").write_text("x")
    result = aggregate(returns, roster, "-o", tmp_path / "x.xlsx", "--csv", tmp_path / "tep" / "x.csv")
    assert result.exit_code == 2 and "là một tệp, không phải thư mục" in result.output
    assert sorted(os.listdir(tmp_path)) == ["tep"]


def test_cli_a_full_disk_is_one_line(quarter, tmp_path, monkeypatch):
    _, returns, roster, _ = quarter

    def full_disk(result, path):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(exports, "write_csv", full_disk)
    result = aggregate(returns, roster, "-o", tmp_path / "x.xlsx", "--csv", tmp_path / "x.csv")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.output.strip().splitlines()[-1] == (
        f"Lỗi: Không ghi được {tmp_path / 'x.csv'}: ổ đĩa đã đầy; chưa ghi tệp kết quả nào (tệp cũ, nếu có, "
        "vẫn giữ nguyên).")
    assert os.listdir(tmp_path) == []
