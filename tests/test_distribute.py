"""distribute: each unit's template and message into an outbox, sent through a real SMTP server on loopback.

The server is aiosmtpd's `Controller` on 127.0.0.1 (a free port), with a handler that stores what arrives
and can refuse a recipient (550), drop the connection (421) or require a login. Templates are the real
ones (`cchc_excel.template.build`); attachments are opened back with python-calamine.
"""

from __future__ import annotations

import csv
import dataclasses
import email
import io
import re
import socket
from datetime import date, datetime
from email.policy import default as POLICY
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from python_calamine import CalamineWorkbook

from cchc_excel.template import metadata
from cchc_excel.mail.distribute import (LEDGER_COLUMNS, LEDGER_NAME, build_message, distribute, parse_date,
                                   parse_recipients, parse_sender, read_ledger)
from cchc_excel.errors import CchcError
from cchc_excel.core.periods import parse_period
from cchc_excel.core.roster import Unit, load_roster
from cchc_excel.mail.smtp import SmtpSettings
from cchc_excel.spec.loader import load_spec

SPEC = load_spec()
Q2 = parse_period("2023-Q2")
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TODAY = date(2023, 6, 1)
SENDER = "Phòng Nội vụ thị xã Hoài Nhơn <noivu@hoainhon.example.vn>"

# Unit codes are made up; the names are the real wards of thị xã Hoài Nhơn.
ROSTER_CSV = """ma_don_vi,ten_don_vi,cap,don_vi_cha,email
HN,Thị xã Hoài Nhơn,huyen,,noivu@hoainhon.example.vn
22240,Phường Tam Quan Bắc,xa,HN,tqbac@example.vn
22241,Phường Tam Quan Nam,xa,HN,
22242,Xã Hoài Mỹ,xa,HN,hoaimy@example; vanthu.hoaimy@example.vn
22243,Phường Bồng Sơn,xa,HN,bongson@example.vn; ubnd.bongson@example.vn
22244,Xã Hoài Hải,xa,HN,khong-phai-email
"""
WITH_EMAIL = ["22240", "22242", "22243"]


# ------------------------------------------------------------------ helpers (also used by test_mail_cli)

class Recorder:
    """aiosmtpd handler: keeps what arrives; refuses (550) or drops (421) chosen recipients."""

    def __init__(self):
        self.messages = []  # (mail_from, rcpt_tos, EmailMessage)
        self.refuse = set()
        self.drop = {}  # address -> how many more times to answer 421
        self.logins = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 Mailbox unavailable"
        if self.drop.get(address, 0) > 0:
            self.drop[address] -= 1
            return "421 4.3.2 Service not available, closing channel"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.content, policy=POLICY)
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), msg))
        return "250 Message accepted for delivery"

    def by_unit(self) -> dict:
        return {str(m["X-CCHC-Unit"]): (rcpts, m) for _, rcpts, m in self.messages}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(handler, **kwargs) -> Controller:
    controller = Controller(handler, hostname="127.0.0.1", port=free_port(), **kwargs)
    controller.start()
    return controller


@pytest.fixture
def server():
    handler = Recorder()
    controller = start_server(handler)
    handler.settings = SmtpSettings("127.0.0.1", controller.port, timeout=30)  # generous: CI machines are loaded
    yield handler
    controller.stop()


@pytest.fixture
def roster(tmp_path) -> Path:
    path = tmp_path / "don-vi.csv"
    path.write_text(ROSTER_CSV, encoding="utf-8")
    return path


def attachment(msg) -> tuple[str, str, bytes]:
    (part,) = list(msg.iter_attachments())
    return part.get_filename(), part.get_content_type(), part.get_content()


def workbook_meta(data: bytes) -> dict:
    """The `_cchc` metadata of a template, read with python-calamine."""
    book = CalamineWorkbook.from_filelike(io.BytesIO(data))
    assert "Biểu mẫu 1" in book.sheet_names
    return metadata.parse_sheet(book.get_sheet_by_name(metadata.SHEET).to_python())[0]


def ledger_rows(outbox: Path) -> list[dict]:
    with open(outbox / LEDGER_NAME, encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def run(roster_path, outbox, **kwargs):
    kwargs.setdefault("today", TODAY)
    kwargs.setdefault("unit_code", "HN")
    return distribute(load_roster(roster_path, levels=SPEC.levels), Q2, outbox, SPEC, **kwargs)


# ------------------------------------------------------------------ small parsers

@pytest.mark.parametrize("text, expected", [
    ("20/06/2023", date(2023, 6, 20)),
    ("5/7/2023", date(2023, 7, 5)),
    ("05-07-2023", date(2023, 7, 5)),
    ("2023-06-30", date(2023, 6, 30)),
    (" 30.06.2023 ", date(2023, 6, 30)),
])
def test_parse_date(text, expected):
    assert parse_date(text) == expected


@pytest.mark.parametrize("text", ["31/06/2023", "06/20/2023", "20/06/23", "", "ngày mai"])
def test_parse_date_rejects(text):
    with pytest.raises(CchcError, match="dd/mm/yyyy"):
        parse_date(text)


@pytest.mark.parametrize("cell, good, bad", [
    ("a@x.vn", ["a@x.vn"], []),
    ("a@x.vn; b@y.gov.vn", ["a@x.vn", "b@y.gov.vn"], []),
    ("a@x.vn, a@x.vn\nc@z.vn", ["a@x.vn", "c@z.vn"], []),
    ("Văn thư <vt@x.vn>", ["vt@x.vn"], []),
    ("", [], []),
    ("khong-phai-email", [], ["khong-phai-email"]),
    ("a@x; b@y.vn", ["b@y.vn"], ["a@x"]),
    ("thư@x.vn", [], ["thư@x.vn"]),
])
def test_parse_recipients(cell, good, bad):
    assert parse_recipients(cell) == (good, bad)


def test_parse_sender():
    assert parse_sender("noivu@x.vn") == ("noivu@x.vn", "noivu@x.vn")
    header, addr = parse_sender("Phòng Nội vụ <noivu@x.vn>")
    assert addr == "noivu@x.vn" and "Phòng Nội vụ" in header
    header, addr = parse_sender("UBND thị xã Hoài Nhơn, Phòng Nội vụ <noivu@x.vn>")
    assert (header, addr) == ('"UBND thị xã Hoài Nhơn, Phòng Nội vụ" <noivu@x.vn>', "noivu@x.vn")
    assert parse_sender("noivu@x.vn (Phòng Nội vụ)") == ("Phòng Nội vụ <noivu@x.vn>", "noivu@x.vn")
    for bad in ("", "Phòng Nội vụ", "noivu@", "a b@x.vn", "A <b@x.vn> <c@x.vn>", "<>"):
        with pytest.raises(CchcError, match="người gửi"):
            parse_sender(bad)


def test_password_is_not_in_repr():
    assert "bi-mat" not in repr(SmtpSettings("h", user="u", password="bi-mat"))


# ------------------------------------------------------------------ the message

def test_message_headers_body_and_attachment(tmp_path):
    book = tmp_path / "Biểu mẫu Quý II – Tam Quan Bắc.xlsx"  # a Vietnamese name: RFC 2231 on the wire
    book.write_bytes(b"PK\x03\x04 not really a workbook")
    unit = Unit("22240", "Phường Tam Quan Bắc, \"TX\"\r\nBcc: ke-xau@example.vn", "xa")
    msg = build_message(unit, Q2, book, to=["tqbac@example.vn", "vt@example.vn"], window=Q2.window(),
                        deadline=date(2023, 6, 20), sender=SENDER, contact="Chị Lan, 0256 3861 234",
                        now=datetime(2023, 6, 2, 8, 30))
    raw = msg.as_bytes()
    assert raw.isascii()
    back = email.message_from_bytes(raw, policy=POLICY)
    assert back["Subject"] == ("[CCHC] Biểu mẫu thống kê CCHC Quý II/2023 – "
                               "UBND phường Tam Quan Bắc, \"TX\" Bcc: ke-xau@example.vn – hạn gửi 20/06/2023")
    assert "Bcc" not in back and back["Bcc"] is None
    assert [a.addr_spec for a in back["To"].addresses] == ["tqbac@example.vn", "vt@example.vn"]
    assert back["To"].addresses[0].display_name.startswith("Phường Tam Quan Bắc, \"TX\"")
    assert back["From"].addresses[0].addr_spec == "noivu@hoainhon.example.vn"
    assert back["From"].addresses[0].display_name == "Phòng Nội vụ thị xã Hoài Nhơn"
    assert back["Message-ID"].endswith("@hoainhon.example.vn>") and back["Date"].datetime.day == 2
    assert back["X-Unsent"] is None
    body = back.get_body(("plain",)).get_content()
    for text in ("Kính gửi: UBND phường Tam Quan Bắc", "Quý II/2023", "từ ngày 15/03/2023 đến hết ngày 14/06/2023",
                 "chậm nhất ngày 20/06/2023", "trả lời thư này, đính kèm tệp đã điền",
                 "Giữ nguyên tên các trang tính", "liên hệ: Chị Lan, 0256 3861 234"):
        assert text in body
    name, ctype, data = attachment(back)
    assert (name, ctype, data) == (book.name, XLSX_MIME, book.read_bytes())
    assert b"filename*0*=utf-8''Bi%E1%BB%83u" in raw  # RFC 2231


def test_draft_message_has_no_from_and_opens_as_unsent(tmp_path):
    book = tmp_path / "a.xlsx"
    book.write_bytes(b"x")
    msg = build_message(Unit("1", "Xã A", "xa"), Q2, book, to=["a@x.vn"], window=Q2.window(),
                        deadline=date(2023, 6, 20), draft=True)
    assert msg["From"] is None and msg["X-Unsent"] == "1"
    assert "Mọi vướng mắc xin trả lời thư này." in msg.get_body(("plain",)).get_content()


# ------------------------------------------------------------------ the outbox, without sending

def test_drafts_for_units_with_email_and_the_others_listed(tmp_path, roster):
    outbox = tmp_path / "thu-gui"
    result = run(roster, outbox)
    assert [d.code for d in result.drafts] == WITH_EMAIL
    assert {u.code: u.reason for u in result.no_email} == {
        "22241": "chưa có email trong danh sách", "22244": "email không hợp lệ: «khong-phai-email»"}
    assert all(u.template and u.template.is_file() for u in result.no_email)  # to send some other way
    assert result.warnings == ["22242 Xã Hoài Mỹ: bỏ qua địa chỉ không hợp lệ «hoaimy@example»."]
    assert not result.sent and not result.failed and result.exit_code == 0
    assert not (outbox / LEDGER_NAME).exists()
    assert sorted(p.name for p in outbox.glob("*.eml")) == [
        "22240_phuong-tam-quan-bac_2023-Q2.eml", "22242_xa-hoai-my_2023-Q2.eml",
        "22243_phuong-bong-son_2023-Q2.eml"]
    assert len(list(outbox.glob("*.xlsx"))) == 5 and not list(outbox.glob(".cchc-*"))

    msg = email.message_from_bytes((outbox / "22243_phuong-bong-son_2023-Q2.eml").read_bytes(), policy=POLICY)
    assert msg["X-Unsent"] == "1" and msg["From"] is None
    assert [a.addr_spec for a in msg["To"].addresses] == ["bongson@example.vn", "ubnd.bongson@example.vn"]
    name, ctype, data = attachment(msg)
    assert name == "22243_phuong-bong-son_2023-Q2.xlsx" and ctype == XLSX_MIME
    assert data == (outbox / name).read_bytes()
    meta = workbook_meta(data)
    assert (meta["unit_code"], meta["unit_name"], meta["period"], meta["level"]) == (
        "22243", "Phường Bồng Sơn", "2023-Q2", "xa")


def test_attachment_is_the_template_cchc_template_makes(tmp_path, roster):
    from cchc_excel.template.build import write_roster_templates

    result = run(roster, tmp_path / "o")
    reference = {p.name: p for p in write_roster_templates(load_roster(roster, levels=SPEC.levels), Q2, tmp_path / "ref", SPEC)}
    for draft in result.drafts:
        name, _, data = attachment(email.message_from_bytes(draft.eml.read_bytes(), policy=POLICY))
        assert sheets(data) == sheets(reference[name].read_bytes())


def sheets(data: bytes) -> dict:
    """Every sheet's cells, without the generation time of the metadata."""
    book = CalamineWorkbook.from_filelike(io.BytesIO(data))
    return {name: [row for row in book.get_sheet_by_name(name).to_python() if row[:1] != ["generated_at"]]
            for name in book.sheet_names}


def test_deadline_override_and_warnings(tmp_path, roster):
    result = run(roster, tmp_path / "o", deadline=date(2023, 6, 10), today=date(2023, 6, 12))
    assert result.deadline == date(2023, 6, 10)
    assert result.warnings[:2] == ["Hạn gửi 10/06/2023 đã qua (hôm nay 12/06/2023).",
                                   "Hạn gửi 10/06/2023 trước ngày chốt số liệu 14/06/2023."]
    body = email.message_from_bytes(result.drafts[0].eml.read_bytes(), policy=POLICY).get_body().get_content()
    assert "chậm nhất ngày 10/06/2023" in body


def test_default_is_every_reporting_unit_and_spec_days_are_used(tmp_path, roster):
    spec = dataclasses.replace(SPEC, cutoff_day=10, deadline_day=25)
    result = distribute(load_roster(roster, levels=SPEC.levels), "2023-Q2", tmp_path / "o", spec, today=TODAY)
    assert [d.code for d in result.drafts] == ["HN", *WITH_EMAIL]
    assert result.window == (date(2023, 3, 11), date(2023, 6, 10)) and result.deadline == date(2023, 6, 25)


def test_unknown_codes_stop_before_anything(tmp_path, roster, server):
    with pytest.raises(CchcError, match="không có đơn vị mã 'XX'"):
        run(roster, tmp_path / "o", unit_code=None, sender=SENDER, smtp=server.settings, resend=["XX"])
    with pytest.raises(CchcError, match="không có đơn vị mã 'XX'"):
        distribute(load_roster(roster, levels=SPEC.levels), Q2, tmp_path / "o", SPEC, unit_code="XX")
    assert not (tmp_path / "o").exists() and not server.messages


# ------------------------------------------------------------------ sending

def test_send_then_nothing_twice_then_resend_one(tmp_path, roster, server):
    outbox = tmp_path / "thu-gui"
    result = run(roster, outbox, sender=SENDER, smtp=server.settings)
    assert [d.code for d in result.sent] == WITH_EMAIL and not result.failed and result.exit_code == 0
    got = server.by_unit()
    assert set(got) == set(WITH_EMAIL)
    assert got["22243"][0] == ["bongson@example.vn", "ubnd.bongson@example.vn"]
    assert got["22242"][0] == ["vanthu.hoaimy@example.vn"]
    assert all(frm == "noivu@hoainhon.example.vn" for frm, _, _ in server.messages)
    rcpts, msg = got["22240"]
    assert rcpts == ["tqbac@example.vn"]
    assert msg["Subject"] == ("[CCHC] Biểu mẫu thống kê CCHC Quý II/2023 – UBND phường Tam Quan Bắc – "
                              "hạn gửi 20/06/2023")
    assert msg["X-Unsent"] is None and msg["From"].addresses[0].addr_spec == "noivu@hoainhon.example.vn"
    name, ctype, data = attachment(msg)
    assert (name, ctype) == ("22240_phuong-tam-quan-bac_2023-Q2.xlsx", XLSX_MIME)
    assert workbook_meta(data)["unit_code"] == "22240"
    # the .eml in the outbox is exactly what was sent
    saved = email.message_from_bytes((outbox / "22240_phuong-tam-quan-bac_2023-Q2.eml").read_bytes(),
                                     policy=POLICY)
    assert saved["Message-ID"] == msg["Message-ID"] == result.sent[0].message_id

    rows = ledger_rows(outbox)
    assert tuple(rows[0]) == LEDGER_COLUMNS
    assert [(r["ky_bao_cao"], r["ma_don_vi"], r["trang_thai"]) for r in rows] == [
        ("2023-Q2", c, "ok") for c in WITH_EMAIL]
    assert rows[2]["email"] == "bongson@example.vn;ubnd.bongson@example.vn"
    assert rows[0]["message_id"] == msg["Message-ID"] and rows[0]["tep_thu"].endswith(".eml")
    eml_before = (outbox / "22240_phuong-tam-quan-bac_2023-Q2.eml").read_bytes()

    again = run(roster, outbox, sender=SENDER, smtp=server.settings)
    assert len(server.messages) == 3 and not again.sent and not again.drafts
    assert [d.code for d in again.already_sent] == WITH_EMAIL and again.exit_code == 0
    assert (outbox / "22240_phuong-tam-quan-bac_2023-Q2.eml").read_bytes() == eml_before
    assert len(ledger_rows(outbox)) == 3

    once_more = run(roster, outbox, sender=SENDER, smtp=server.settings, resend=["22240"])
    assert [d.code for d in once_more.sent] == ["22240"] and len(server.messages) == 4
    assert server.messages[-1][2]["Message-ID"] != msg["Message-ID"]  # a new message, not a duplicate
    last = read_ledger(outbox)[-1]
    assert (last.code, last.status, last.detail) == ("22240", "ok", "gửi lại")
    assert last.time is not None and last.to == ("tqbac@example.vn",)

    # another period in the same outbox is a different round
    q3 = distribute(load_roster(roster, levels=SPEC.levels), "2023-Q3", outbox, SPEC, unit_code="HN", sender=SENDER,
                    smtp=server.settings, today=TODAY)
    assert [d.code for d in q3.sent] == WITH_EMAIL and len(server.messages) == 7


def test_refused_recipient_is_reported_and_the_others_go(tmp_path, roster, server):
    server.refuse.add("tqbac@example.vn")
    outbox = tmp_path / "o"
    result = run(roster, outbox, sender=SENDER, smtp=server.settings)
    assert [d.code for d in result.sent] == ["22242", "22243"]
    (failed,) = result.failed
    assert failed.code == "22240" and "550" in failed.detail and "tqbac@example.vn" in failed.detail
    assert result.exit_code == 1 and set(server.by_unit()) == {"22242", "22243"}
    assert [(r["ma_don_vi"], r["trang_thai"]) for r in ledger_rows(outbox)] == [
        ("22240", "loi"), ("22242", "ok"), ("22243", "ok")]

    server.refuse.clear()  # the address was fixed on the server side: a rerun sends only that one
    again = run(roster, outbox, sender=SENDER, smtp=server.settings)
    assert [d.code for d in again.sent] == ["22240"] and len(server.messages) == 3
    assert again.exit_code == 0


def test_one_of_two_addresses_refused_still_counts_as_sent(tmp_path, roster, server):
    server.refuse.add("bongson@example.vn")
    result = run(roster, tmp_path / "o", sender=SENDER, smtp=server.settings)
    sent = {d.code: d for d in result.sent}
    assert set(sent) == set(WITH_EMAIL)
    assert "bongson@example.vn (550" in sent["22243"].detail
    assert server.by_unit()["22243"][0] == ["ubnd.bongson@example.vn"]


def test_dropped_connection_is_reopened(tmp_path, roster, server):
    server.drop["tqbac@example.vn"] = 1  # the server closes the session once (421)
    server.drop["vanthu.hoaimy@example.vn"] = 5  # and keeps dropping this one
    result = run(roster, tmp_path / "o", sender=SENDER, smtp=server.settings)
    assert [d.code for d in result.sent] == ["22240", "22243"]
    assert [d.code for d in result.failed] == ["22242"] and "421" in result.failed[0].detail
    assert set(server.by_unit()) == {"22240", "22243"}


def test_server_unreachable_stops_before_anything_is_sent(tmp_path, roster):
    settings = SmtpSettings("127.0.0.1", free_port(), timeout=2)
    with pytest.raises(CchcError, match=r"Không kết nối được máy chủ thư 127\.0\.0\.1:\d+.*Chưa gửi thư nào"):
        run(roster, tmp_path / "o", sender=SENDER, smtp=settings)
    assert read_ledger(tmp_path / "o") == []


def test_sending_needs_a_sender_and_a_password(tmp_path, roster, server):
    with pytest.raises(CchcError, match="--from"):
        run(roster, tmp_path / "o", smtp=server.settings)
    settings = SmtpSettings("127.0.0.1", server.settings.port, user="noivu")
    with pytest.raises(CchcError, match="CCHC_SMTP_PASSWORD"):
        run(roster, tmp_path / "o", sender=SENDER, smtp=settings)
    with pytest.raises(CchcError, match="--smtp-host"):
        run(roster, tmp_path / "o", sender=SENDER, resend=["22240"])
    assert not (tmp_path / "o").exists() and not server.messages


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_login(tmp_path, roster):
    logins = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        logins.append((auth_data.login, auth_data.password))
        return AuthResult(success=auth_data.password == b"dung-mat-khau", handled=False)

    handler = Recorder()
    controller = start_server(handler, authenticator=authenticator, auth_required=True,
                              auth_require_tls=False)
    try:
        wrong = SmtpSettings("127.0.0.1", controller.port, "noivu", "sai", timeout=5)
        with pytest.raises(CchcError, match="không chấp nhận tên đăng nhập hoặc mật khẩu"):
            run(roster, tmp_path / "o", sender=SENDER, smtp=wrong)
        assert not handler.messages and read_ledger(tmp_path / "o") == []
        right = SmtpSettings("127.0.0.1", controller.port, "noivu", "dung-mat-khau", timeout=5)
        result = run(roster, tmp_path / "o", sender=SENDER, smtp=right)
        assert [d.code for d in result.sent] == WITH_EMAIL and len(handler.messages) == 3
        assert logins[-1] == (b"noivu", b"dung-mat-khau")
    finally:
        controller.stop()


def test_ssl_against_a_plain_server_is_a_clear_error(tmp_path, roster, server):
    settings = SmtpSettings("127.0.0.1", server.settings.port, security="ssl", timeout=5)
    with pytest.raises(CchcError, match="Không kết nối được máy chủ thư"):
        run(roster, tmp_path / "o", sender=SENDER, smtp=settings)


@pytest.mark.parametrize("settings, message", [
    (dict(security="starttls"), "máy chủ không hỗ trợ STARTTLS (bỏ --starttls hoặc dùng --ssl)"),
    (dict(user="noivu", password="x"), "máy chủ không hỗ trợ đăng nhập (AUTH)"),
])
def test_what_the_server_does_not_offer_is_named(tmp_path, roster, server, settings, message):
    settings = SmtpSettings("127.0.0.1", server.settings.port, timeout=5, **settings)
    with pytest.raises(CchcError, match=re.escape(message)):
        run(roster, tmp_path / "o", sender=SENDER, smtp=settings)
    assert not server.messages


def test_broken_ledger_is_named(tmp_path, roster, server):
    outbox = tmp_path / "o"
    outbox.mkdir()
    (outbox / LEDGER_NAME).write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(CchcError, match="da-gui.csv: không đọc được sổ ghi thư đã gửi"):
        run(roster, outbox, sender=SENDER, smtp=server.settings)
    assert not server.messages


class DropsAfterData(Recorder):
    """Keeps the message, then closes the connection before saying so (a timeout, a crash)."""

    async def handle_DATA(self, server, session, envelope):
        await super().handle_DATA(server, session, envelope)
        server.transport.close()
        return "250 Message accepted for delivery"


def test_a_connection_lost_after_the_message_went_is_not_sent_again(tmp_path, roster):
    handler = DropsAfterData()
    controller = start_server(handler)
    try:
        settings = SmtpSettings("127.0.0.1", controller.port, timeout=5)
        result = run(roster, tmp_path / "o", sender=SENDER, smtp=settings, unit_code=None, resend=["22240"])
    finally:
        controller.stop()
    assert len(handler.messages) == 1  # not resent on a new connection: it may well have arrived
    (failed,) = result.failed
    assert failed.code == "22240" and "có thể đã đến" in failed.detail


def test_a_ledger_that_cannot_be_written_stops_the_run_with_a_clear_error(tmp_path, roster, server,
                                                                          monkeypatch):
    import cchc_excel.mail.distribute as distribute_module

    def full_disk(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(distribute_module, "append_csv", full_disk)
    with pytest.raises(CchcError, match="không ghi được sổ ghi thư đã gửi .No space left on device.; "
                                        "thư của 22240 Phường Tam Quan Bắc đã gửi"):
        run(roster, tmp_path / "o", sender=SENDER, smtp=server.settings)
    assert len(server.messages) == 1  # nothing more goes out unrecorded
