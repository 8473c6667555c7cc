"""The page and the JSON API through Flask's test client: each route, and bad input for each."""

import io
import json
import re
from pathlib import Path

import pytest

flask = pytest.importorskip("flask")

from cchc_excel.web import create_app  # noqa: E402

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
HERE = "http://localhost"
XLSX_MAGIC = b"PK\x03\x04"


@pytest.fixture
def app(tmp_path):
    app = create_app(tmp_path / "ws", max_file=2_000_000, max_request=6_000_000)
    app.testing = True
    return app


@pytest.fixture
def client(app):
    return app.test_client()


def put_roster(client):
    data = {"file": (io.BytesIO((SAMPLES / "roster.csv").read_bytes()), "roster.csv")}
    return client.put("/api/roster", data=data, content_type="multipart/form-data")


def sample(name):
    return (io.BytesIO((SAMPLES / "returns" / name).read_bytes()), name)


@pytest.fixture
def filled(client):
    assert put_roster(client).json == {"units": 19}
    files = [sample(p.name) for p in sorted((SAMPLES / "returns").iterdir())]
    r = client.post("/api/periods/2023-Q2/files", data={"files": files}, content_type="multipart/form-data")
    assert r.status_code == 200
    return r.json


def token(client):
    page = client.get("/").get_data(as_text=True)
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


# ------------------------------------------------------------------------------------------ the API

def test_api_roster_and_files(filled):
    assert len(filled["files"]) == 17 and filled["problems"] == []
    by_name = {f["path"]: f for f in filled["files"]}
    bad = by_name["22203_phuong-hoai-hao_2023-Q2.xlsx"]
    assert bad["unit"]["code"] == "22203" and bad["period"] == "2023-Q2" and isinstance(bad["id"], int)
    assert {"path", "status", "unit", "period", "spec", "values", "issues", "id"} <= set(bad)


def test_api_roster_bad(client):
    assert client.put("/api/roster", data={}, content_type="multipart/form-data").status_code == 400
    data = {"file": (io.BytesIO(b"not,a,roster\n"), "x.txt")}
    r = client.put("/api/roster", data=data, content_type="multipart/form-data")
    assert r.status_code == 400 and ".csv" in r.json["error"]


def test_api_files_bad(client):
    assert client.post("/api/periods/2023-Q2/files", data={}, content_type="multipart/form-data").status_code == 400
    r = client.post("/api/periods/khong-phai-ky/files", data={"files": [sample("22201_phuong-bong-son_2023-Q2.xlsx")]},
                    content_type="multipart/form-data")
    assert r.status_code == 404 and "Kỳ báo cáo không hợp lệ" in r.json["error"]


def test_api_status(client, filled):
    r = client.get("/api/periods/2023-Q2/status?unit=*")  # the whole roster, not the workspace's own unit
    body = r.json
    assert r.status_code == 200 and body["period"] == "2023-Q2" and body["units"]["expected"] == 18
    assert body["statuses"]["22217"]["status"] == "missing"
    assert body["statuses"]["22205"]["status"] == "errors"
    sub = client.get("/api/periods/2023-Q2/status?unit=540").json
    assert sub["unit"]["code"] == "540"
    assert client.get("/api/periods/2023-X9/status").status_code == 404


def test_api_downloads(client, filled):
    for what, magic in (("merged.xlsx", XLSX_MAGIC), ("report.docx", XLSX_MAGIC)):
        r = client.get(f"/api/periods/2023-Q2/{what}")
        assert r.status_code == 200 and r.data.startswith(magic), what
        assert "attachment" in r.headers["Content-Disposition"]
    csv = client.get("/api/periods/2023-Q2/tidy.csv?unit=540")
    assert csv.status_code == 200 and b"22201" in csv.data
    assert client.get("/api/periods/nope/merged.xlsx").status_code == 404
    assert client.get("/api/periods/2023-Q2/other.pdf").status_code == 404


def test_api_feedback(client, filled):
    bad = next(f for f in filled["files"] if f["status"] == "errors")
    r = client.get(f"/api/files/{bad['id']}/feedback.xlsx")
    assert r.status_code == 200 and r.data.startswith(XLSX_MAGIC)
    missing = client.get("/api/files/999999/feedback.xlsx")
    assert missing.status_code == 404 and "999999" in missing.json["error"]
    assert client.get("/api/files/abc/feedback.xlsx").status_code == 404


# ------------------------------------------------------------------------------------------ safety

def test_wrong_host_is_refused(client):
    r = client.get("/", headers={"Host": "evil.example:8765"})
    assert r.status_code == 400 and "Tên máy chủ" in r.get_data(as_text=True)
    assert client.get("/api/periods/2023-Q2/status", headers={"Host": "evil.example"}).status_code == 400


def test_foreign_origin_is_refused(client):
    r = put_roster_with(client, {"Origin": "http://evil.example"})
    assert r.status_code == 403 and "trang khác" in r.json["error"]
    assert put_roster_with(client, {"Referer": "http://evil.example/page"}).status_code == 403
    assert put_roster_with(client, {"Origin": "null"}).status_code == 403
    assert put_roster_with(client, {"Origin": HERE}).status_code == 200


def put_roster_with(client, headers):
    data = {"file": (io.BytesIO((SAMPLES / "roster.csv").read_bytes()), "roster.csv")}
    return client.put("/api/roster", data=data, content_type="multipart/form-data", headers=headers)


def test_form_needs_csrf_and_same_origin(client):
    r = client.post("/periods", data={"period": "2023-Q2"}, headers={"Origin": HERE})
    assert r.status_code == 403 and "hết hạn" in r.get_data(as_text=True)
    csrf = token(client)
    r = client.post("/periods", data={"period": "2023-Q2", "csrf": csrf})  # neither Origin nor Referer
    assert r.status_code == 403
    r = client.post("/periods", data={"period": "2023-Q2", "csrf": csrf}, headers={"Origin": "http://evil.example"})
    assert r.status_code == 403
    r = client.post("/periods", data={"period": "2023-Q2", "csrf": csrf}, headers={"Origin": HERE})
    assert r.status_code == 302 and r.headers["Location"].endswith("/periods/2023-Q2/receive")


def test_oversized_uploads(client):
    def big():
        return {"files": [(io.BytesIO(b"x" * 2_100_000), "lon.xlsx")]}

    r = client.post("/api/periods/2023-Q2/files", data=big(), content_type="multipart/form-data")
    assert r.status_code == 413 and "25 MB" in r.json["error"]
    many = {"files": [(io.BytesIO(b"x" * 1_900_000), f"t{n}.xlsx") for n in range(4)]}
    r = client.post("/api/periods/2023-Q2/files", data=many, content_type="multipart/form-data")
    assert r.status_code == 413
    page = client.post("/periods/2023-Q2/receive", data={"csrf": token(client), **big()},
                       content_type="multipart/form-data", headers={"Origin": HERE})
    assert page.status_code == 413 and "quá lớn" in page.get_data(as_text=True)


def test_uploaded_names_never_become_paths(client, app, tmp_path):
    data = {"files": [(io.BytesIO(b"garbage"), "../../../ngoai.xlsx")]}
    r = client.post("/api/periods/2023-Q2/files", data=data, content_type="multipart/form-data")
    assert r.status_code == 200
    [entry] = r.json["files"]
    assert entry["path"] == "ngoai.xlsx" and entry["status"] == "unreadable"
    assert not (tmp_path / "ngoai.xlsx").exists() and not list(tmp_path.parent.glob("ngoai.xlsx"))


def test_unexpected_error_is_vietnamese(app, client, monkeypatch):
    from cchc_excel.workspace import views

    def boom(*a, **k):
        raise RuntimeError("secret traceback detail")

    monkeypatch.setattr(views, "status", boom)
    r = client.get("/api/periods/2023-Q2/status")
    assert r.status_code == 500 and "secret" not in r.get_data(as_text=True) and "lỗi" in r.json["error"]
    page = client.get("/periods/2023-Q2/merged")
    assert page.status_code == 500 and "Traceback" not in page.get_data(as_text=True)


def test_password_asked_everywhere(tmp_path):
    app = create_app(tmp_path / "ws", password="bi-mat", hosts=("192.0.2.5",))
    client = app.test_client()
    assert client.get("/", headers={"Host": "192.0.2.5:8765"}).status_code == 401
    r = client.get("/api/periods/2023-Q2/status", headers={"Host": "192.0.2.5"})
    assert r.status_code == 401 and r.headers["WWW-Authenticate"].startswith("Basic")
    auth = {"Authorization": "Basic " + __import__("base64").b64encode(b"x:sai").decode()}
    assert client.get("/", headers=auth).status_code == 401
    auth = {"Authorization": "Basic " + __import__("base64").b64encode(b"x:bi-mat").decode()}
    assert client.get("/", headers={"Host": "192.0.2.5", **auth}).status_code == 200


def test_server_refuses_open_address_without_password(tmp_path):
    from cchc_excel.web.server import make_server

    with pytest.raises(ValueError):
        make_server(tmp_path / "ws", host="0.0.0.0", port=0)


# ------------------------------------------------------------------------------------------ pages

def test_pages_flow(client, filled):
    home = client.get("/").get_data(as_text=True)
    assert "19</strong> đơn vị" in home and "2023-Q2" in home
    status = client.get("/periods/2023-Q2/status").get_data(as_text=True)
    assert "Phường Bồng Sơn" in status and "Chưa nộp" in status and "Có lỗi" in status
    assert "22201_phuong-bong-son_2023-Q2.xlsx" in status and "Bản cũ (đã thay)" in status
    only_missing = client.get("/periods/2023-Q2/status?status=missing").get_data(as_text=True)
    assert "22217" in only_missing and "22201" not in only_missing
    unit = client.get("/periods/2023-Q2/units/22205").get_data(as_text=True)
    assert "feedback.xlsx" in unit and "Lỗi" in unit
    merged = client.get("/periods/2023-Q2/merged").get_data(as_text=True)
    assert "merged.xlsx" in merged and "report.docx" in merged and "tidy.csv" in merged


def test_pages_bad_input(client):
    assert client.get("/periods/abc/status").status_code == 404
    assert client.get("/periods/2023-Q2/status").status_code == 302  # no roster yet: back to the start page
    put_roster(client)
    r = client.get("/periods/2023-Q2/units/00000")
    assert r.status_code == 404 and "00000" in r.get_data(as_text=True)
    r = client.post("/periods", data={"period": "quy nam", "csrf": token(client)}, headers={"Origin": HERE},
                    follow_redirects=True)
    assert r.status_code == 200 and "flash error" in r.get_data(as_text=True)
    r = client.post("/roster", data={"csrf": token(client), "file": (io.BytesIO(b"a"), "x.pdf")},
                    content_type="multipart/form-data", headers={"Origin": HERE}, follow_redirects=True)
    assert ".csv" in r.get_data(as_text=True)
    assert client.get("/khong-co").status_code == 404
    assert client.delete("/api/roster").status_code == 405


def test_receive_form_shows_each_result(client):
    put_roster(client)
    data = {"csrf": token(client), "files": [sample("22203_phuong-hoai-hao_2023-Q2.xlsx"),
                                               (io.BytesIO(b"rac"), "rac.xlsx")]}
    r = client.post("/periods/2023-Q2/receive", data=data, content_type="multipart/form-data",
                    headers={"Referer": HERE + "/periods/2023-Q2/receive"})
    page = r.get_data(as_text=True)
    assert r.status_code == 200 and "22203_phuong-hoai-hao_2023-Q2.xlsx" in page and "Không đọc được" in page
    assert json.loads(client.get("/api/periods/2023-Q2/status").data)["units"]["received"] == 1


def test_the_server_stops_whole(tmp_path):
    """Stopped, the server leaves no thread behind (a later `check_paths` forks only a single-threaded process)."""
    import threading

    pytest.importorskip("waitress")
    from cchc_excel.web.server import make_server, stop

    before = threading.active_count()
    srv = make_server(tmp_path / "ws", "127.0.0.1", 0)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    stop(srv)
    thread.join(10)
    assert threading.active_count() == before
