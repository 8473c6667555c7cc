"""The workspace's own unit, received dates (a folder's manifest, a message's Date:), folder scans and
the explanations kept with the findings. Small inputs built in each test."""

import csv
import mailbox
import os
import sqlite3
from datetime import datetime, timezone
from email.message import EmailMessage

import pytest

from cchc_excel.core.manifest import MANIFEST_COLUMNS, MANIFEST_NAME
from cchc_excel.core.roster import load_roster
from cchc_excel.errors import CchcError, RosterError
from cchc_excel.template.build import template_bytes
from cchc_excel.workspace import Workspace, views
from cchc_excel.workspace.db import DB_NAME, MIGRATIONS
from cchc_excel.workspace.space import default_own_unit

PROVINCE = ("ma_don_vi,ten_don_vi,cap,don_vi_cha,email\n"  # unit codes made up
            "52,Tỉnh Bình Định,tinh,,\n"
            "540,Thị xã Hoài Nhơn,huyen,52,\n"
            "22240,Phường Tam Quan Bắc,xa,540,\n"
            "22245,Xã Hoài Sơn,xa,540,\n").encode()
ON_TIME = datetime(2023, 6, 15, 9, 30, tzinfo=timezone.utc)  # Q2's deadline: 20/6/2023
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture()
def ws(tmp_path):
    w = Workspace(tmp_path / "ws")
    w.put_roster(PROVINCE, "don-vi.csv")
    return w


def ret(ws, code, values=None, notes=None):
    return template_bytes(ws.spec, level="xa", unit=ws.roster().get(code), period="2023-Q2",
                          values=values or {"BM3-3.1.1": 5}, notes=notes)


def message(attachments, date="Thu, 15 Jun 2023 16:30:00 +0700"):
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"], msg["Date"] = "a@example.vn", "pnv@example.vn", "Báo cáo", date
    msg.set_content("Kính gửi")
    for name, data in attachments:
        msg.add_attachment(data, maintype="application", subtype=XLSX.split("/")[1], filename=name)
    return msg


# ------------------------------------------------------------------------------------------ own unit

def roster_of(tmp_path, text):
    path = tmp_path / "r.csv"
    path.write_text("ma_don_vi,ten_don_vi,cap,don_vi_cha,email\n" + text, encoding="utf-8")
    return load_roster(path)


def test_the_default_own_unit_is_the_one_a_district_expects(tmp_path):
    # a province over one district: the district
    assert default_own_unit(roster_of(tmp_path, "52,T,tinh,,\n540,H,huyen,52,\n1,X,xa,540,\n2,Y,xa,540,\n")) == "540"
    # a province over two districts: the province
    assert default_own_unit(roster_of(tmp_path, "52,T,tinh,,\n540,H,huyen,52,\n541,K,huyen,52,\n"
                                                "1,X,xa,540,\n")) == "52"
    # a district over one commune: the district, whose commune it merges
    assert default_own_unit(roster_of(tmp_path, "540,H,huyen,,\n1,X,xa,540,\n")) == "540"
    # several roots: the whole roster
    assert default_own_unit(roster_of(tmp_path, "540,H,huyen,,\n541,K,huyen,,\n")) is None


def test_the_own_unit_is_stored_and_is_the_default_subtree(ws, tmp_path):
    assert ws.own_unit() == "540"
    ws.set_own_unit("52")
    assert ws.own_unit() == "52" and Workspace(tmp_path / "ws").own_unit() == "52"  # kept in the workspace
    ws.set_own_unit("")
    assert ws.own_unit() == "540"
    with pytest.raises(RosterError, match="99999"):
        ws.set_own_unit("99999")
    assert ws.own_unit() == "540"
    assert Workspace(tmp_path / "empty").own_unit() is None  # no roster yet


def test_a_version_1_workspace_is_migrated_keeping_its_rows(tmp_path):
    folder = tmp_path / "old"
    folder.mkdir()
    conn = sqlite3.connect(folder / DB_NAME)
    conn.executescript(MIGRATIONS[0])
    conn.execute("INSERT INTO blobs VALUES ('ab', 1, 'now')")
    conn.execute("INSERT INTO periods VALUES ('2023-Q2', 'now')")
    conn.execute("INSERT INTO uploads (sha256, name, period, source, received_at) "
                 "VALUES ('ab', 'a.xlsx', '2023-Q2', 'upload', '2023-06-01T00:00:00+00:00')")
    conn.execute("PRAGMA user_version=1")
    conn.commit()
    conn.close()
    row = Workspace(folder).conn.execute("SELECT * FROM uploads").fetchone()
    assert (row["received_at"], row["uploaded_at"], row["received_by"]) == (
        "2023-06-01T00:00:00+00:00", "2023-06-01T00:00:00+00:00", "upload")


# ------------------------------------------------------------------------------------------ received dates

def uploads(ws):
    return [dict(r) for r in ws.conn.execute("SELECT name, source, received_at, uploaded_at, received_by "
                                             "FROM uploads ORDER BY id")]


def test_a_folder_with_a_manifest_is_dated_by_it(ws, tmp_path):
    folder = tmp_path / "ve"
    folder.mkdir()
    (folder / "tqb.xlsx").write_bytes(ret(ws, "22240"))
    (folder / "hs.xlsx").write_bytes(ret(ws, "22245"))
    with open(folder / MANIFEST_NAME, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, MANIFEST_COLUMNS)
        w.writeheader()
        w.writerow({"saved_name": "tqb.xlsx", "original_name": "tqb.xlsx", "sender": "a@example.vn",
                    "date": ON_TIME.isoformat(), "subject": "", "sha256": "", "size": 1, "message_id": "",
                    "source": ""})
    out = ws.receive_folder("2023-Q2", folder)
    assert out["problems"] == [] and sorted(f["path"] for f in out["files"]) == ["hs.xlsx", "tqb.xlsx"]
    by_name = {u["name"]: u for u in uploads(ws)}
    assert by_name["tqb.xlsx"]["received_at"] == ON_TIME.isoformat()
    assert by_name["tqb.xlsx"]["received_by"] == "manifest" and by_name["tqb.xlsx"]["uploaded_at"] > "2024"
    # no manifest row: no received time, the merge takes the workbook's saved time (as `cchc aggregate`)
    assert by_name["hs.xlsx"]["received_by"] == "unknown"
    _, received = ws.file_reports("2023-Q2", with_received=True)
    assert {path.split("/", 1)[1]: when for path, when in received.items()} == {"tqb.xlsx": ON_TIME}
    statuses = views.status(ws, "2023-Q2")["statuses"]
    assert statuses["22240"] == {"status": "merged", "late": False}


def test_an_eml_is_kept_and_its_attachments_dated_by_its_message(ws, tmp_path):
    eml = message([("tqb.xlsx", ret(ws, "22240")), ("hs.xlsx", ret(ws, "22245"))]).as_bytes()
    out = ws.receive("2023-Q2", [("thu ve.eml", eml)])
    assert out["problems"] == [] and [f["unit"]["code"] for f in out["files"]] == ["22240", "22245"]
    rows = uploads(ws)
    assert {r["source"] for r in rows} == {"mail"} and {r["received_by"] for r in rows} == {"message"}
    assert {r["received_at"] for r in rows} == {"2023-06-15T09:30:00+00:00"}
    assert ws.store.has(__import__("hashlib").sha256(eml).hexdigest())  # the message itself is kept
    assert ws.verify()["orphans"] == []
    assert views.status(ws, "2023-Q2")["statuses"]["22240"] == {"status": "merged", "late": False}
    late = message([("tqb2.xlsx", ret(ws, "22240", {"BM3-3.1.1": 6}))], date="Mon, 03 Jul 2023 08:00:00 +0700")
    ws.receive("2023-Q2", [("muon.eml", late.as_bytes())])
    assert views.status(ws, "2023-Q2")["statuses"]["22240"] == {"status": "merged", "late": True}


def test_an_mbox_gives_each_message_its_date(ws, tmp_path):
    box = mailbox.mbox(tmp_path / "hop.mbox")
    box.add(message([("tqb.xlsx", ret(ws, "22240"))]))
    box.add(message([("hs.xlsx", ret(ws, "22245"))], date="Sat, 01 Jul 2023 10:00:00 +0700"))
    box.flush()
    out = ws.receive("2023-Q2", [("hop.mbox", (tmp_path / "hop.mbox").read_bytes())])
    assert [f["unit"]["code"] for f in out["files"]] == ["22240", "22245"]
    statuses = views.status(ws, "2023-Q2")["statuses"]
    assert statuses["22240"]["late"] is False and statuses["22245"]["late"] is True


def test_bad_mail_is_said_and_nothing_else_is_lost(ws):
    no_attachment = message([]).as_bytes()
    out = ws.receive("2023-Q2", [("trong.eml", no_attachment), ("rac.mbox", b"not a mailbox"),
                                 ("tqb.xlsx", ret(ws, "22240"))])
    assert [f["path"] for f in out["files"]] == ["tqb.xlsx"]
    assert any("trong.eml" in p and "không có tệp báo cáo" in p for p in out["problems"])
    assert any("rac.mbox" in p for p in out["problems"])


def test_an_upload_is_dated_by_its_upload(ws):
    ws.receive("2023-Q2", [("tqb.xlsx", ret(ws, "22240"))])
    [row] = uploads(ws)
    assert row["received_by"] == "upload" and row["received_at"] == row["uploaded_at"]
    assert views.status(ws, "2023-Q2")["statuses"]["22240"]["late"] is True  # received now, years late


# ------------------------------------------------------------------------------------------ folder scans

def test_a_folder_scan_reads_every_file_as_check_does_and_writes_nothing(ws, tmp_path):
    import io
    import zipfile

    folder = tmp_path / "ve"
    (folder / "con").mkdir(parents=True)
    (folder / "con" / "tqb.xlsx").write_bytes(ret(ws, "22240"))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("hs.xlsx", ret(ws, "22245"))
    (folder / "goi.zip").write_bytes(buf.getvalue())
    (folder / "thu.eml").write_bytes(message([("hs2.xlsx", ret(ws, "22245", {"BM3-3.1.1": 8}))]).as_bytes())
    (folder / "ghi-chu.pdf").write_bytes(b"%PDF-1.4 nothing")
    outside = tmp_path / "bi-mat.xlsx"
    outside.write_bytes(ret(ws, "22240"))
    os.symlink(outside, folder / "lien-ket.xlsx")
    before = sorted((p.relative_to(folder), p.stat().st_mtime) for p in folder.rglob("*"))
    out = ws.receive_folder("2023-Q2", folder)
    paths = sorted(f["path"] for f in out["files"])
    assert paths == ["con_tqb.xlsx", "ghi-chu.pdf", "goi.zip!hs.xlsx", "hs2.xlsx"]
    assert [p for p in out["problems"] if "lien-ket.xlsx" in p and "ngoài thư mục" in p]
    assert sorted((p.relative_to(folder), p.stat().st_mtime) for p in folder.rglob("*")) == before
    with pytest.raises(CchcError, match="không có thư mục"):
        ws.receive_folder("2023-Q2", tmp_path / "khong-co")
    with pytest.raises(CchcError):
        ws.receive_folder("2023-Q2", outside)


# ------------------------------------------------------------------------------------------ explanations

def test_a_returns_explanation_is_kept_with_its_finding(ws):
    why = "Biên chế do UBND thị xã điều động sang"
    out = ws.receive("2023-Q2", [("tqb.xlsx", ret(ws, "22240", {"BM4-2.1": 0, "BM4-2.2": 20}, {"BM4-2.2": why}))])
    [entry] = out["files"]
    stored = ws.file_report(entry["id"])
    warning = next(i for i in stored.issues if i.rule == "BM4-R1")
    assert (warning.explanation, warning.explained) == (why, True)
