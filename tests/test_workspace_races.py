"""Nothing is lost: two uploads at once, an upload during a merge, a process killed mid-upload, a full
disk. Afterwards every file is either there with its row, or absent and reported."""

import errno
import multiprocessing
import os
import signal
import sqlite3
import threading
import time

import pytest

from cchc_excel.template.build import template_bytes
from cchc_excel.workspace import Workspace, space, views

ROSTER = ("ma_don_vi,ten_don_vi,cap,don_vi_cha,email\n"  # unit codes made up
          "540,Thị xã Hoài Nhơn,huyen,,\n"
          "22240,Phường Tam Quan Bắc,xa,540,\n"
          "22245,Xã Hoài Sơn,xa,540,\n").encode()
FORK = multiprocessing.get_context("fork")


@pytest.fixture()
def folder(tmp_path):
    Workspace(tmp_path / "ws").put_roster(ROSTER, "don-vi.csv")
    return tmp_path / "ws"


def ret(ws, code, n):
    return template_bytes(ws.spec, level="xa", unit=ws.roster().get(code), period="2023-Q2",
                          values={"BM3-3.1.1": n})


def _upload(folder, name, data, go):
    go.wait(30)
    out = Workspace(folder).receive("2023-Q2", [(name, data)])
    os._exit(0 if out["files"] and not out["problems"] else 3)


def _all_there(ws):
    """Every stored file has its row and every row its file; no temporary file is left."""
    assert ws.verify() == {"leftovers": [], "orphans": [], "missing": []}


def _at_once(folder, files) -> list[int]:
    """Upload each (name, bytes) from a process of its own, all let go at the same moment; exit codes."""
    go = FORK.Event()
    procs = [FORK.Process(target=_upload, args=(folder, name, data, go)) for name, data in files]
    for p in procs:
        p.start()
    go.set()
    for p in procs:
        p.join(60)
    return [p.exitcode for p in procs]


def test_two_uploads_at_once_from_two_processes(folder):
    ws = Workspace(folder)
    assert _at_once(folder, [(f"{code}.xlsx", ret(ws, code, n)) for code, n in (("22240", 4), ("22245", 6))]) == [0, 0]
    s = views.status(ws, "2023-Q2")
    assert s["totals"]["BM3-3.1.1"] == {"value": 10, "units": 2}
    _all_there(ws)


def test_the_same_bytes_twice_at_once_are_stored_once_with_two_rows(folder):
    ws = Workspace(folder)
    data = ret(ws, "22240", 4)
    assert _at_once(folder, [(f"{i}.xlsx", data) for i in range(2)]) == [0, 0]
    assert ws.conn.execute("SELECT COUNT(*) FROM uploads").fetchone()[0] == 2
    assert sorted(f["status"] for f in views.status(ws, "2023-Q2")["files"]) == ["duplicate", "merged"]
    _all_there(ws)


def test_an_upload_during_a_merge(folder, monkeypatch):
    from cchc_excel.merge import run

    ws = Workspace(folder)
    ws.receive("2023-Q2", [("tqb.xlsx", ret(ws, "22240", 4))])
    merging, uploaded = threading.Event(), threading.Event()
    real = run.merge_reports

    def slow_merge(*args, **kwargs):  # the merge has read the workspace and is still at work
        merging.set()
        assert uploaded.wait(60)
        return real(*args, **kwargs)

    monkeypatch.setattr(run, "merge_reports", slow_merge)
    results = []
    merger = threading.Thread(target=lambda: results.append(views.merge(ws, "2023-Q2")))
    merger.start()
    assert merging.wait(60)
    p = FORK.Process(target=_upload, args=(folder, "hs.xlsx", ret(ws, "22245", 6), _set_event()))
    p.start()
    p.join(60)
    uploaded.set()
    merger.join(60)
    assert p.exitcode == 0
    assert results[0].totals["BM3-3.1.1"].value == 4  # the merge saw the workspace as it began
    monkeypatch.setattr(run, "merge_reports", real)
    assert views.status(ws, "2023-Q2")["totals"]["BM3-3.1.1"] == {"value": 10, "units": 2}
    _all_there(ws)


def _set_event():
    e = FORK.Event()
    e.set()
    return e


def _stuck_upload(folder, data, where, started):
    """Upload, stopping for good at `where`: in the store's write, or in the database transaction."""
    if where == "store":
        from cchc_excel.core import atomic

        def fsync(fd):
            started.set()
            time.sleep(120)
        atomic.os.fsync = fsync
    else:
        def insert(*args):
            started.set()
            time.sleep(120)
        space._insert_file = insert
    Workspace(folder).receive("2023-Q2", [("tqb.xlsx", data)])
    os._exit(0)


@pytest.mark.parametrize("where", ["store", "database"])
def test_a_process_killed_mid_upload(folder, where):
    ws = Workspace(folder)
    data = ret(ws, "22240", 4)
    started = FORK.Event()
    p = FORK.Process(target=_stuck_upload, args=(folder, data, where, started))
    p.start()
    assert started.wait(60)
    os.kill(p.pid, signal.SIGKILL)
    p.join(60)
    ws = Workspace(folder)
    assert ws.file_reports("2023-Q2") == []  # no row: the file was not received...
    left = ws.verify()
    if where == "store":  # ... and what the kill left is reported
        assert len(left["leftovers"]) == 1 and left["orphans"] == []
    else:
        assert left["leftovers"] == [] and len(left["orphans"]) == 1
    assert left["missing"] == []
    assert ws.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    out = ws.receive("2023-Q2", [("tqb.xlsx", data)])  # sent again, it is received whole
    assert out["problems"] == [] and out["files"][0]["status"] == "ok"
    assert views.status(ws, "2023-Q2")["totals"]["BM3-3.1.1"] == {"value": 4, "units": 1}


def test_a_full_disk_while_storing(folder, monkeypatch):
    from cchc_excel.core import atomic

    ws = Workspace(folder)
    good, full = ret(ws, "22240", 4), ret(ws, "22245", 6)

    def fsync(fd):
        if os.fstat(fd).st_size == len(full):
            raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(atomic.os, "fsync", fsync)
    out = ws.receive("2023-Q2", [("tqb.xlsx", good), ("hs.xlsx", full)])
    assert [f["path"] for f in out["files"]] == ["tqb.xlsx"]
    assert out["problems"] == ["hs.xlsx: không lưu được tệp vào thư mục làm việc (ổ đĩa đã đầy); tệp chưa "
                               "được nhận, hãy gửi lại sau."]
    assert [r.path for r in ws.file_reports("2023-Q2")] == ["1/tqb.xlsx"]
    _all_there(ws)


def test_a_full_disk_at_the_commit(folder, monkeypatch):
    ws = Workspace(folder)

    def full(*args):
        raise sqlite3.OperationalError("database or disk is full")
    monkeypatch.setattr(space, "_insert_file", full)
    out = ws.receive("2023-Q2", [("tqb.xlsx", ret(ws, "22240", 4))])
    assert out["files"] == [] and "tqb.xlsx: không ghi được vào cơ sở dữ liệu" in out["problems"][0]
    assert ws.conn.execute("SELECT COUNT(*) FROM uploads").fetchone()[0] == 0  # rolled back whole
    assert len(ws.verify()["orphans"]) == 1  # the bytes stored without a row: reported, not received
