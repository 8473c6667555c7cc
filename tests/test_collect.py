"""collect: spreadsheets from .eml files, folders, mbox and Maildir into one folder with a manifest."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import mailbox
import unicodedata
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from pathlib import Path

import pytest
import xlsxwriter

from cchc_excel.mail.collect import (MANIFEST_NAME, CollectResult, SavedAttachment, collect, read_manifest,
                                safe_filename)
from cchc_excel.errors import CchcError

XLSX = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")
OCTET = ("application", "octet-stream")
VN_NAME = "Báo cáo CCHC Quý II-2023.xlsx"
ICT = timezone(timedelta(hours=7))


def make_xlsx(text: str) -> bytes:
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True})
    wb.add_worksheet("Biểu mẫu 1").write("A1", text)
    wb.close()
    return buf.getvalue()


BOOK_A, BOOK_B, BOOK_C = make_xlsx("Phường A"), make_xlsx("Phường B"), make_xlsx("Xã C")


def make_msg(attachments=(), *, subject="Báo cáo CCHC", sender="Phường A <phuonga@example.vn>",
             date="Tue, 04 Jul 2023 09:15:00 +0700", msgid="<1@example.vn>") -> EmailMessage:
    msg = EmailMessage()
    if sender is not None:
        msg["From"] = sender
    msg["To"] = "phongnoivu@example.vn"
    if subject is not None:
        msg["Subject"] = subject
    if date is not None:
        msg["Date"] = date
    if msgid is not None:
        msg["Message-ID"] = msgid
    msg.set_content("Kính gửi Phòng Nội vụ, đơn vị gửi báo cáo.")
    for data, (maintype, subtype), name in attachments:
        kwargs = {"filename": name} if name is not None else {}
        msg.add_attachment(data, maintype=maintype, subtype=subtype, **kwargs)
    return msg


def write_eml(path: Path, msg: EmailMessage | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(msg if isinstance(msg, bytes) else msg.as_bytes())
    return path


def files_in(d: Path) -> list[str]:
    return sorted(p.name for p in d.iterdir())


def assert_inside(out: Path, result: CollectResult):
    for s in result.saved:
        target = (out / s.saved_name).resolve()
        assert target.parent == out.resolve() and target.is_file()


# ------------------------------------------------------------ sources and decoding

RAW_VN = (
    "From: =?UTF-8?B?{sender}?= <ubnd.phuonga@example.vn>\r\n"
    "To: noivu@example.vn\r\n"
    "Subject: =?UTF-8?B?{subject}?=\r\n"
    "Date: Mon, 10 Jul 2023 08:30:00 +0700\r\n"
    "Message-ID: <vn-1@example.vn>\r\n"
    "MIME-Version: 1.0\r\n"
    'Content-Type: multipart/mixed; boundary="XX"\r\n\r\n'
    "--XX\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nKinh gui.\r\n"
    "--XX\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n"
    "Content-Disposition: attachment; filename*=utf-8''B%C3%A1o%20c%C3%A1o%20CCHC%20Qu%C3%BD%20II-2023.xlsx\r\n"
    "\r\n{b64a}\r\n"
    "--XX\r\nContent-Type: application/vnd.ms-excel; name=\"=?UTF-8?B?{name2}?=\"\r\n"
    "Content-Transfer-Encoding: base64\r\nContent-Disposition: attachment\r\n\r\n{b64b}\r\n"
    "--XX--\r\n"
)


def b64(text: str | bytes) -> str:
    return base64.b64encode(text.encode() if isinstance(text, str) else text).decode()


def test_encoded_vietnamese_headers_and_file_names_are_decoded(tmp_path):
    raw = RAW_VN.format(sender=b64("Phòng Nội vụ phường A"), subject=b64("Báo cáo CCHC Quý II/2023"),
                        b64a=b64(BOOK_A), name2=b64("Thống kê xã.xls"), b64b=b64(BOOK_B))
    eml = write_eml(tmp_path / "in" / "thu.eml", raw.encode("ascii"))
    out = tmp_path / "out"
    result = collect([eml], out)
    assert result.problems == [] and result.skipped == []
    first, second = result.saved
    assert first.original_name == VN_NAME and first.saved_name == VN_NAME
    assert second.original_name == "Thống kê xã.xls" and second.saved_name == "Thống kê xã.xls"
    assert first.subject == "Báo cáo CCHC Quý II/2023"
    assert first.sender == "Phòng Nội vụ phường A <ubnd.phuonga@example.vn>"
    assert first.date == datetime(2023, 7, 10, 8, 30, tzinfo=ICT) and first.date.utcoffset() is not None
    assert first.message_id == "<vn-1@example.vn>" and first.source == str(eml)
    assert (out / VN_NAME).read_bytes() == BOOK_A and first.sha256 == hashlib.sha256(BOOK_A).hexdigest()
    assert first.size == len(BOOK_A)


def test_nfd_file_name_is_saved_nfc(tmp_path):
    nfd = unicodedata.normalize("NFD", VN_NAME)
    eml = write_eml(tmp_path / "a.eml", make_msg([(BOOK_A, OCTET, nfd)]))
    [saved] = collect([eml], tmp_path / "out").saved
    assert saved.saved_name == VN_NAME and saved.original_name == VN_NAME


def test_eml_folder_mbox_and_maildir(tmp_path):
    folder = tmp_path / "thu-muc"
    write_eml(folder / "a.eml", make_msg([(BOOK_A, XLSX, "a.xlsx")], msgid="<a@x>"))
    write_eml(folder / "sub" / "deep" / "B.EML", make_msg([(BOOK_B, XLSX, "b.xlsx")], msgid="<b@x>"))
    (folder / "ghi-chu.txt").write_text("không phải thư")
    box_path = tmp_path / "hop-thu"  # an mbox without the .mbox suffix, recognised by its "From " line
    box = mailbox.mbox(box_path)
    box.add(make_msg([(BOOK_C, XLSX, "c.xlsx")], msgid="<c@x>"))
    box.add(make_msg([], msgid="<empty@x>"))
    box.flush()
    box.close()
    md = mailbox.Maildir(tmp_path / "Maildir")
    md.add(make_msg([(make_xlsx("Maildir"), XLSX, "d.xls")], msgid="<d@x>"))
    out = tmp_path / "out"
    result = collect([folder, box_path, tmp_path / "Maildir"], out)
    assert result.problems == []
    assert sorted(s.saved_name for s in result.saved) == ["a.xlsx", "b.xlsx", "c.xlsx", "d.xls"]
    sources = {s.saved_name: s.source for s in result.saved}
    assert sources["c.xlsx"] == f"{box_path}#1"
    assert sources["d.xls"].startswith(f"{tmp_path / 'Maildir'}#")
    assert sources["b.xlsx"] == str(folder / "sub" / "deep" / "B.EML")
    assert files_in(out) == ["a.xlsx", "b.xlsx", "c.xlsx", "d.xls", MANIFEST_NAME]


def test_spreadsheet_extension_case_and_mime_with_missing_or_odd_name(tmp_path):
    msg = make_msg([(BOOK_A, OCTET, "BAO-CAO.XLSX"), (BOOK_B, XLSX, None),
                    (BOOK_C, ("application", "vnd.ms-excel"), "bao cao quy 2"),
                    (make_xlsx("ods"), ("application", "vnd.oasis.opendocument.spreadsheet"), "x.ODS")])
    result = collect([write_eml(tmp_path / "m.eml", msg)], tmp_path / "out")
    assert [s.saved_name for s in result.saved] == ["BAO-CAO.xlsx", "tep-dinh-kem.xlsx",
                                                    "bao cao quy 2.xls", "x.ods"]
    assert result.saved[1].original_name == ""


def test_non_spreadsheets_are_skipped(tmp_path):
    msg = make_msg([(b"%PDF-1.4 ...", ("application", "pdf"), "Công văn.pdf"),
                    (b"PK\x03\x04docx", OCTET, "Tờ trình.docx"),
                    (b"\x89PNG....", ("image", "png"), "ảnh.png"),
                    (BOOK_A, XLSX, "a.xlsx")], subject="Gửi kèm báo cáo")
    out = tmp_path / "out"
    result = collect([write_eml(tmp_path / "m.eml", msg)], out)
    # a Word file may be the unit's report (Phụ lục I in its tables): kept, `check` tells which it is
    assert [s.saved_name for s in result.saved] == ["Tờ trình.docx", "a.xlsx"]
    assert [(k.name, k.reason, k.subject) for k in result.skipped] == [
        ("Công văn.pdf", "không phải bảng tính hay báo cáo Word", "Gửi kèm báo cáo"),
        ("ảnh.png", "không phải bảng tính hay báo cáo Word", "Gửi kèm báo cáo"),
    ]
    assert files_in(out) == sorted(["a.xlsx", MANIFEST_NAME, "Tờ trình.docx"])


def test_oversized_attachment_is_skipped(tmp_path):
    big = BOOK_A + b"\0" * 5000
    msg = make_msg([(big, XLSX, "lon.xlsx"), (b"small" * 10, XLSX, "nho.xlsx")])
    out = tmp_path / "out"
    result = collect([write_eml(tmp_path / "m.eml", msg)], out, max_attachment_bytes=len(big) - 1)
    assert [s.saved_name for s in result.saved] == ["nho.xlsx"]
    [skip] = result.skipped
    assert skip.name == "lon.xlsx" and "quá lớn" in skip.reason
    assert not (out / "lon.xlsx").exists()


# ------------------------------------------------------------ hostile names

HOSTILE = [
    ("../../etc/passwd.xlsx", "passwd.xlsx"),
    ("/etc/cron.d/evil.xlsx", "evil.xlsx"),
    ("C:\\..\\x.xlsx", "x.xlsx"),
    ("..\\..\\Windows\\System32\\y.xlsm", "y.xlsm"),
    ("a\x00b.xlsx", "a b.xlsx"),
    ("ctl\x01\x1f\x7f\u202egnp.xlsx", "ctl gnp.xlsx"),
    ("CON.xlsx", "_CON.xlsx"),
    ("lpt1.XLS", "_lpt1.xls"),
    ("nul.bao.xlsx", "_nul.bao.xlsx"),
    ("..", "tep-dinh-kem.xlsx"),
    ("...", "tep-dinh-kem.xlsx"),
    ("....xlsx", "tep-dinh-kem.xlsx"),
    (". . .xlsx", "tep-dinh-kem.xlsx"),
    (".hidden.xlsx", "hidden.xlsx"),
    ('a<b>c:d"e|f?g*.xlsx', "a_b_c_d_e_f_g_.xlsx"),
    ("dấu chấm cuối. .xlsx", "dấu chấm cuối.xlsx"),
]


@pytest.mark.parametrize("name, expected", HOSTILE, ids=[repr(n) for n, _ in HOSTILE])
def test_hostile_names_stay_inside_out_dir(tmp_path, name, expected):
    out = tmp_path / "a" / "b" / "out"
    result = collect([write_eml(tmp_path / "m.eml", make_msg([(BOOK_A, XLSX, name)]))], out)
    assert result.problems == []
    [saved] = result.saved
    assert saved.saved_name == expected and saved.original_name == name
    assert_inside(out, result)
    assert files_in(out) == sorted([expected, MANIFEST_NAME])
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == sorted(
        ["m.eml", expected, MANIFEST_NAME])


def test_very_long_name_is_shortened_inside_out_dir(tmp_path):
    name = "Báo cáo " * 200 + ".xlsx"
    out = tmp_path / "out"
    result = collect([write_eml(tmp_path / "m.eml", make_msg([(BOOK_A, XLSX, name)]))], out)
    [saved] = result.saved
    assert saved.saved_name.startswith("Báo cáo Báo cáo") and saved.saved_name.endswith(".xlsx")
    assert len(saved.saved_name.encode()) <= 180
    assert_inside(out, result)


def test_safe_filename_table():
    assert safe_filename(VN_NAME) == VN_NAME
    assert safe_filename("", ".ods") == "tep-dinh-kem.ods"
    assert safe_filename("bang.csv") == "bang.csv.xlsx"
    assert safe_filename("COM1") == "_COM1.xlsx"


def test_clashing_names_get_suffixes_and_existing_files_are_never_overwritten(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / VN_NAME).write_bytes(b"file from somewhere else")
    msg = make_msg([(BOOK_A, XLSX, VN_NAME), (BOOK_B, XLSX, VN_NAME),
                    (BOOK_C, XLSX, VN_NAME.upper())])
    result = collect([write_eml(tmp_path / "m.eml", msg)], out)
    stem = VN_NAME[:-5]
    assert [s.saved_name for s in result.saved] == [f"{stem}-2.xlsx", f"{stem}-3.xlsx",
                                                    f"{stem.upper()}-4.xlsx"]
    assert (out / VN_NAME).read_bytes() == b"file from somewhere else"
    assert (out / f"{stem}-3.xlsx").read_bytes() == BOOK_B
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temp files left


# ------------------------------------------------------------ forwards and duplicates

def test_forwarded_message_attachments_with_outer_sender_and_date(tmp_path):
    inner = make_msg([(BOOK_A, XLSX, "Xã C - Quý II.xlsx")], subject="Báo cáo của xã C",
                     sender="Xã C <xac@example.vn>", date="Mon, 03 Jul 2023 07:00:00 +0700")
    no_subject = make_msg([], subject=None, sender="Văn thư <vanthu@example.vn>",
                          date="Wed, 05 Jul 2023 10:00:00 +0700", msgid="<fwd1@x>")
    no_subject.add_attachment(inner)
    inner2 = make_msg([(BOOK_B, XLSX, "b.xlsx")], subject="Bên trong")
    with_subject = make_msg([], subject="Fwd: Bên trong", msgid="<fwd2@x>")
    with_subject.add_attachment(inner2)
    folder = tmp_path / "in"
    write_eml(folder / "1.eml", no_subject)
    write_eml(folder / "2.eml", with_subject)
    result = collect([folder], tmp_path / "out")
    assert result.problems == []
    first, second = result.saved
    assert first.saved_name == "Xã C - Quý II.xlsx"
    assert first.sender == "Văn thư <vanthu@example.vn>"
    assert first.date == datetime(2023, 7, 5, 10, 0, tzinfo=ICT)
    assert first.subject == "Báo cáo của xã C" and first.message_id == "<fwd1@x>"
    assert second.subject == "Fwd: Bên trong" and second.saved_name == "b.xlsx"


def test_eml_attached_as_a_file_is_walked_into(tmp_path):
    inner = make_msg([(BOOK_A, XLSX, "trong.xlsx")], subject="Báo cáo bên trong")
    outer = make_msg([(inner.as_bytes(), OCTET, "thư cũ.eml")], subject="", sender="vanthu@example.vn")
    [saved] = collect([write_eml(tmp_path / "m.eml", outer)], tmp_path / "out").saved
    assert (saved.saved_name, saved.subject, saved.sender) == ("trong.xlsx", "Báo cáo bên trong",
                                                               "vanthu@example.vn")


def test_duplicates_within_a_run_and_across_runs(tmp_path):
    folder, out = tmp_path / "in", tmp_path / "out"
    write_eml(folder / "1.eml", make_msg([(BOOK_A, XLSX, "a.xlsx")], msgid="<1@x>"))
    write_eml(folder / "2.eml", make_msg([(BOOK_A, XLSX, "a-lan-2.xlsx"), (BOOK_B, XLSX, "b.xlsx")],
                                         msgid="<2@x>"))
    first = collect([folder], out)
    assert [s.saved_name for s in first.saved] == ["a.xlsx", "b.xlsx"]
    [dup] = first.duplicates
    assert dup.saved_name == "a.xlsx" and dup.original_name == "a-lan-2.xlsx" and dup.message_id == "<2@x>"

    write_eml(folder / "3.eml", make_msg([(BOOK_C, XLSX, "a.xlsx")], msgid="<3@x>"))
    second = collect([folder], out)
    assert [s.saved_name for s in second.saved] == ["a-2.xlsx"]
    assert sorted(d.original_name for d in second.duplicates) == ["a-lan-2.xlsx", "a.xlsx", "b.xlsx"]
    assert files_in(out) == ["a-2.xlsx", "a.xlsx", "b.xlsx", MANIFEST_NAME]
    assert sorted(read_manifest(out)) == ["a-2.xlsx", "a.xlsx", "b.xlsx"]
    assert (out / "a.xlsx").read_bytes() == BOOK_A and (out / "a-2.xlsx").read_bytes() == BOOK_C


def test_content_whose_file_was_deleted_is_saved_again(tmp_path):
    eml = write_eml(tmp_path / "1.eml", make_msg([(BOOK_A, XLSX, "a.xlsx")]))
    out = tmp_path / "out"
    collect([eml], out)
    (out / "a.xlsx").unlink()
    again = collect([eml], out)
    assert [s.saved_name for s in again.saved] == ["a-2.xlsx"] and again.duplicates == []


# ------------------------------------------------------------ malformed input

BAD_BASE64 = (
    b"From: a@example.vn\r\nSubject: Base64 sai\r\nDate: Tue, 04 Jul 2023 09:15:00 +0700\r\n"
    b'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="B"\r\n\r\n'
    b"--B\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n"
    b'Content-Disposition: attachment; filename="hong.xlsx"\r\n\r\n!!!khong@@@phai$$$base64=\r\n--B--\r\n'
)


def test_malformed_messages_are_reported_and_the_rest_collected(tmp_path):
    folder = tmp_path / "in"
    write_eml(folder / "1-rac.eml", bytes(range(256)) * 4)
    write_eml(folder / "2-base64.eml", BAD_BASE64)
    bad_date = make_msg([(BOOK_B, XLSX, "ngay-sai.xlsx")], date="Tue, 04 Jul 2023 09:15:00 +0700")
    write_eml(folder / "3-ngay.eml", bad_date.as_bytes().replace(b"Tue, 04 Jul 2023 09:15:00 +0700",
                                                                 b"32/13/2023 25:61"))
    write_eml(folder / "4-thieu.eml", make_msg([(BOOK_C, XLSX, "thieu.xlsx")], sender=None, date=None,
                                              subject=None, msgid=None))
    write_eml(folder / "5-tot.eml", make_msg([(BOOK_A, XLSX, "tot.xlsx")]))
    out = tmp_path / "out"
    result = collect([folder, tmp_path / "khong-co.eml"], out)
    saved = {s.saved_name: s for s in result.saved}
    assert sorted(saved) == ["ngay-sai.xlsx", "thieu.xlsx", "tot.xlsx"]
    assert saved["ngay-sai.xlsx"].date is None and saved["thieu.xlsx"].date is None
    assert saved["thieu.xlsx"].sender == "" and saved["tot.xlsx"].date is not None
    assert [k.name for k in result.skipped] == ["hong.xlsx"] and "hỏng" in result.skipped[0].reason
    problems = "\n".join(result.problems)
    assert len(result.problems) == 5, problems
    assert f"{folder / '1-rac.eml'}: thư bị lỗi: không phải thư điện tử" in problems
    assert f"{folder / '2-base64.eml'} (tiêu đề «Base64 sai»): thư bị lỗi: tệp đính kèm «hong.xlsx»" in problems
    assert "ngày gửi không hợp lệ «32/13/2023 25:61»" in problems
    assert "thiếu người gửi (From); thiếu ngày gửi (Date)" in problems
    assert f"{tmp_path / 'khong-co.eml'}: không tìm thấy tệp hoặc thư mục" in problems


def test_truncated_message_is_reported(tmp_path):
    raw = make_msg([(BOOK_A, XLSX, "a.xlsx")]).as_bytes()
    cut = raw[:raw.rindex(b"\n", 0, len(raw) - 900) + 1]  # cut at a line end: base64 stays valid
    result = collect([write_eml(tmp_path / "m.eml", cut)], tmp_path / "out")
    [problem] = result.problems
    assert "thư bị cắt cụt" in problem


def test_maildir_inside_a_folder_is_read_once(tmp_path):
    folder = tmp_path / "thu"
    (folder / "don-vi").mkdir(parents=True)
    md = mailbox.Maildir(folder / "don-vi" / "Maildir")
    md.add(make_msg([(BOOK_A, XLSX, "a.xlsx")]))
    write_eml(folder / "b.eml", make_msg([(BOOK_B, XLSX, "b.xlsx")]))
    result = collect([folder], tmp_path / "out")
    assert sorted(s.saved_name for s in result.saved) == ["a.xlsx", "b.xlsx"]
    assert result.duplicates == [] and result.problems == []


def test_folder_without_mail_is_a_problem(tmp_path):
    (tmp_path / "rong").mkdir()
    result = collect([tmp_path / "rong"], tmp_path / "out")
    assert result.problems == [f"{tmp_path / 'rong'}: không có thư nào (.eml, mbox hoặc Maildir)"]
    assert not (tmp_path / "out" / MANIFEST_NAME).exists()


# ------------------------------------------------------------ manifest

def test_manifest_is_csv_with_bom_and_reads_back(tmp_path):
    folder, out = tmp_path / "in", tmp_path / "out"
    write_eml(folder / "1.eml", make_msg([(BOOK_A, XLSX, VN_NAME)], subject="=HYPERLINK(\"x\")",
                                         date="Mon, 10 Jul 2023 08:30:00 +0700"))
    write_eml(folder / "2.eml", make_msg([(BOOK_B, XLSX, "b.xlsx")], date=None, msgid="<2@x>"))
    first = collect([folder], out)
    raw = (out / MANIFEST_NAME).read_bytes()
    assert raw.startswith(b"\xef\xbb\xbfsaved_name,original_name,sender,date,subject,sha256,size,"
                          b"message_id,source\r\n")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0]["date"] == "2023-07-10T08:30:00+07:00" and rows[1]["date"] == ""
    assert rows[0]["subject"] == "'=HYPERLINK(\"x\")"  # not a formula when opened in Excel
    assert rows[0]["saved_name"] == VN_NAME and rows[0]["size"] == str(len(BOOK_A))
    assert read_manifest(out) == {s.saved_name: s for s in first.saved}

    write_eml(folder / "3.eml", make_msg([(BOOK_C, XLSX, "c.xlsx")], msgid="<3@x>"))
    second = collect([folder], out)
    manifest = read_manifest(out)
    assert list(manifest) == [VN_NAME, "b.xlsx", "c.xlsx"]
    assert manifest["c.xlsx"] == second.saved[0] and manifest[VN_NAME] == first.saved[0]
    assert manifest[VN_NAME].subject == "=HYPERLINK(\"x\")"
    assert (out / MANIFEST_NAME).read_bytes().startswith(raw)  # earlier rows kept as they were
    assert read_manifest(tmp_path / "nowhere") == {}


def test_broken_manifest_stops_before_touching_anything(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / MANIFEST_NAME).write_text("ten,ngay\nx,y\n", encoding="utf-8")
    eml = write_eml(tmp_path / "1.eml", make_msg([(BOOK_A, XLSX, "a.xlsx")]))
    with pytest.raises(CchcError, match="manifest.csv: không đọc được"):
        collect([eml], out)
    assert files_in(out) == [MANIFEST_NAME]


def test_to_dict_is_json(tmp_path):
    eml = write_eml(tmp_path / "1.eml", make_msg([(BOOK_A, XLSX, "a.xlsx"), (b"x", ("application", "pdf"),
                                                                              "x.pdf")]))
    d = collect([eml], tmp_path / "out").to_dict()
    assert json.loads(json.dumps(d, ensure_ascii=False)) == d
    assert d["saved"][0]["date"] == "2023-07-04T09:15:00+07:00"
    assert d["skipped"][0]["reason"] == "không phải bảng tính hay báo cáo Word" and d["problems"] == []
    assert isinstance(SavedAttachment(**{**d["saved"][0], "date": None}), SavedAttachment)
