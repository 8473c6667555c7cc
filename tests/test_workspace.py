"""The workspace: roster versions, files received and checked, statuses, the merge and the downloads over
what it holds. Small inputs built in each test."""

import json
import sqlite3
import zipfile
from datetime import datetime, timezone

import pytest

from cchc_excel.errors import CchcError, RosterError
from cchc_excel.template.build import template_bytes
from cchc_excel.workspace import Workspace
from cchc_excel.workspace import views
from cchc_excel.workspace.db import DB_NAME, SCHEMA_VERSION

ROSTER = ("ma_don_vi,ten_don_vi,cap,don_vi_cha,email\n"  # unit codes made up
          "540,Thị xã Hoài Nhơn,huyen,,\n"
          "22240,Phường Tam Quan Bắc,xa,540,tqb@example.vn\n"
          "22245,Xã Hoài Sơn,xa,540,hs@example.vn\n"
          "22250,Xã Hoài Hải,xa,540,\n").encode()


def ret(ws, code, values, period="2023-Q2"):
    return template_bytes(ws.spec, level="xa", unit=ws.roster().get(code), period=period, values=values)


@pytest.fixture()
def ws(tmp_path):
    w = Workspace(tmp_path / "ws")
    w.put_roster(ROSTER, "don-vi.csv", who="noivu")
    return w


def test_database_is_wal_with_foreign_keys_and_a_schema_version(tmp_path):
    ws = Workspace(tmp_path / "ws")
    assert ws.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert ws.conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert ws.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    with pytest.raises(sqlite3.IntegrityError):  # an upload of a period or a file the workspace lacks
        with ws.conn:
            ws.conn.execute("INSERT INTO uploads (sha256, name, period, source, received_at) "
                            "VALUES ('x', 'a', '2023-Q2', 'upload', 'now')")
    Workspace(tmp_path / "ws")  # opening again migrates nothing


def test_a_newer_schema_is_refused(tmp_path):
    Workspace(tmp_path / "ws")
    conn = sqlite3.connect(tmp_path / "ws" / DB_NAME)
    conn.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(CchcError, match="phiên bản mới hơn"):
        Workspace(tmp_path / "ws")


def test_each_roster_upload_is_a_version_and_units_keep_their_history(ws):
    renamed = ROSTER.replace("Xã Hoài Sơn".encode(), "Phường Hoài Sơn".encode())
    assert ws.put_roster(renamed, "don-vi.csv") == {"units": 4}
    assert ws.roster().get("22245").name == "Phường Hoài Sơn"
    assert [h["name"] for h in ws.unit_history("22245")] == ["Xã Hoài Sơn", "Phường Hoài Sơn"]
    with pytest.raises(RosterError):
        ws.put_roster(b"ma_don_vi,ten_don_vi\n1,A\n", "sai.csv")
    assert ws.conn.execute("SELECT COUNT(*) FROM rosters").fetchone()[0] == 2


def test_a_received_file_is_stored_checked_and_recorded(ws):
    data = ret(ws, "22245", {"BM3-3.1.1": 713, "BM3-3.1.2": 725})
    out = ws.receive("2023-Q2", [("../../bao cao.xlsx", data)], who="hs@example.vn", source="mail")
    assert out["problems"] == []
    [entry] = out["files"]
    assert entry["path"] == "bao_cao.xlsx" and entry["status"] == "errors" and entry["unit"]["code"] == "22245"
    assert entry["values"]["BM3-3.1.2"] == 725
    assert [i["indicator"] for i in entry["issues"] if i["severity"] == "error"] == ["BM3-3.1.2"]
    row = ws.conn.execute("SELECT * FROM uploads WHERE id = 1").fetchone()
    assert (row["name"], row["source"], row["who"], row["period"]) == ("bao_cao.xlsx", "mail", "hs@example.vn",
                                                                       "2023-Q2")
    assert ws.store.read(row["sha256"]) == data  # the bytes as received, by their sha256
    assert ws.store.path(row["sha256"]).parent.name == row["sha256"][:2]
    assert ws.file_report(entry["id"]).issues[0].indicator == "BM3-3.1.2"


def test_each_file_of_a_zip_is_a_return_with_its_own_id(ws, tmp_path):
    import io
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("a.xlsx", ret(ws, "22240", {"BM3-3.1.1": 5}))
        z.writestr("b.xlsx", ret(ws, "22245", {"BM3-3.1.1": 7}))
    out = ws.receive("2023-Q2", [("ho-so.zip", buf.getvalue())])
    assert [(f["path"], f["unit"]["code"]) for f in out["files"]] == [("ho-so.zip!a.xlsx", "22240"),
                                                                      ("ho-so.zip!b.xlsx", "22245")]
    assert len({f["id"] for f in out["files"]}) == 2
    assert views.status(ws, "2023-Q2")["totals"]["BM3-3.1.1"] == {"value": 12, "units": 2}


def test_status_follows_the_merge_latest_wins_and_explanations(ws):
    early = datetime(2023, 6, 10, tzinfo=timezone.utc)
    ws.receive("2023-Q2", [("v1.xlsx", ret(ws, "22240", {"BM3-3.1.1": 1}))], received_at=early)
    ws.receive("2023-Q2", [("v2.xlsx", ret(ws, "22240", {"BM3-3.1.1": 9}))], received_at=early.replace(day=12))
    ws.receive("2023-Q2", [("hs.xlsx", ret(ws, "22245", {"BM3-3.1.1": 3, "BM3-3.1.2": 4}))], received_at=early)
    s = views.status(ws, "2023-Q2")
    assert s["totals"]["BM3-3.1.1"] == {"value": 9, "units": 1}
    assert [(f["path"], f["status"]) for f in s["files"]] == [("1/v1.xlsx", "superseded"), ("2/v2.xlsx", "merged"),
                                                              ("3/hs.xlsx", "errors")]
    assert s["statuses"] == {"22240": {"status": "merged", "late": False},
                             "22245": {"status": "errors", "late": False},
                             "22250": {"status": "missing", "late": False}}
    ws.explain("2023-Q2", "22245", "Số đúng hạn gồm cả hồ sơ của quý trước.", indicator="BM3-3.1.2")
    assert views.status(ws, "2023-Q2")["statuses"]["22245"]["status"] == "explained"
    assert [u.code for u in views.missing_units(ws, "2023-Q2")] == ["22250"]
    assert views.status(ws, "2023-Q2", unit="540")["unit"]["code"] == "540"


def test_an_empty_return_and_a_late_one(ws):
    # a blank form is no return: the unit stays to be reminded (not late: it has not reported yet)
    ws.receive("2023-Q2", [("tqb.xlsx", ret(ws, "22240", {}))], received_at=datetime(2023, 7, 1, tzinfo=timezone.utc))
    s = views.status(ws, "2023-Q2")
    assert s["statuses"]["22240"] == {"status": "empty", "late": False}
    assert "22240" in [u.code for u in views.missing_units(ws, "2023-Q2")]
    ws.receive("2023-Q2", [("tqb2.xlsx", ret(ws, "22240", {"BM3-3.1.1": 9}))],
               received_at=datetime(2023, 7, 2, tzinfo=timezone.utc))
    assert views.status(ws, "2023-Q2")["statuses"]["22240"] == {"status": "merged", "late": True}


def test_downloads_and_the_period_merged_recorded(ws):
    ws.receive("2023-Q2", [("tqb.xlsx", ret(ws, "22240", {"BM3-3.1.1": 369, "BM3-3.1.2": 369}))])
    bad = ws.receive("2023-Q2", [("hs.xlsx", ret(ws, "22245", {"BM3-3.1.1": 713, "BM3-3.1.2": 725}))])
    assert views.merged_xlsx(ws, "2023-Q2")[:2] == b"PK"
    assert views.report_docx(ws, "2023-Q2")[:2] == b"PK"
    csv_text = views.tidy_csv(ws, "2023-Q2").decode("utf-8-sig")
    assert csv_text.startswith('ma_don_vi,') and '"22240"' in csv_text
    feedback = views.feedback_xlsx(ws, bad["files"][0]["id"])
    with zipfile.ZipFile(__import__("io").BytesIO(feedback)) as z:
        assert any("Lỗi cần sửa" in z.read(n).decode("utf-8", "replace") for n in z.namelist()
                   if n.endswith(".xml"))
    with pytest.raises(CchcError, match="không cần phản hồi"):
        views.feedback_xlsx(ws, 1)
    row = ws.conn.execute("SELECT summary_json FROM merged WHERE period = '2023-Q2'").fetchone()
    assert json.loads(row[0])["totals"]["BM3-3.1.1"] == {"value": 369, "units": 1}


def test_an_earlier_period_is_the_history(ws):
    assert views.previous_result(ws, "2023-Q2") is None
    ws.receive("2023-Q1", [("q1.xlsx", ret(ws, "22240", {"BM3-3.1.1": 40}, period="2023-Q1"))])
    ws.receive("2023-Q2", [("q2.xlsx", ret(ws, "22240", {"BM3-3.1.1": 50}))])
    before = views.previous_result(ws, "2023-Q2")
    assert str(before.period) == "2023-Q1" and before.totals["BM3-3.1.1"].value == 40
    assert str(views.previous_period("2023-Q1")) == "2022-Q4"
    assert views.status(ws, "2023-H1")["totals"]["BM3-3.1.1"]["value"] == 90  # flows add up over quarters


def test_a_folder_of_returns_is_received_with_its_source(ws, tmp_path):
    folder = tmp_path / "ve"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "tqb.xlsx").write_bytes(ret(ws, "22240", {"BM3-3.1.1": 2}))
    (folder / "ghi-chu.pdf").write_bytes(b"%PDF-1.4 nothing")
    out = ws.receive_folder("2023-Q2", folder, who="noivu")
    assert sorted((f["path"], f["status"]) for f in out["files"]) == [("ghi-chu.pdf", "unreadable"),
                                                                      ("sub_tqb.xlsx", "ok")]
    assert {r[0] for r in ws.conn.execute("SELECT source FROM uploads")} == {"folder"}


def test_a_file_is_checked_for_the_period_it_was_received_for(ws):
    # as `cchc check --period`: a file of another period than the one it was received for is an error,
    # and its numbers reach no total
    [entry] = ws.receive("2023-Q2", [("q1.xlsx", ret(ws, "22240", {"BM3-3.1.1": 40}, period="2023-Q1"))])["files"]
    assert entry["period"] == "2023-Q2" and entry["status"] == "errors"
    assert [(i["rule"], i["message"]) for i in entry["issues"]] == [
        ("other-period", "Tệp này là báo cáo Quý I/2023, không phải Quý II/2023: đơn vị gửi nhầm biểu mẫu; số "
                         "liệu của tệp không được dùng cho Quý II/2023.")]
    assert views.status(ws, "2023-Q2")["totals"]["BM3-3.1.1"]["value"] is None
    assert views.status(ws, "2023-Q1")["files"] == []
