"""The page's own unit, received dates, the folder scan and the explanation column, through Flask's test
client, with bad input for each."""

import io
import json
import re
from email.message import EmailMessage
from pathlib import Path

import pytest

flask = pytest.importorskip("flask")

from cchc_excel.template.build import template_bytes  # noqa: E402
from cchc_excel.web import create_app  # noqa: E402

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
HERE = "http://localhost"
ELSEWHERE = {"REMOTE_ADDR": "192.0.2.9"}


@pytest.fixture
def app(tmp_path):
    app = create_app(tmp_path / "ws")
    app.testing = True
    return app


@pytest.fixture
def client(app):
    c = app.test_client()
    data = {"file": (io.BytesIO((SAMPLES / "roster.csv").read_bytes()), "roster.csv")}
    assert c.put("/api/roster", data=data, content_type="multipart/form-data").json == {"units": 19}
    return c


def token(client):
    return re.search(r'name="csrf" value="([^"]+)"', client.get("/").get_data(as_text=True)).group(1)


def ret(app, code, values=None, notes=None):
    ws = app.extensions["cchc_workspace"]
    return template_bytes(ws.spec, level="xa", unit=ws.roster().get(code), period="2023-Q2",
                          values=values or {"BM3-3.1.1": 5}, notes=notes)


def upload(client, files):
    return client.post("/api/periods/2023-Q2/files", content_type="multipart/form-data",
                       data={"files": [(io.BytesIO(data), name) for name, data in files]})


# ------------------------------------------------------------------------------------------ own unit

def test_the_own_unit_is_the_default_subtree_of_pages_and_api(client):
    home = client.get("/").get_data(as_text=True)
    assert 'id="own-unit-name">540 Thị xã Hoài Nhơn' in home and "tự chọn theo danh sách" in home
    body = client.get("/api/periods/2023-Q2/status").json
    assert body["unit"]["code"] == "540" and body["units"]["expected"] == 17 and "540" not in body["statuses"]
    assert client.get("/api/periods/2023-Q2/status?unit=*").json["units"]["expected"] == 18
    assert client.get("/api/periods/2023-Q2/status?unit=52").json["units"]["expected"] == 18
    status = client.get("/periods/2023-Q2/status").get_data(as_text=True)
    assert "Các đơn vị thuộc <strong>Thị xã Hoài Nhơn</strong>" in status
    assert re.search(r"<td>540</td>", status) is None  # the district is not a unit that owes itself a return
    merged = client.get("/periods/2023-Q2/merged").get_data(as_text=True)
    assert "Tổng hợp kỳ 2023-Q2: Thị xã Hoài Nhơn" in merged and 'value="540" selected' in merged
    csv = client.get("/api/periods/2023-Q2/tidy.csv")
    assert csv.status_code == 200 and 'filename="tidy_2023-Q2.csv"' in csv.headers["Content-Disposition"]


def test_the_own_unit_is_chosen_on_the_first_page(client):
    r = client.post("/own-unit", data={"unit": "52", "csrf": token(client)}, headers={"Origin": HERE},
                    follow_redirects=True)
    assert "Đơn vị của trang này: 52 Tỉnh Bình Định." in r.get_data(as_text=True)
    assert client.get("/api/periods/2023-Q2/status").json["unit"]["code"] == "52"
    r = client.post("/own-unit", data={"unit": "", "csrf": token(client)}, headers={"Origin": HERE},
                    follow_redirects=True)
    assert "540 Thị xã Hoài Nhơn" in r.get_data(as_text=True)


def test_bad_own_unit_input(client, app):
    r = client.post("/own-unit", data={"unit": "99999", "csrf": token(client)}, headers={"Origin": HERE},
                    follow_redirects=True)
    assert "flash error" in r.get_data(as_text=True) and "99999" in r.get_data(as_text=True)
    assert app.extensions["cchc_workspace"].own_unit() == "540"
    assert client.post("/own-unit", data={"unit": "52"}, headers={"Origin": HERE}).status_code == 403  # no token
    r = client.get("/api/periods/2023-Q2/status?unit=99999")
    assert r.status_code == 400 and "99999" in r.json["error"]
    assert client.get("/periods/2023-Q2/status?unit=99999").status_code == 400


# ------------------------------------------------------------------------------------------ received dates

def test_an_eml_upload_is_dated_by_its_message(client, app):
    msg = EmailMessage()
    msg["From"], msg["Subject"], msg["Date"] = "tqb@example.vn", "Báo cáo", "Thu, 15 Jun 2023 16:30:00 +0700"
    msg.set_content("Kính gửi")
    msg.add_attachment(ret(app, "22240"), maintype="application", subtype="octet-stream", filename="tqb.xlsx")
    r = upload(client, [("thu.eml", msg.as_bytes()), ("hs.xlsx", ret(app, "22217"))])
    assert r.status_code == 200 and [f["unit"]["code"] for f in r.json["files"]] == ["22240", "22217"]
    statuses = client.get("/api/periods/2023-Q2/status").json["statuses"]
    assert statuses["22240"] == {"status": "merged", "late": False}  # sent on 15/6, before the 20th
    assert statuses["22217"]["late"] is True  # uploaded today
    page = client.get("/periods/2023-Q2/status").get_data(as_text=True)
    assert "15/06/2023" in page
    bad = upload(client, [("hong.eml", b"\x00\x01 not a message")])
    assert bad.status_code == 200 and bad.json["files"] == [] and "hong.eml" in bad.json["problems"][0]


# ------------------------------------------------------------------------------------------ folder scan

def folder_of(tmp_path, app):
    folder = tmp_path / "bao cao ve"
    folder.mkdir()
    (folder / "tqb.xlsx").write_bytes(ret(app, "22240"))
    (folder / "hs.xlsx").write_bytes(ret(app, "22217"))
    (folder / "rac.xlsx").write_bytes(b"rac")
    return folder


def test_a_folder_is_scanned_with_each_result_streamed(client, app, tmp_path):
    folder = folder_of(tmp_path, app)
    r = client.post("/api/periods/2023-Q2/folder", json={"path": f'"{folder}"'})
    assert r.status_code == 200 and r.mimetype == "application/x-ndjson"
    lines = [json.loads(line) for line in r.get_data(as_text=True).splitlines()]
    assert lines[0] == {"total": 3} and [line["done"] for line in lines[1:]] == [1, 2, 3]
    assert [f["path"] for line in lines[1:] for f in line["files"]] == ["hs.xlsx", "rac.xlsx", "tqb.xlsx"]
    assert sorted(p.name for p in folder.iterdir()) == ["hs.xlsx", "rac.xlsx", "tqb.xlsx"]  # nothing written
    assert client.get("/api/periods/2023-Q2/status").json["units"]["received"] == 2


def test_a_folder_is_scanned_from_the_form_without_javascript(client, app, tmp_path):
    folder = folder_of(tmp_path, app)
    r = client.post("/periods/2023-Q2/receive", data={"folder": str(folder), "csrf": token(client)},
                    headers={"Origin": HERE})
    page = r.get_data(as_text=True)
    assert r.status_code == 200 and "tqb.xlsx" in page and "Không đọc được" in page
    assert 'id="folder-form"' in client.get("/periods/2023-Q2/receive").get_data(as_text=True)


def test_bad_folder_scans(client, app, tmp_path):
    r = client.post("/api/periods/2023-Q2/folder", json={"path": str(tmp_path / "khong-co")})
    assert r.status_code == 400 and "không có thư mục" in r.json["error"]
    assert client.post("/api/periods/2023-Q2/folder", json={"path": ""}).status_code == 400
    assert client.post("/api/periods/2023-Q2/folder", json={"path": ["a"]}).status_code == 400
    assert client.post("/api/periods/2023-Q2/folder", data="nope", content_type="application/json").status_code == 400
    assert client.post("/api/periods/2023-xx/folder", json={"path": str(tmp_path)}).status_code == 404
    r = client.post("/api/periods/2023-Q2/folder", json={"path": str(tmp_path)}, headers={"Origin": "http://evil.example"})
    assert r.status_code == 403
    r = client.post("/periods/2023-Q2/receive", data={"folder": str(tmp_path)}, headers={"Origin": HERE})
    assert r.status_code == 403  # no CSRF token


def test_a_folder_scan_is_refused_from_another_computer(tmp_path):
    app = create_app(tmp_path / "ws", password="bi-mat", hosts=("192.0.2.5",))
    client = app.test_client()
    auth = {"Authorization": "Basic " + __import__("base64").b64encode(b"x:bi-mat").decode(), "Host": "192.0.2.5"}
    r = client.post("/api/periods/2023-Q2/folder", json={"path": str(tmp_path)}, headers=auth,
                    environ_base=ELSEWHERE)
    assert r.status_code == 403 and "chính máy chạy chương trình" in r.json["error"]
    page = client.get("/periods/2023-Q2/receive", headers=auth, environ_base=ELSEWHERE).get_data(as_text=True)
    assert 'id="folder"' not in page and "chính máy chạy chương trình" in page
    r = client.post("/api/periods/2023-Q2/folder", json={"path": str(tmp_path)}, headers=auth)  # at the server
    assert r.status_code == 200


# ------------------------------------------------------------------------------------------ explanations

def test_the_findings_table_shows_each_explanation(client, app):
    why = "Biên chế do UBND thị xã điều động sang"
    r = upload(client, [("tqb.xlsx", ret(app, "22240", {"BM4-2.1": 0, "BM4-2.2": 20, "BM3-3.1.1": 10,
                                                         "BM3-3.1.2": 12}, {"BM4-2.2": why}))])
    assert r.status_code == 200
    ws = app.extensions["cchc_workspace"]
    ws.explain("2023-Q2", "22240", "Số liệu đã được xác minh lại", indicator="BM3-3.1.2")
    page = client.get("/periods/2023-Q2/units/22240").get_data(as_text=True)
    assert "<th>Giải trình</th>" in page
    explained = re.search(r'<tr class="sev-warning explained">(.*?)</tr>', page, re.S).group(1)
    assert "BM4-2.2" in explained and why in explained and "Đã giải trình" in explained
    error = re.search(r'<tr class="sev-error">(.*?)</tr>', page, re.S).group(1)
    assert "BM3-3.1.2" in error and "Số liệu đã được xác minh lại" in error
    assert "Đã giải trình" not in error  # an error stays an error, with its explanation beside it


# ------------------------------------------------------------------------------------------ make demo

def test_the_demo_workspace_holds_the_sample_quarter(tmp_path, capsys):
    import runpy

    demo = runpy.run_path(str(SAMPLES / "demo_workspace.py"))
    assert demo["main"](SAMPLES, tmp_path / "cchc-du-lieu") == 0
    assert "17 tệp đã nhận cho kỳ 2023-Q2" in capsys.readouterr().out
    client = create_app(tmp_path / "cchc-du-lieu").test_client()
    body = client.get("/api/periods/2023-Q2/status").json
    assert body["unit"]["code"] == "540" and body["units"]["received"] == 16
    assert [code for code, s in body["statuses"].items() if s["late"]] == ["22212"]  # the one sent late
    assert body["statuses"]["22217"]["status"] == "missing"
