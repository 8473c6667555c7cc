"""Two runs at once, as two real processes: `collect` into one folder loses no return and the manifest
matches the files; `distribute --send` sends every unit one message. And the lock they use."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cchc_excel.core.lock import file_lock, lock_path
from cchc_excel.core.manifest import read_manifest
from cchc_excel.mail.collect import TOO_DEEP, collect
from cchc_excel.mail.distribute import read_ledger
from test_collect import XLSX, make_msg, write_eml
from test_distribute import server  # noqa: F401

ROOT = Path(__file__).resolve().parents[1]
# Both processes wait for the same moment before they start, so that their work overlaps.
AT_ONCE = """import sys, time
time.sleep(max(0.0, float(sys.argv[1]) - time.time()))
from cchc_excel.{module} import {function}
{call}
"""


def _at_once(scripts: list[str], tmp_path: Path) -> list[subprocess.CompletedProcess]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    start = time.time() + 4.0  # both interpreters have imported everything by then
    procs = [subprocess.Popen([sys.executable, "-c", s, str(start)], cwd=tmp_path, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for s in scripts]
    done = [(p, *p.communicate(timeout=300)) for p in procs]
    for p, out, err in done:
        assert p.returncode == 0, err
    return done


def test_two_collects_into_one_folder_lose_nothing(tmp_path):
    books = {}
    for side in ("a", "b"):
        for i in range(60):
            data = f"{side}{i} ".encode() * 50  # distinct content, one name for all: every save clashes
            books[hashlib.sha256(data).hexdigest()] = data
            write_eml(tmp_path / side / f"{i}.eml", make_msg([(data, XLSX, "Báo cáo.xlsx")], msgid=f"<{side}{i}@x>"))
    out = tmp_path / "out"
    call = "collect([sys.argv[2]], sys.argv[3])"
    script = AT_ONCE.format(module="mail.collect", function="collect", call=call)
    _at_once([script.replace("sys.argv[2]", repr(str(tmp_path / s))).replace("sys.argv[3]", repr(str(out)))
              for s in ("a", "b")], tmp_path)
    manifest = read_manifest(out)
    assert len(manifest) == 120
    for name, row in manifest.items():
        data = (out / name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == row.sha256 and len(data) == row.size
    assert {row.sha256 for row in manifest.values()} == set(books)
    assert sorted(p.name for p in out.iterdir()) == sorted([*manifest, "manifest.csv"])


ROSTER_HEAD = "ma_don_vi,ten_don_vi,cap,don_vi_cha,email\nHN,Thị xã Hoài Nhơn,huyen,,\n"


def test_two_sends_at_once_send_each_unit_once(tmp_path, server):  # noqa: F811
    roster = tmp_path / "don-vi.csv"
    codes = [f"X{i:02}" for i in range(24)]  # made-up wards
    roster.write_text(ROSTER_HEAD + "".join(f"{c},Xã {c},xa,HN,{c.lower()}@example.vn\n" for c in codes),
                      encoding="utf-8")
    call = (f"from cchc_excel.core.roster import load_roster\n"
            f"from cchc_excel.mail.smtp import SmtpSettings\n"
            f"distribute(load_roster({str(roster)!r}), '2023-Q2', {str(tmp_path / 'o')!r}, "
            f"sender='Phòng Nội vụ <noivu@example.vn>', unit_code='HN', "
            f"smtp=SmtpSettings('127.0.0.1', {server.settings.port}, timeout=30))")
    script = AT_ONCE.format(module="mail.distribute", function="distribute", call=call)
    _at_once([script, script], tmp_path)
    got = sorted(str(m["X-CCHC-Unit"]) for _, _, m in server.messages)
    assert got == codes
    ledger = read_ledger(tmp_path / "o")
    assert sorted(d.code for d in ledger if d.ok) == codes and len(ledger) == len(codes)


# ------------------------------------------------------------------ the lock

def test_lock_is_removed_and_a_dead_holder_s_lock_is_broken(tmp_path):
    target = tmp_path / "da-gui.csv"
    with file_lock(target) as lock:
        assert lock == lock_path(target) == tmp_path / ".da-gui.csv.lock" and lock.exists()
    assert not lock.exists()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True).stdout.strip()
    import socket
    lock.write_text(f"{dead} {socket.gethostname()} 0\n", encoding="ascii")
    with file_lock(target, wait=5):
        pass
    assert not lock.exists()


def test_old_lock_is_broken_and_a_live_one_waited_for(tmp_path):
    target = tmp_path / "manifest.csv"
    lock = lock_path(target)
    lock.write_text(f"{os.getpid()} elsewhere 0\n", encoding="ascii")  # another machine: not checked
    from cchc_excel.errors import CchcError
    with pytest.raises(CchcError, match="đang bị một lần chạy khác giữ"):
        with file_lock(target, wait=0.2):
            pass
    old = time.time() - 3600
    os.utime(lock, (old, old))
    with file_lock(target, wait=5):
        pass
    assert not lock.exists()


def test_attachment_nested_too_deep_is_reported(tmp_path):
    inner = make_msg([(b"PK deep", XLSX, "sau.xlsx")])
    for _ in range(10):
        outer = make_msg([], subject="Fwd")
        outer.add_attachment(inner)  # message/rfc822
        inner = outer
    result = collect([write_eml(tmp_path / "m.eml", inner)], tmp_path / "out")
    assert result.saved == [] and len(result.problems) == 1 and TOO_DEEP in result.problems[0]
