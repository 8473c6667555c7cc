"""A workspace: the quarter's memory, in a folder (default `./cchc-du-lieu`).

`cchc.sqlite3` records the roster (each upload a version, the units of every version kept), the periods,
every file received (original name, source, time, who) with its check result and findings, the
explanations, each unit's status per period, what was sent to whom, and each period's merged summary.
`files/` holds the bytes of every file received (`store.Store`). A file is stored (and fsynced) before
its row is committed, so after any crash every file is either there with its row, or has no row (and
`Workspace.verify` lists what such a crash left).
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import tempfile
import threading
from datetime import datetime, timezone
from pathlib import Path

from cchc_excel.check.report import FileReport, Issue
from cchc_excel.core.periods import Period, parse_period
from cchc_excel.core.roster import Roster, load_roster
from cchc_excel.errors import CchcError, RosterError
from cchc_excel.spec.loader import load_spec
from cchc_excel.spec.model import FormSpec
from cchc_excel.workspace.db import connect, reading, writing
from cchc_excel.workspace.intake import FolderScan, Incoming, is_mail, mail_attachments
from cchc_excel.workspace.store import Store, StoreError

DEFAULT_FOLDER = "cchc-du-lieu"
SOURCES = ("upload", "folder", "mail")
OWN_UNIT = "own_unit"
# Where a file's received time comes from: the time it was uploaded; the `manifest.csv` of `cchc collect`
# in the folder scanned; the `Date:` of the message it came in; the caller (`receive(received_at=)`);
# none (a folder without a manifest: the merge takes the workbook's saved time, as `cchc aggregate` does).
RECEIVED_BY = ("upload", "manifest", "message", "given", "unknown")
PERIOD_KINDS = ("Q1", "Q2", "Q3", "Q4", "H1", "9M", "Y")
_SAFE_NAME = re.compile(r"[^\w.()+-]+", re.UNICODE)


def now_text() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def _time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def safe_name(name: str) -> str:
    """The last part of a received file's name, without what a file system would refuse."""
    base = re.split(r"[\\/]", name or "")[-1].strip().lstrip(".")
    return _SAFE_NAME.sub("_", base)[:150] or "tep"


class Workspace:
    """The workspace in `folder`; safe to share between threads (one connection each) and processes."""

    def __init__(self, folder: str | Path = DEFAULT_FOLDER, spec: FormSpec | str | None = None):
        self.folder = Path(folder)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise CchcError(f"{self.folder}: không tạo được thư mục làm việc ({e.strerror or e}).") from e
        self.spec = spec if isinstance(spec, FormSpec) else load_spec(spec)
        self.store = Store(self.folder)
        self._local = threading.local()
        self._rosters: dict[int, Roster] = {}
        _ = self.conn  # create and migrate now: a broken database is said at once

    @property
    def conn(self) -> sqlite3.Connection:
        """This thread's connection (a new one after a fork: SQLite connections must not cross it)."""
        conn = getattr(self._local, "conn", None)
        if conn is None or self._local.pid != os.getpid():
            conn = self._local.conn = connect(self.folder)
            self._local.pid = os.getpid()
        return conn

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None and self._local.pid == os.getpid():
            conn.close()
        self._local.conn = None

    # ------------------------------------------------------------------------------------ the roster

    def put_roster(self, data: bytes, name: str = "don-vi.csv", *, who: str = "") -> dict:
        """A new version of the roster (CSV or XLSX bytes, as `cchc template --roster` reads); `{"units": N}`.

        Raises:
            RosterError: the roster cannot be used (nothing is recorded then).
        """
        name = safe_name(name)
        roster = _load_roster_bytes(data, name, self.spec)
        digest = self.store.put(data, name)
        with writing(self.conn) as c:
            _blob(c, digest, len(data))
            rid = c.execute("INSERT INTO rosters (sha256, name, uploaded_at, who, units) VALUES (?,?,?,?,?)",
                            (digest, name, now_text(), who, len(roster))).lastrowid
            c.executemany("INSERT INTO units (roster_id, code, name, level, parent, email) VALUES (?,?,?,?,?,?)",
                          [(rid, u.code, u.name, u.level, u.parent, u.email) for u in roster])
        self._rosters[rid] = roster
        return {"units": len(roster)}

    def roster(self) -> Roster | None:
        """The latest roster uploaded, or None."""
        row = self.conn.execute("SELECT id, sha256, name FROM rosters ORDER BY id DESC LIMIT 1").fetchone()
        if row is None:
            return None
        if row["id"] not in self._rosters:
            self._rosters[row["id"]] = _load_roster_bytes(self.store.read(row["sha256"]), row["name"], self.spec)
        return self._rosters[row["id"]]

    def unit_history(self, code: str) -> list[dict]:
        """The unit as each roster version had it, oldest first: {"roster", "uploaded_at", "name", ...}."""
        rows = self.conn.execute(
            "SELECT r.id, r.uploaded_at, u.name, u.level, u.parent, u.email FROM units u JOIN rosters r "
            "ON r.id = u.roster_id WHERE u.code = ? ORDER BY r.id", (code,)).fetchall()
        return [{"roster": r["id"], "uploaded_at": r["uploaded_at"], "name": r["name"], "level": r["level"],
                 "parent": r["parent"], "email": r["email"]} for r in rows]

    # ------------------------------------------------------------------------------------ settings

    def setting(self, key: str, default: str = "") -> str:
        row = self.conn.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        return row["value"] if row is not None else default

    def set_setting(self, key: str, value: str) -> None:
        with writing(self.conn) as c:
            c.execute("INSERT OR REPLACE INTO settings (key, value, updated_at) VALUES (?, ?, ?)",
                      (key, value, now_text()))

    def own_unit(self) -> str | None:
        """The unit whose staff use this workspace (its Tình hình and Tổng hợp are of the units under it):
        the one chosen (`set_own_unit`) while the roster still has it, else `default_own_unit`."""
        roster = self.roster()
        if roster is None:
            return None
        chosen = self.setting(OWN_UNIT)
        return chosen if roster.get(chosen) is not None else default_own_unit(roster)

    def set_own_unit(self, code: str) -> None:
        """Choose the workspace's own unit ("" for the default).

        Raises:
            RosterError: there is no roster, or no such unit in it.
        """
        code = (code or "").strip()
        roster = self.roster()
        if code and (roster is None or roster.get(code) is None):
            raise RosterError(f"Không có đơn vị mã {code!r} trong danh sách đơn vị.")
        self.set_setting(OWN_UNIT, code)

    # ------------------------------------------------------------------------------------ receiving

    def receive(self, period: Period | str, files, *, source: str = "upload", who: str = "",
                received_at: datetime | None = None) -> dict:
        """Store, check and record received files: `files` is [(original name, bytes)]; a message (.eml,
        .mbox) is kept and its attachments received, each dated by its message (`intake`).

        Returns:
            `{"files": [...], "problems": [...]}`: per return checked (one per file in a zip) its entry as
            `cchc check --json` gives it plus its `id`; per file that could not be stored a Vietnamese
            line (that file is not in the workspace; the others are).
        """
        if source not in SOURCES:
            raise ValueError(f"unknown source {source!r}")
        items = (Incoming(name, data, source, received_at) for name, data in files)
        return gathered(self.receive_iter(period, items, who=who))

    def receive_folder(self, period: Period | str, folder: str | Path, *, who: str = "") -> dict:
        """`receive` every file under `folder` as `cchc check` finds them (source `folder`), named by their
        path inside it, dated by the `manifest.csv` of `cchc collect` there (`intake.FolderScan`).

        Raises:
            CchcError: `folder` is no folder that can be read.
        """
        return gathered(self.receive_iter(period, FolderScan(folder), who=who))

    def receive_iter(self, period: Period | str, items, *, who: str = ""):
        """`receive` one item at a time: for each `intake.Incoming` (a str is a problem passed on) a
        `{"files", "problems"}` of its own, as soon as it is checked and committed."""
        period = parse_period(period)
        for item in items:
            if isinstance(item, str):
                yield {"files": [], "problems": [item]}
            elif is_mail(item.name):
                yield from self._receive_mail(period, item, who)
            else:
                yield self._receive_guarded(period, item, who)

    def _receive_mail(self, period: Period, mail: Incoming, who: str):
        try:  # the message itself is kept too: what was received, as it came
            self._keep(mail.data, safe_name(mail.name))
        except (StoreError, sqlite3.DatabaseError) as e:
            yield {"files": [], "problems": [_not_received(mail.name, e)]}
            return
        for item in mail_attachments(Incoming(safe_name(mail.name), mail.data, mail.source, mail.received_at)):
            if isinstance(item, str):
                yield {"files": [], "problems": [item]}
            else:
                yield self._receive_guarded(period, Incoming(item.name, item.data, "mail",
                                                             item.received_at or mail.received_at), who)

    def _receive_guarded(self, period: Period, item: Incoming, who: str) -> dict:
        try:
            return {"files": self._receive_one(period, safe_name(item.name), item, who), "problems": []}
        except (StoreError, sqlite3.DatabaseError) as e:
            return {"files": [], "problems": [_not_received(item.name, e)]}

    def _keep(self, data: bytes, name: str) -> str:
        digest = self.store.put(data, name)
        with writing(self.conn) as c:
            _blob(c, digest, len(data))
        return digest

    def _receive_one(self, period: Period, name: str, item: Incoming, who: str) -> list[dict]:
        digest = self.store.put(item.data, name)  # durable before any row names it
        reports = self._check(digest, name, period)
        uploaded = now_text()
        when = item.received_at.astimezone(timezone.utc).isoformat() if item.received_at else uploaded
        with writing(self.conn) as c:
            _blob(c, digest, len(item.data))
            c.execute("INSERT OR IGNORE INTO periods (code, created_at) VALUES (?, ?)", (period.code, now_text()))
            upload = c.execute(
                "INSERT INTO uploads (sha256, name, period, source, received_at, uploaded_at, received_by, who) "
                "VALUES (?,?,?,?,?,?,?,?)",
                (digest, name, period.code, item.source, when, uploaded, _received_by(item), who)).lastrowid
            entries = [dict(rep.to_dict(), path=rep.path, id=_insert_file(c, upload, rep)) for rep in reports]
        return entries

    def _check(self, digest: str, name: str, period: Period) -> list[FileReport]:
        """Check the stored file as `cchc check` does, under its original name (a hard link, or a copy
        where links are refused); each report's path is that name (`a.zip!b.xlsx` for a zip's member)."""
        from cchc_excel.check.run import check_paths

        with tempfile.TemporaryDirectory(prefix="cchc-nhan-") as tmp:
            shown = Path(tmp) / name
            _link_or_copy(self.store.path(digest), shown)
            reports = check_paths([shown], self.spec, roster=self.roster(), period=period, jobs=1).files
        for rep in reports:
            rep.path = name + rep.path[len(str(shown)):]
        return reports

    def file_reports(self, period: Period | str, *, with_received: bool = False):
        """The checked files received for `period` and the shorter periods in it, as `FileReport`s whose path is `<id>/<name>` (unique, the original name last); with
        `with_received`, also {path: received time} for the merge's "latest wins"."""
        period = parse_period(period)
        codes = [p.code for p in (Period(period.year, kind) for kind in PERIOD_KINDS) if period.contains(p)]
        with reading(self.conn) as c:  # one snapshot: an upload committed meanwhile is in or out whole
            marks = ",".join("?" * len(codes))
            rows = c.execute(f"SELECT f.*, u.received_at, u.received_by FROM files f JOIN uploads u ON u.id = f.upload_id "
                             f"WHERE u.period IN ({marks}) ORDER BY f.id", codes).fetchall()
            issues = _issues(c, [r["id"] for r in rows])
        reports = [_report(r, issues.get(r["id"], [])) for r in rows]
        if with_received:
            return reports, {rep.path: _time(r["received_at"]) for rep, r in zip(reports, rows)
                             if r["received_by"] != "unknown"}
        return reports

    def file_report(self, file_id: int, *, keep_submission: bool = False) -> FileReport:
        """One checked file by its id; with `keep_submission`, checked again from its stored bytes (for
        its feedback workbook).

        Raises:
            CchcError: no such file.
        """
        row = self.conn.execute("SELECT f.*, u.received_at, u.sha256 AS blob, u.name AS upload_name, "
                                "u.period AS upload_period FROM files f JOIN uploads u ON u.id = f.upload_id "
                                "WHERE f.id = ?", (int(file_id),)).fetchone()
        if row is None:
            raise CchcError(f"Không có tệp số {file_id} trong thư mục làm việc.")
        if not keep_submission:
            return _report(row, _issues(self.conn, [row["id"]]).get(row["id"], []))
        again = self._check(row["blob"], row["upload_name"], parse_period(row["upload_period"]))
        return next(r for r in again if r.path == row["shown"])

    def explain(self, period: Period | str, unit: str, text: str, *, indicator: str = "", who: str = "") -> int:
        """Record a unit's explanation (of a finding, or of a late or missing return); its id."""
        period = parse_period(period)
        with writing(self.conn) as c:
            c.execute("INSERT OR IGNORE INTO periods (code, created_at) VALUES (?, ?)", (period.code, now_text()))
            return c.execute("INSERT INTO explanations (period, unit, indicator, text, at, who) VALUES "
                             "(?,?,?,?,?,?)", (period.code, unit, indicator, text, now_text(), who)).lastrowid

    def explained(self, period: Period | str) -> dict[str, list[dict]]:
        """unit code -> its explanations for the period, oldest first."""
        out: dict = {}
        for r in self.conn.execute("SELECT * FROM explanations WHERE period = ? ORDER BY id",
                                   (parse_period(period).code,)):
            out.setdefault(r["unit"], []).append({"indicator": r["indicator"], "text": r["text"], "at": r["at"],
                                                  "who": r["who"]})
        return out

    def record_sent(self, period: Period | str, kind: str, deliveries) -> None:
        """Record send attempts (`mail.distribute.Delivery`: unit, recipients, message id, time, status) of
        one kind of message (`bieu-mau`, `nhac-nop`, `phan-hoi`)."""
        with writing(self.conn) as c:
            c.executemany("INSERT INTO sent (period, unit, kind, recipients, message_id, at, status, detail) "
                          "VALUES (?,?,?,?,?,?,?,?)",
                          [(parse_period(period).code, d.code, kind, ";".join(d.to), d.message_id,
                            d.time.isoformat() if d.time else None, d.status, d.detail) for d in deliveries])

    def sent(self, period: Period | str, unit: str | None = None) -> list[dict]:
        """What was sent to whom and when for `period` (to `unit` only, when given), oldest first."""
        where, args = "period = ?", [parse_period(period).code]
        if unit is not None:
            where, args = where + " AND unit = ?", [*args, unit]
        return [dict(r) for r in self.conn.execute(f"SELECT * FROM sent WHERE {where} ORDER BY id", args)]

    # ------------------------------------------------------------------------------------ after a crash

    def verify(self) -> dict:
        """What an interrupted write left: `{"leftovers"}` temporary files of stores that never finished,
        `{"orphans"}` stored files no row names (a process killed between the two: the file was not
        received), `{"missing"}` rows whose file is gone (never, unless someone deleted it)."""
        named = {sha for (sha,) in self.conn.execute("SELECT sha256 FROM blobs")}
        stored = self.store.digests()
        return {"leftovers": [str(p) for p in self.store.leftovers()], "orphans": sorted(stored - named),
                "missing": sorted(named - stored)}


# ---------------------------------------------------------------------------------------------------

def default_own_unit(roster: Roster) -> str | None:
    """The unit a roster is most likely the roster of: from its one root, down while the unit has a single
    unit under it that has units of its own (a province over one district: the district, whose staff
    merge its communes); None for a roster of several roots (the whole roster, then)."""
    roots = roster.roots()
    if len(roots) != 1:
        return None
    code = roots[0].code
    while len(below := roster.children(code)) == 1 and roster.children(below[0].code):
        code = below[0].code
    return code


def _received_by(item: Incoming) -> str:
    if item.received_at is not None:
        return {"folder": "manifest", "mail": "message"}.get(item.source, "given")
    return "unknown" if item.source == "folder" else "upload"


def gathered(parts) -> dict:
    out: dict = {"files": [], "problems": []}
    for part in parts:
        out["files"].extend(part["files"])
        out["problems"].extend(part["problems"])
    return out


def _not_received(name: str, e: Exception) -> str:
    if isinstance(e, StoreError):
        return str(e)
    # a full disk at the commit: rolled back, the file not received
    return (f"{safe_name(name)}: không ghi được vào cơ sở dữ liệu của thư mục làm việc ({e}); tệp chưa được "
            "nhận, hãy gửi lại sau.")


def _blob(c: sqlite3.Connection, digest: str, size: int) -> None:
    c.execute("INSERT OR IGNORE INTO blobs (sha256, size, stored_at) VALUES (?, ?, ?)", (digest, size, now_text()))


def _load_roster_bytes(data: bytes, name: str, spec: FormSpec) -> Roster:
    suffix = Path(name).suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise RosterError(f"{name}: danh sách đơn vị phải là tệp .csv hoặc .xlsx.")
    with tempfile.TemporaryDirectory(prefix="cchc-ds-") as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)
        roster = load_roster(path, levels=spec.levels)
    return Roster(roster.units, roster.warnings, name, roster.levels)


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:
        target.write_bytes(source.read_bytes())


def _insert_file(c: sqlite3.Connection, upload: int, rep: FileReport) -> int:
    unit = rep.unit or {}
    member = rep.path.split("!", 1)[1] if "!" in rep.path else None
    fid = c.execute(
        "INSERT INTO files (upload_id, shown, member, status, unit, unit_name, unit_level, period, spec, sha256, "
        "saved_at, reported_levels, merged_units, values_json) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (upload, rep.path, member, rep.status, unit.get("code"), unit.get("name"), unit.get("level"), rep.period,
         rep.spec, rep.sha256 or "", rep.saved_at.isoformat() if rep.saved_at else None,
         ",".join(sorted(rep.reported_levels or ())), rep.merged_units,
         json.dumps(rep.values, ensure_ascii=False))).lastrowid
    c.executemany("INSERT INTO findings (file_id, n, severity, rule, indicator, sheet, cell, message, "
                  "explanation) VALUES (?,?,?,?,?,?,?,?,?)",
                  [(fid, n, i.severity, i.rule, i.indicator, i.sheet, i.cell, i.message, i.explanation)
                   for n, i in enumerate(rep.issues)])
    return fid


def _issues(c: sqlite3.Connection, ids: list[int]) -> dict[int, list[Issue]]:
    out: dict = {}
    for i in range(0, len(ids), 500):  # SQLite's limit on bound parameters
        chunk = ids[i:i + 500]
        for r in c.execute(f"SELECT * FROM findings WHERE file_id IN ({','.join('?' * len(chunk))}) "
                           "ORDER BY file_id, n", chunk):
            out.setdefault(r["file_id"], []).append(
                Issue(r["severity"], r["rule"], r["indicator"], r["sheet"], r["cell"], r["message"],
                      r["explanation"]))
    return out


def file_id(path) -> int:
    """The id in the path of a report the workspace gives (`<id>/<name>`, see `_report`)."""
    return int(str(path).split("/", 1)[0])


def file_name(path) -> str:
    """The name the file came with, in the path of a report the workspace gives."""
    return str(path).split("/", 1)[-1]


def _report(r: sqlite3.Row, issues: list[Issue]) -> FileReport:
    unit = {"code": r["unit"], "name": r["unit_name"], "level": r["unit_level"]} if r["unit"] else None
    return FileReport(
        path=f"{r['id']}/{r['shown']}", status=r["status"], unit=unit, period=r["period"], spec=r["spec"],
        values=json.loads(r["values_json"]), issues=issues, sha256=r["sha256"], saved_at=_time(r["saved_at"]),
        reported_levels=frozenset(x for x in r["reported_levels"].split(",") if x),
        merged_units=r["merged_units"])
