"""The "Gửi biểu mẫu" page and the drafts of "Tình hình" through Flask's test client, sending through a
real SMTP server (aiosmtpd on loopback): what arrives, never twice, bad input for each route, and the
SMTP password nowhere on disk nor in the cookie."""

import email
import io
import re
import zipfile
from email.policy import default as POLICY

import pytest

flask = pytest.importorskip("flask")

from aiosmtpd.smtp import AuthResult  # noqa: E402

from test_distribute import Recorder, attachment, free_port, start_server, workbook_meta  # noqa: E402
from test_distribute import server  # noqa: E402,F401 (fixture)
from test_web import HERE, app, client, filled, put_roster, token  # noqa: E402,F401 (fixtures)

SENDER = "Phòng Nội vụ thị xã Hoài Nhơn <noivu@hoainhon.example.vn>"
PASSWORD = "Mat-Khau-Rat-Bi-Mat-7391"
WITH_EMAIL = 17  # the sample roster's reporting units (not the province) with an email: all but 22217


def post(client, url, follow_redirects=False, **data):
    data.setdefault("csrf", token(client))
    return client.post(url, data=data, headers={"Origin": HERE}, follow_redirects=follow_redirects)


def smtp_form(port, **extra):
    return {"sender": SENDER, "smtp_host": "127.0.0.1", "smtp_port": str(port), "security": "none",
            "deadline": "2023-06-27", "unit": "*", **extra}  # the whole roster, not the workspace's own unit


def members(response) -> dict:
    return {n: z.read(n) for z in [zipfile.ZipFile(io.BytesIO(response.data))] for n in z.namelist()}


def text(response) -> str:
    return response.get_data(as_text=True)


# ------------------------------------------------------------------------------------------ the page

def test_send_page(client):
    page = client.get("/periods/2023-Q2/send")
    assert page.status_code == 200 and "Chưa có danh sách đơn vị" in text(page)
    put_roster(client)
    body = text(client.get("/periods/2023-Q2/send"))
    assert "Gửi biểu mẫu kỳ 2023-Q2" in body and 'value="20/06/2023"' in body  # the period's deadline
    assert "Các đơn vị trực thuộc 540 Thị xã Hoài Nhơn" in body and 'href="/periods/2023-Q2/send"' in body
    assert client.get("/periods/2023-X9/send").status_code == 404


def test_templates_zip_of_the_roster_or_a_subtree(client):
    r = post(client, "/periods/2023-Q2/send/templates")
    assert r.status_code == 302 and "Chưa có danh sách đơn vị" in text(client.get(r.headers["Location"]))
    put_roster(client)
    own = post(client, "/periods/2023-Q2/send/templates")  # by default the workspace's own unit: 540
    assert 'filename="bieu-mau_2023-Q2_540.zip"' in own.headers["Content-Disposition"]
    assert len(members(own)) == 17
    r = post(client, "/periods/2023-Q2/send/templates", unit="*")
    assert r.status_code == 200 and 'filename="bieu-mau_2023-Q2.zip"' in r.headers["Content-Disposition"]
    books = members(r)
    assert len(books) == 18 and "22240_phuong-tam-quan-bac_2023-Q2.xlsx" in books  # not the province
    meta = workbook_meta(books["22240_phuong-tam-quan-bac_2023-Q2.xlsx"])
    assert meta["unit_code"] == "22240" and meta["period"] == "2023-Q2"
    sub = post(client, "/periods/2023-Q2/send/templates", unit="540")
    assert 'filename="bieu-mau_2023-Q2_540.zip"' in sub.headers["Content-Disposition"]
    assert len(members(sub)) == 17 and not any(n.startswith("540_") for n in members(sub))
    bad = post(client, "/periods/2023-Q2/send/templates", unit="999", follow_redirects=True)
    assert "Không có đơn vị mã &#39;999&#39;" in text(bad)
    assert post(client, "/periods/2023-Q2/send/templates", csrf="sai").status_code == 403
    assert client.post("/periods/2023-Q2/send/templates", data={"csrf": token(client)}).status_code == 403


def test_drafts_zip(client, tmp_path):
    put_roster(client)
    r = post(client, "/periods/2023-Q2/send/drafts", sender=SENDER, deadline="2023-06-27", contact="Chị Lan",
             unit="*")
    assert r.status_code == 200 and 'filename="thu-nhap_2023-Q2.zip"' in r.headers["Content-Disposition"]
    files = members(r)
    emls = [n for n in files if n.endswith(".eml")]
    assert len(emls) == WITH_EMAIL and "22217_xa-hoai-son_2023-Q2.xlsx" in files  # no email: to hand over
    msg = email.message_from_bytes(files["22240_phuong-tam-quan-bac_2023-Q2.eml"], policy=POLICY)
    assert msg["X-Unsent"] == "1" and "<vp.22240@hoainhon.example>" in msg["To"]
    assert "27/06/2023" in msg.get_body().get_content() and "Chị Lan" in msg.get_body().get_content()
    assert workbook_meta(attachment(msg)[2])["unit_code"] == "22240"
    assert not (tmp_path / "ws" / "outbox").exists()  # drafts are not sends: no log
    bad = post(client, "/periods/2023-Q2/send/drafts", sender="khong-phai-dia-chi", follow_redirects=True)
    assert "Địa chỉ người gửi &#39;khong-phai-dia-chi&#39; không hợp lệ" in text(bad)
    bad = post(client, "/periods/2023-Q2/send/drafts", deadline="31/02/2023", follow_redirects=True)
    assert "Không hiểu ngày" in text(bad)


# ------------------------------------------------------------------------------------------ sending

def test_send_through_smtp_then_never_twice(client, server, tmp_path):
    put_roster(client)
    r = post(client, "/periods/2023-Q2/send", **smtp_form(server.settings.port))
    body = text(r)
    assert r.status_code == 200 and f"Đã gửi {WITH_EMAIL} thư." in body
    assert body.count('class="sent-ok"') == WITH_EMAIL and "Không có email" in body and "tải biểu mẫu" in body
    units = server.by_unit()
    assert len(server.messages) == WITH_EMAIL and "22217" not in units and "52" not in units
    rcpts, msg = units["22240"]
    assert rcpts == ["vp.22240@hoainhon.example"] and "Tam Quan Bắc" in str(msg["Subject"])
    name, _, data = attachment(msg)
    assert name == "22240_phuong-tam-quan-bac_2023-Q2.xlsx" and workbook_meta(data)["unit_code"] == "22240"
    assert (tmp_path / "ws" / "outbox" / "2023-Q2" / "da-gui.csv").is_file()

    again = text(post(client, "/periods/2023-Q2/send", **smtp_form(server.settings.port)))
    assert len(server.messages) == WITH_EMAIL and again.count('class="sent-before"') == WITH_EMAIL
    assert "không gửi trùng" in again
    sent = client.application.extensions["cchc_workspace"].sent("2023-Q2")
    assert len(sent) == WITH_EMAIL and {s["kind"] for s in sent} == {"bieu-mau"}
    page = text(client.get("/periods/2023-Q2/units/22240"))  # the unit's page says what it was sent
    assert "Thư đã gửi cho đơn vị" in page and "vp.22240@hoainhon.example" in page
    assert "<title>22240 · 2023-Q2 · cchc</title>" in page  # the table is in the page, not its title
    assert re.search(r"<td>Biểu mẫu</td>.*?<td>Đã gửi</td>", page, re.S)
    # remembered for next time (but the password): the page shows the server again
    assert 'value="127.0.0.1"' in text(client.get("/periods/2023-Q2/send"))


@pytest.mark.parametrize("change, message", [
    ({"smtp_host": ""}, "Chưa có máy chủ thư đi"),
    ({"smtp_port": "70000"}, "Cổng SMTP «70000» không hợp lệ"),
    ({"smtp_port": "abc"}, "Cổng SMTP «abc» không hợp lệ"),
    ({"security": "tls9"}, "Hãy chọn cách mã hóa"),
    ({"sender": ""}, "Gửi thư cần người gửi"),
    ({"smtp_user": "noivu"}, "Cần mật khẩu của noivu"),
])
def test_send_with_bad_settings_is_a_flash(client, server, change, message):
    put_roster(client)
    r = post(client, "/periods/2023-Q2/send", follow_redirects=True, **{**smtp_form(server.settings.port), **change})
    assert r.status_code == 200 and message in text(r) and not server.messages


def test_send_errors_from_the_server_are_flashes(client, server):
    put_roster(client)
    r = post(client, "/periods/2023-Q2/send", follow_redirects=True, **smtp_form(free_port()))
    assert "Không kết nối được máy chủ thư 127.0.0.1" in text(r) and "Traceback" not in text(r)
    r = post(client, "/periods/2023-Q2/send", follow_redirects=True,
             **smtp_form(server.settings.port, security="starttls"))
    assert "không hỗ trợ STARTTLS" in text(r)
    assert client.get("/periods/2023-Q2/send").status_code == 200 and not server.messages


def test_a_refused_recipient_is_a_failure_with_its_reason_then_sent_again(client, server):
    put_roster(client)
    server.refuse.add("vp.22240@hoainhon.example")
    body = text(post(client, "/periods/2023-Q2/send", **smtp_form(server.settings.port, unit="540")))
    assert "1 thư gửi không được" in body and 'class="sent-failed"' in body
    assert "máy chủ từ chối người nhận: vp.22240@hoainhon.example (550" in body
    assert len(server.messages) == WITH_EMAIL - 2  # the 16 units under 540 with an email, but 22240
    server.refuse.clear()
    body = text(post(client, "/periods/2023-Q2/send", **smtp_form(server.settings.port, unit="540")))
    assert "Đã gửi 1 thư." in body and list(server.by_unit()).count("22240") == 1
    statuses = [(s["unit"], s["status"]) for s in client.application.extensions["cchc_workspace"].sent("2023-Q2")]
    assert ("22240", "loi") in statuses and statuses[-1] == ("22240", "ok")


def test_no_unit_with_email(client, server):
    roster = "ma_don_vi,ten_don_vi,cap,don_vi_cha,email\n540,Thị xã Hoài Nhơn,huyen,,\n22240,Phường Tam Quan Bắc,xa,540,\n"
    client.put("/api/roster", data={"file": (io.BytesIO(roster.encode()), "r.csv")}, content_type="multipart/form-data")
    r = post(client, "/periods/2023-Q2/send", **smtp_form(server.settings.port))
    assert "Không đơn vị nào có email hợp lệ" in text(r) and not server.messages
    r = post(client, "/periods/2023-Q2/send/drafts", follow_redirects=True)
    assert "Không đơn vị nào có email hợp lệ" in text(r)


def test_test_send_goes_to_the_address_given_only(client, server, tmp_path):
    put_roster(client)
    r = post(client, "/periods/2023-Q2/send/test", follow_redirects=True,
             **smtp_form(server.settings.port, test_to="thu@example.vn", unit="540"))
    assert "Đã gửi thư thử đến thu@example.vn" in text(r)
    [(_, rcpts, msg)] = server.messages
    assert rcpts == ["thu@example.vn"] and workbook_meta(attachment(msg)[2])["unit_code"] == "22201"
    assert not (tmp_path / "ws" / "outbox").exists()
    assert client.application.extensions["cchc_workspace"].sent("2023-Q2") == []
    r = post(client, "/periods/2023-Q2/send/test", follow_redirects=True,
             **smtp_form(server.settings.port, test_to="khong dung"))
    assert "Địa chỉ gửi thử «khong dung» không hợp lệ" in text(r) and len(server.messages) == 1


@pytest.fixture
def login_server():
    def authenticator(server, session, envelope, mechanism, auth_data):
        return AuthResult(success=auth_data.password == PASSWORD.encode(), handled=False)

    handler = Recorder()
    controller = start_server(handler, authenticator=authenticator, auth_required=True, auth_require_tls=False)
    handler.port = controller.port
    yield handler
    controller.stop()


def _holds(folder, secret: bytes) -> list:
    return [str(p) for p in folder.rglob("*") if p.is_file() and secret in p.read_bytes()]


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_the_password_stays_in_memory_only(client, login_server, tmp_path, caplog):
    caplog.set_level("DEBUG")
    put_roster(client)
    form = smtp_form(login_server.port, smtp_user="noivu", unit="540")
    wrong = post(client, "/periods/2023-Q2/send", follow_redirects=True, smtp_password="sai", **form)
    assert "không chấp nhận tên đăng nhập hoặc mật khẩu" in text(wrong) and not login_server.messages
    r = post(client, "/periods/2023-Q2/send", smtp_password=PASSWORD, **form)
    assert f"Đã gửi {WITH_EMAIL - 1} thư." in text(r) and len(login_server.messages) == WITH_EMAIL - 1

    ws = tmp_path / "ws"
    assert _holds(ws, PASSWORD.encode()) == [] and _holds(ws, PASSWORD.encode("utf-16-le")) == []
    cookie = client.get_cookie("session")
    assert cookie is not None and PASSWORD not in cookie.value and PASSWORD not in caplog.text
    app = client.application
    session = app.session_interface.get_signing_serializer(app).loads(cookie.value)  # decompressed
    assert "csrf" in session and PASSWORD not in repr(session)
    assert PASSWORD not in text(client.get("/periods/2023-Q2/send"))
    assert "đang được nhớ" in text(client.get("/periods/2023-Q2/send"))

    # remembered in memory: the Tình hình page sends without asking again
    r = post(client, "/periods/2023-Q2/remind/send", unit="*")
    assert r.status_code == 200 and "Thư nhắc kỳ 2023-Q2" in text(r)
    reminded = [str(m["X-CCHC-Unit"]) for _, _, m in login_server.messages if "Nhắc gửi" in str(m["Subject"])]
    assert len(reminded) == WITH_EMAIL and "540" in reminded  # no return received yet: every unit

    assert client.post("/send/forget", data={"period": "2023-Q2"}, headers={"Origin": HERE}).status_code == 403
    assert "đang được nhớ" in text(client.get("/periods/2023-Q2/send"))  # not without the page's token
    r = post(client, "/send/forget", period="2023-Q2", follow_redirects=True)
    assert "Đã quên mật khẩu" in text(r) and "đang được nhớ" not in text(r)
    r = post(client, "/periods/2023-Q2/send", follow_redirects=True, **form)
    assert "Cần mật khẩu của noivu" in text(r)
    assert post(client, "/send/forget", period="../x").headers["Location"].endswith("/")


# ------------------------------------------------------------------------------------------ Tình hình

def test_status_page_has_the_drafts(client, filled):
    body = text(client.get("/periods/2023-Q2/status"))  # the workspace's own unit: the district 540
    assert 'id="drafts"' in body and "Thư nhắc (1 đơn vị chưa nộp)" in body
    assert '<input type="hidden" name="unit" value="">' in body
    body = text(client.get("/periods/2023-Q2/status?unit=*"))  # the whole roster: 540 is missing too
    assert "Thư nhắc (2 đơn vị chưa nộp)" in body and '<input type="hidden" name="unit" value="*">' in body
    assert 'id="remind-send" disabled' in body and "Gửi biểu mẫu</a>" in body


def test_reminders_drafts_and_sent_once(client, filled, server):
    own = post(client, "/periods/2023-Q2/remind/drafts", deadline="2023-06-30", follow_redirects=True)
    assert "Không có thư nào" in text(own) or "email" in text(own)  # under 540 only 22217, without email
    r = post(client, "/periods/2023-Q2/remind/drafts", deadline="2023-06-30", unit="*")
    assert r.status_code == 200 and 'filename="thu-nhac_2023-Q2.zip"' in r.headers["Content-Disposition"]
    files = members(r)
    assert list(files) == ["540_thi-xa-hoai-nhon_2023-Q2_nhac-nop.eml"]  # 22217 has no email
    msg = email.message_from_bytes(files["540_thi-xa-hoai-nhon_2023-Q2_nhac-nop.eml"], policy=POLICY)
    assert "hạn gửi 30/06/2023" in str(msg["Subject"])

    r = post(client, "/periods/2023-Q2/remind/send", follow_redirects=True)
    assert "Chưa có máy chủ thư đi" in text(r) and not server.messages
    post(client, "/periods/2023-Q2/send/templates", **smtp_form(server.settings.port))  # remembers the settings
    assert 'id="remind-send" disabled' not in text(client.get("/periods/2023-Q2/status"))
    r = post(client, "/periods/2023-Q2/remind/send", deadline="2023-06-30", unit="*")
    assert "Đã gửi 1 thư." in text(r) and "22217" in text(r)
    assert [str(m["X-CCHC-Unit"]) for _, _, m in server.messages] == ["540"]
    r = post(client, "/periods/2023-Q2/remind/send", unit="*")
    assert 'class="sent-before"' in text(r) and len(server.messages) == 1
    kinds = [s["kind"] for s in client.application.extensions["cchc_workspace"].sent("2023-Q2")]
    assert kinds == ["nhac-nop"]
    bad = post(client, "/periods/2023-Q2/remind/send", deadline="ngay mai", follow_redirects=True)
    assert "Không hiểu ngày" in text(bad)
    assert post(client, "/periods/2023-Q2/remind/other").status_code == 404


def test_feedback_drafts_and_sent_once(client, filled, server):
    r = post(client, "/periods/2023-Q2/feedback/drafts", deadline="2023-06-27")
    assert r.status_code == 200
    files = members(r)
    assert list(files) == ["22205_phuong-hoai-tan_2023-Q2_phan-hoi_tep-6.eml",
                           "22208_phuong-hoai-xuan_2023-Q1_phan-hoi_tep-9.eml"]  # the units with errors
    msg = email.message_from_bytes(files["22205_phuong-hoai-tan_2023-Q2_phan-hoi_tep-6.eml"], policy=POLICY)
    assert "hạn gửi lại 27/06/2023" in str(msg["Subject"]) and "lỗi cần sửa" in msg.get_body().get_content()
    name, _, data = attachment(msg)
    assert name == "22205_phuong-hoai-tan_2023-Q2_phan-hoi_tep-6.xlsx" and data.startswith(b"PK")

    post(client, "/periods/2023-Q2/send/templates", **smtp_form(server.settings.port))
    r = post(client, "/periods/2023-Q2/feedback/send", deadline="2023-06-27")
    assert "Đã gửi 2 thư." in text(r) and "Thư phản hồi kỳ 2023-Q2" in text(r)
    assert sorted(server.by_unit()) == ["22205", "22208"]
    rcpts, msg = server.by_unit()["22205"]
    assert rcpts == ["vp.22205@hoainhon.example"] and "Đề nghị sửa" in str(msg["Subject"])
    again = post(client, "/periods/2023-Q2/feedback/send")
    assert text(again).count('class="sent-before"') == 2 and len(server.messages) == 2


def test_drafts_need_returns_and_a_roster(client):
    r = post(client, "/periods/2023-Q2/remind/drafts", follow_redirects=True)
    assert "Chưa có danh sách đơn vị" in text(r)
    put_roster(client)
    r = post(client, "/periods/2023-Q2/feedback/drafts", follow_redirects=True)
    assert "Không có đơn vị nào có báo cáo cần sửa" in text(r)
    assert post(client, "/periods/nope/remind/drafts").status_code == 404


def test_one_units_template(client):
    assert client.get("/periods/2023-Q2/units/22217/template.xlsx").status_code == 404
    put_roster(client)
    r = client.get("/periods/2023-Q2/units/22217/template.xlsx")
    assert r.status_code == 200 and workbook_meta(r.data)["unit_code"] == "22217"
    assert 'filename="22217_xa-hoai-son_2023-Q2.xlsx"' in r.headers["Content-Disposition"]
    assert client.get("/periods/2023-Q2/units/nope/template.xlsx").status_code == 404
    assert re.search("Không có đơn vị mã nope", text(client.get("/periods/2023-Q2/units/nope/template.xlsx")))
