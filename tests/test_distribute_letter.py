"""What `distribute` drafts: no header a roster cell or `--from` could add (RFC 2047 encoded words that
decode to CR LF), and the letter an official expects (legal basis, official name, deadline, signature)."""

from __future__ import annotations

import email
from datetime import date
from email.policy import default as POLICY
from email.utils import getaddresses

from cchc_excel.core.roster import load_roster
from cchc_excel.mail.distribute import distribute
from cchc_excel.mail.inbox import header_text
from cchc_excel.mail.message import official_name
from test_distribute import Q2, SENDER, SPEC, TODAY, server  # noqa: F401

EVIL = "=?utf-8?q?X=C3=A3_A=0D=0ABcc=3A_x=40evil.example?="
RECIPIENT_HEADERS = ("to", "cc", "bcc", "resent-to", "resent-cc", "resent-bcc", "reply-to",
                     "disposition-notification-to", "return-receipt-to")


def _roster(tmp_path, rows):
    path = tmp_path / "don-vi.csv"
    path.write_text("ma_don_vi,ten_don_vi,cap,don_vi_cha,email\nHN,Thị xã Hoài Nhơn,huyen,,\n" + rows,
                    encoding="utf-8")
    return load_roster(path)


def _recipients(raw: bytes) -> set[str]:
    msg = email.message_from_bytes(raw, policy=POLICY)
    values = [str(v) for k, v in msg.items() if k.lower() in RECIPIENT_HEADERS]
    assert [k for k in msg.keys() if k.lower() in RECIPIENT_HEADERS] == ["To"]
    return {addr for _, addr in getaddresses(values)}


def test_header_text_decodes_then_cleans():
    assert header_text(EVIL) == "Xã A Bcc: x@evil.example"
    assert header_text("=?utf-8?q?=3D=3Futf-8=3Fq=3FA=3D0D=3D0AB=3F=3D?=") == "A B"  # decoded twice
    assert "=?" not in header_text("=?utf-8?q?=3D=3Futf-8=3Fq=3FA=0D=0AB=3F=3D?=")  # never decoded later
    assert header_text("Phường Tam Quan Bắc") == "Phường Tam Quan Bắc"


def test_encoded_words_in_roster_and_sender_add_no_recipient(tmp_path, server):  # noqa: F811
    roster = _roster(tmp_path, f"1,{EVIL},xa,HN,a@example.vn\n2,\"Xã B =?utf-8?b?DQpDYzogeUBldmlsLmV4YW1wbGU=?=\","
                               f"xa,HN,b@example.vn\n")
    sender = "=?utf-8?q?N=C3=B4i_v=E1=BB=A5=0D=0ABcc=3A_z=40evil.example?= <noivu@example.vn>"
    drafts = distribute(roster, Q2, tmp_path / "nhap", SPEC, sender=sender, unit_code="HN", today=TODAY)
    assert [d.code for d in drafts.drafts] == ["1", "2"]
    for draft, addr in zip(drafts.drafts, ("a@example.vn", "b@example.vn")):
        assert _recipients(draft.eml.read_bytes()) == {addr}
    sent = distribute(roster, Q2, tmp_path / "gui", SPEC, sender=sender, unit_code="HN", today=TODAY,
                      smtp=server.settings)
    assert len(sent.sent) == 2
    assert sorted(rcpts for _, rcpts, _ in server.messages) == [["a@example.vn"], ["b@example.vn"]]
    for _, rcpts, msg in server.messages:
        assert _recipients(msg.as_bytes()) == set(rcpts)
        assert "Bcc" not in msg and "Cc" not in msg


def test_official_name():
    assert official_name("Phường Tam Quan Bắc") == "UBND phường Tam Quan Bắc"
    assert official_name("Xã Hoài Mỹ") == "UBND xã Hoài Mỹ"
    assert official_name("Thị xã Hoài Nhơn") == "UBND thị xã Hoài Nhơn"
    assert official_name("Thành phố Quy Nhơn") == "UBND thành phố Quy Nhơn"
    assert official_name("UBND phường Bồng Sơn") == "UBND phường Bồng Sơn"
    assert official_name("Sở Nội vụ") == "Sở Nội vụ"


def _letter(tmp_path, **kwargs):
    roster = _roster(tmp_path, "22240,Phường Tam Quan Bắc,xa,HN,tqbac@example.vn\n")
    result = distribute(roster, Q2, tmp_path / "o", SPEC, unit_code="HN", today=TODAY,
                        deadline=date(2023, 6, 20), **kwargs)
    msg = email.message_from_bytes(result.drafts[0].eml.read_bytes(), policy=POLICY)
    return msg, msg.get_body(("plain",)).get_content()


def test_letter_names_basis_unit_deadline_and_signs(tmp_path):
    basis = "Công văn số 123/UBND-NV ngày 01/6/2023 của UBND thị xã Hoài Nhơn"
    msg, body = _letter(tmp_path, sender=SENDER, contact="Chị Lan, 0256 3861 234", basis=basis)
    assert msg["Subject"] == ("[CCHC] Biểu mẫu thống kê CCHC Quý II/2023 – UBND phường Tam Quan Bắc – "
                              "hạn gửi 20/06/2023")
    assert body.startswith("Kính gửi: UBND phường Tam Quan Bắc.\n\nThực hiện " + basis + ", đề nghị")
    assert ("Các biểu mẫu ban hành kèm theo Công văn số 371/SNV-CCHCVTLT ngày 03/3/2022 của Sở Nội vụ."
            in body)
    assert body.endswith("Trân trọng.\n\nPhòng Nội vụ thị xã Hoài Nhơn\nLiên hệ: Chị Lan, 0256 3861 234\n")


def test_letter_without_sender_is_signed_by_the_unit_above(tmp_path):
    _, body = _letter(tmp_path)
    assert "Thực hiện" not in body
    assert body.endswith("Trân trọng.\n\nUBND thị xã Hoài Nhơn\n")
