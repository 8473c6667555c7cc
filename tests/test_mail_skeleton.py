"""Messages made from a prepared skeleton (`mail.skeleton.MessageCopies`) read the same as `compose`'s:
every header, the body text and its transfer encoding, the attachment; odd values go through `compose`."""

from __future__ import annotations

import email
import os
import re
import stat
import threading
from datetime import datetime, timezone
from email.message import EmailMessage
from email.policy import default as POLICY

import pytest

from cchc_excel.core import atomic
from cchc_excel.core.periods import parse_period
from cchc_excel.core.roster import Unit, load_roster
from cchc_excel.mail import skeleton
from cchc_excel.errors import CchcError
from cchc_excel.mail.distribute import distribute
from cchc_excel.mail.outbox import drafting
from cchc_excel.mail.message import compose, message_bytes
from cchc_excel.mail.skeleton import MessageCopies

Q2 = parse_period("2023-Q2")
SENDER = "Phòng Nội vụ thị xã Hoài Nhơn <noivu@hoainhon.example.vn>"
NOW = datetime(2023, 6, 5, 8, 30, tzinfo=timezone.utc)
LONG = "UBND phường Tam Quan Bắc, thị xã Hoài Nhơn, tỉnh Bình Định (đơn vị thử nghiệm có tên rất dài)"
SUBJECT = "[CCHC] Biểu mẫu thống kê CCHC Quý II/2023 – {} – hạn gửi 20/06/2023"
CASES = [  # (name, addresses, body): Vietnamese, specials, long names and lines, several addresses
    ("Phường Tam Quan Bắc", ["tqb@example.vn"], "Kính gửi: UBND phường Tam Quan Bắc.\n\nTrân trọng.\n"),
    ('Xã A & <B> "C", D', ["a@example.vn", "b.c@x.example.gov.vn"], "Số liệu & <ghi chú> \"x\"\n" * 12),
    (LONG, ["a@example.vn", "b@example.vn", "c@example.vn"], "Dòng rất dài của thư " * 20 + "\n" + "ngắn\n" * 3),
    ("Plain & Co, \"Ltd\"", ["p@example.vn"], "ascii only\n"),
    ("Plain Co", ["p@example.vn"], "ascii " * 30 + "\n" + "\n".join("line %d" % i for i in range(15))),
    ("Xã Hoài Hải", ["h@example.vn"], "\n".join("Dòng %d có dấu: ắ ằ ẳ ẵ ặ" % i for i in range(14)) + "\n"),
]


def _read(data: bytes) -> dict:
    """What a mail program reads of a message: every header (the boundary aside), the text, the file."""
    msg = email.message_from_bytes(data, policy=POLICY)
    body, files = msg.get_body(), list(msg.iter_attachments())
    heads = [(k, str(v)) for k, v in msg.items() if k not in ("Message-ID", "Content-Type")]
    return {"headers": heads, "type": (msg.get_content_type(), msg.get_content_charset()),
            "to": [(a.display_name, a.addr_spec) for a in msg["To"].addresses],
            "body_headers": list(body.items()), "text": body.get_content(),
            "files": [(list(f.items()), f.get_filename(), f.get_content()) for f in files],
            "id": re.sub(r"^<\d+\.\d+\.\d+", "", str(msg["Message-ID"])),  # the rest is new each time
            "defects": [*msg.defects, *body.defects]}


def _workbook(tmp_path, name="22240_phuong-tam-quan-bac_2023-Q2.xlsx"):
    path = tmp_path / name
    path.write_bytes(bytes(range(256)) * 97 + b"PK end")  # not a multiple of 57 bytes
    return path


def _no_compose(monkeypatch):
    def refuse(*a, **k):
        raise AssertionError("compose called: the skeleton did not take the message")
    monkeypatch.setattr(skeleton, "compose", refuse)


@pytest.mark.parametrize("draft,kind", [(True, ""), (False, "nhac")])
@pytest.mark.parametrize("name,to,body", CASES)
def test_skeleton_message_reads_as_compose(tmp_path, monkeypatch, name, to, body, draft, kind):
    path = _workbook(tmp_path)
    unit = Unit("22240", name, "xa")
    subject = SUBJECT.format(name)
    expected = message_bytes(compose(unit, Q2, path, to=to, subject=subject, body=body, sender=SENDER,
                                     now=NOW, draft=draft, kind=kind))
    _no_compose(monkeypatch)
    letter = MessageCopies(Q2, sender=SENDER, draft=draft, kind=kind).compose(unit, path, to=to,
                                                                              subject=subject, body=body, now=NOW)
    got, want = _read(letter.data), _read(expected)
    assert got == want
    assert got["files"][0][2] == path.read_bytes() and got["text"].replace("\r\n", "\n") == body.rstrip("\n") + "\n"
    assert letter.subject == subject == dict(got["headers"])["Subject"]
    assert letter.message_id.endswith(".cchc-" + (kind + "-" if kind else "") + "2023-Q2-22240@hoainhon.example.vn>")
    assert all(len(line) <= 998 for line in letter.data.split(b"\r\n"))
    assert b"\n" not in letter.data.replace(b"\r\n", b"")  # CRLF line ends only


def test_transfer_encodings_are_the_email_packages(tmp_path, monkeypatch):
    path = _workbook(tmp_path)
    copies = MessageCopies(Q2, sender=SENDER)
    seen = set()
    for name, to, body in CASES:
        letter = copies.compose(Unit("1", name, "xa"), path, to=to, subject="S", body=body, now=NOW)
        seen.add(_read(letter.data)["body_headers"][-1][1])
    assert seen == {"7bit", "8bit", "quoted-printable", "base64"}


def test_values_the_skeleton_cannot_take_go_through_compose(tmp_path):
    path = _workbook(tmp_path, "bản góp ý.xlsx")  # a file name the email package encodes (RFC 2231)
    unit = Unit("22240", "X" * 1200, "xa")  # a To line over 998 characters
    copies = MessageCopies(Q2, sender=SENDER)
    for u, p in ((Unit("22240", "Xã A", "xa"), path), (unit, _workbook(tmp_path))):
        expected = compose(u, Q2, p, to=["a@example.vn"], subject="Thư", body="Nội dung\n", sender=SENDER,
                           now=NOW)
        letter = copies.compose(u, p, to=["a@example.vn"], subject="Thư", body="Nội dung\n", now=NOW)
        assert _read(letter.data) == _read(message_bytes(expected))


@pytest.mark.parametrize("subject", ["Thư\r\nBcc: x@evil.example", "Thư\nBcc: x@evil.example"])
def test_a_line_break_in_a_header_is_refused_as_before(tmp_path, subject):
    path = _workbook(tmp_path)
    with pytest.raises(ValueError):
        compose(Unit("1", "Xã A", "xa"), Q2, path, to=["a@example.vn"], subject=subject, body="x\n")
    with pytest.raises(ValueError):
        MessageCopies(Q2).compose(Unit("1", "Xã A", "xa"), path, to=["a@example.vn"], subject=subject, body="x\n")


def test_one_skeleton_for_many_units(tmp_path, monkeypatch):
    path = _workbook(tmp_path)
    copies = MessageCopies(Q2, sender=SENDER, draft=True)
    _no_compose(monkeypatch)
    letters = [copies.compose(Unit(f"X{i}", f"Xã Thử Nghiệm {i}", "xa"), path, to=[f"x{i}@example.vn"],
                              subject=SUBJECT.format(f"UBND xã Thử Nghiệm {i}"), body=f"Kính gửi xã {i}.\n")
               for i in range(3)]
    assert copies.fast
    read = [_read(x.data) for x in letters]
    assert [r["to"] for r in read] == [[(f"Xã Thử Nghiệm {i}", f"x{i}@example.vn")] for i in range(3)]
    assert [dict(r["headers"])["X-CCHC-Unit"] for r in read] == ["X0", "X1", "X2"]
    assert len({x.message_id for x in letters}) == 3 and dict(read[0]["headers"])["X-Unsent"] == "1"


def test_a_round_fsyncs_each_file_and_the_outbox_once(tmp_path, monkeypatch):
    """Each template and message is fsynced before its rename; the outbox once, after the last rename."""
    roster_csv = tmp_path / "don-vi.csv"
    roster_csv.write_text("ma_don_vi,ten_don_vi,cap,don_vi_cha,email\nHN,Thị xã Hoài Nhơn,huyen,,\n"
                          + "".join(f"{i},Xã Thử {i},xa,HN,x{i}@example.vn\n" for i in range(4))
                          + "9,Xã Không Thư,xa,HN,\n", encoding="utf-8")
    events, synced, real_fsync, real_replace = [], set(), os.fsync, os.replace

    def fsync(fd):  # the messages are written on a thread of their own: events of two threads
        st = os.fstat(fd)
        events.append("folder" if stat.S_ISDIR(st.st_mode) else "file")
        synced.add(st.st_ino)
        real_fsync(fd)

    def replace(src, dst):
        assert os.stat(src).st_ino in synced  # fsynced before the rename
        events.append("rename")
        real_replace(src, dst)

    monkeypatch.setattr(atomic.os, "fsync", fsync)
    monkeypatch.setattr(atomic.os, "replace", replace)
    result = distribute(load_roster(roster_csv), Q2, tmp_path / "thu", sender=SENDER, unit_code="HN")
    assert len(result.drafts) == 4 and result.no_email[0].template.exists()
    assert sorted(events[:-1]) == ["file"] * 9 + ["rename"] * 9  # 4 x (template, message) and one template
    assert events[-1] == "folder"  # once, after the last rename
    assert [p.name for p in (tmp_path / "thu").iterdir() if p.name.startswith(".")] == []
    assert all(d.eml.read_bytes().startswith(b"From: ") for d in result.drafts)


def test_a_message_that_cannot_be_written_stops_the_round(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    threads = threading.active_count()
    with pytest.raises(CchcError, match="không ghi được thư"):
        with drafting(tmp_path) as writer:
            writer.write(blocker / "a.eml", b"x")  # its folder cannot be made under a file
            writer.write(tmp_path / "b.eml", b"y")
    assert (tmp_path / "b.eml").read_bytes() == b"y" and threading.active_count() == threads
    with pytest.raises(KeyError):  # an error of the block itself is the one that comes out
        with drafting(tmp_path) as writer:
            writer.write(blocker / "c.eml", b"x")
            raise KeyError("x")


def test_body_encoding_is_the_email_packages_byte_for_byte():
    """`_text_payload` repeats email.contentmanager's choice: same encoding, same payload."""
    pieces = ["Kính gửi", "a = b", "x" * 90, "Dòng rất dài " * 9, "  ", "ascii words here", "=3D", "\t", "ắằẳ"]
    bodies = [" ".join(pieces[(i * k) % len(pieces)] for k in range(1 + i % 5)) for i in range(40)]
    bodies = ["\n".join(bodies[j:j + n]) for j in range(0, 40, 3) for n in (1, 9, 11, 25)]
    bodies += ["ascii only\n", "a = b " * 30, "\n".join(["plain line"] * 12 + ["x = 1 " * 20, "Có dấu"]),
               "\n".join(["ascii " * 20] * 3), "\n".join(["Dòng " * 30] + ["ascii"] * 20)]
    seen = set()
    for body in bodies:
        msg = EmailMessage()
        msg.set_content(body)
        cte, payload = skeleton._text_payload(body)
        assert (cte, payload) == (msg["Content-Transfer-Encoding"], msg.get_payload().encode("utf-8"))
        seen.add(cte)
    assert seen == {"7bit", "8bit", "quoted-printable", "base64"}
