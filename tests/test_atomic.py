"""Atomic writes (`core.atomic`): the mode a plain open() gives, fsync before the rename, no umask trick."""

import os
import stat
import subprocess
import sys

import pytest

from cchc_excel.core import atomic
from conftest import ROOT


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_written_file_has_the_mode_of_a_plain_open(tmp_path, umask):
    old = os.umask(umask)
    try:
        atomic.write_bytes_atomic(tmp_path / "a.bin", b"abc")
        (tmp_path / "plain.bin").write_bytes(b"abc")
    finally:
        os.umask(old)
    mode = stat.S_IMODE((tmp_path / "a.bin").stat().st_mode)
    assert mode == 0o666 & ~umask
    assert mode == stat.S_IMODE((tmp_path / "plain.bin").stat().st_mode)


def test_file_is_fsynced_before_the_rename_and_the_folder_after(tmp_path, monkeypatch):
    events = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        events.append(("fsync", stat.S_ISDIR(os.fstat(fd).st_mode)))
        real_fsync(fd)

    def replace(src, dst):
        events.append(("replace", os.path.basename(dst)))
        real_replace(src, dst)

    monkeypatch.setattr(atomic.os, "fsync", fsync)
    monkeypatch.setattr(atomic.os, "replace", replace)
    atomic.write_bytes_atomic(tmp_path / "sub" / "t.csv", b"x,y\r\n")
    assert (tmp_path / "sub" / "t.csv").read_bytes() == b"x,y\r\n"
    expected = [("fsync", False), ("replace", "t.csv")]
    if os.name == "posix":
        expected.append(("fsync", True))
    assert events == expected
    assert os.listdir(tmp_path / "sub") == ["t.csv"]


def test_a_failed_write_leaves_nothing(tmp_path):
    (tmp_path / "t.bin").write_bytes(b"old")
    with pytest.raises(ValueError):
        with atomic.atomic_file(tmp_path / "t.bin") as f:
            f.write(b"half")
            raise ValueError("stop")
    assert os.listdir(tmp_path) == ["t.bin"] and (tmp_path / "t.bin").read_bytes() == b"old"


def test_importing_does_not_touch_the_umask():
    code = ("import os\n"
            "def refuse(mask): raise AssertionError('os.umask called')\n"
            "os.umask = refuse\n"
            "import cchc_excel.core.atomic\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr
