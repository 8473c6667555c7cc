"""`cchc distribute` and `cchc collect` on the command line: output, exit statuses, JSON, the whole round.

Sending goes through a real SMTP server on loopback (aiosmtpd, see test_distribute); collecting reads
.eml files, folders, mbox files and Maildir folders built in the test, with hostile names, forwards and
duplicates.
"""

from __future__ import annotations

import email
import json
import mailbox
from email.policy import default as POLICY
from pathlib import Path

import pytest
from aiosmtpd.smtp import AuthResult
from click.testing import CliRunner

from cchc_excel.cli import cli
from cchc_excel.mail.collect import read_manifest
from cchc_excel.mail.distribute import LEDGER_NAME
from test_collect import BOOK_A, BOOK_B, BOOK_C, OCTET, XLSX, make_msg, make_xlsx, write_eml
from test_distribute import (ROSTER_CSV, WITH_EMAIL, Recorder, attachment, ledger_rows, server,  # noqa: F401
                             start_server, workbook_meta)

SENDER = "Phòng Nội vụ thị xã Hoài Nhơn <noivu@hoainhon.example.vn>"


def invoke(*args, env=None):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False, env=env)


@pytest.fixture
def base(tmp_path) -> list:
    """`distribute` arguments for the made-up wards of thị xã Hoài Nhơn, outbox `tmp_path/thu-gui`."""
    roster = tmp_path / "don-vi.csv"
    roster.write_text(ROSTER_CSV, encoding="utf-8")
    return ["distribute", "--roster", roster, "--period", "2023-Q2", "--outbox", tmp_path / "thu-gui",
            "--under", "HN", "--deadline", "30/12/2099"]


def smtp_args(server) -> list:  # noqa: F811
    return ["--send", "--from", SENDER, "--smtp-host", "127.0.0.1", "--smtp-port", server.settings.port]


@pytest.fixture(autouse=True)
def no_password(monkeypatch):
    monkeypatch.delenv("CCHC_SMTP_PASSWORD", raising=False)


def test_help_is_vietnamese_with_an_example():
    for command in ("distribute", "collect"):
        result = invoke(command, "--help")
        assert result.exit_code == 0 and "Ví dụ:" in result.output and f"cchc {command} " in result.output


# ------------------------------------------------------------------ distribute

def test_drafts_are_listed_and_units_without_email_named(tmp_path, base):
    result = invoke(*base)
    assert result.exit_code == 0, result.output
    out = result.output
    assert out.startswith("Quý II/2023: số liệu từ 15/03/2023 đến 14/06/2023, hạn gửi lại 30/12/2099.\n")
    assert "Đã soạn 3 thư trong" in out and "(chưa gửi)" in out
    assert ("  22240  Phường Tam Quan Bắc → tqbac@example.vn  (22240_phuong-tam-quan-bac_2023-Q2.eml)\n"
            in out)
    assert "Đơn vị không có email hợp lệ (2), cần gửi biểu mẫu cách khác:\n" in out
    assert ("  22241  Phường Tam Quan Nam: chưa có email trong danh sách; "
            "biểu mẫu: 22241_phuong-tam-quan-nam_2023-Q2.xlsx\n") in out
    assert "  22244  Xã Hoài Hải: email không hợp lệ: «khong-phai-email»" in out
    assert "Cảnh báo: 22242 Xã Hoài Mỹ: bỏ qua địa chỉ không hợp lệ «hoaimy@example»." in out
    assert "Tổng: 5 đơn vị, đã soạn 3 thư, đã gửi từ trước 0, không có email 2.\n" in out
    assert "Chưa gửi thư nào" in out
    assert len(list((tmp_path / "thu-gui").glob("*.eml"))) == 3


def test_send_twice_sends_once_and_resend_sends_one(tmp_path, base, server):  # noqa: F811
    first = invoke(*base, *smtp_args(server))
    assert first.exit_code == 0, first.output
    assert "Đã gửi (3):\n  22240  Phường Tam Quan Bắc → tqbac@example.vn\n" in first.output
    assert "Tổng: 5 đơn vị, đã gửi 3, gửi không được 0, đã gửi từ trước 0, không có email 2." in first.output
    assert set(server.by_unit()) == set(WITH_EMAIL)
    rcpts, msg = server.by_unit()["22240"]
    assert msg["Subject"] == ("[CCHC] Biểu mẫu thống kê CCHC Quý II/2023 – UBND phường Tam Quan Bắc – "
                              "hạn gửi 30/12/2099")
    assert "chậm nhất ngày 30/12/2099" in msg.get_body(("plain",)).get_content()
    name, _, data = attachment(msg)
    assert name == "22240_phuong-tam-quan-bac_2023-Q2.xlsx" and workbook_meta(data)["period"] == "2023-Q2"

    second = invoke(*base, *smtp_args(server))
    assert second.exit_code == 0 and len(server.messages) == 3
    assert "Đã gửi từ trước, không gửi lại (3; dùng --resend MÃ để gửi lại):" in second.output
    assert "Đã gửi (" not in second.output

    third = invoke(*base, *smtp_args(server)[1:], "--resend", "22243")  # --resend alone implies sending
    assert third.exit_code == 0, third.output
    assert ("  22243  Phường Bồng Sơn → bongson@example.vn, ubnd.bongson@example.vn  [gửi lại]\n"
            in third.output)
    assert len(server.messages) == 4 and str(server.messages[-1][2]["X-CCHC-Unit"]) == "22243"
    assert [r["ma_don_vi"] for r in ledger_rows(tmp_path / "thu-gui")] == [*WITH_EMAIL, "22243"]


def test_a_refused_recipient_fails_alone_and_exit_status_is_1(tmp_path, base, server):  # noqa: F811
    server.refuse.add("vanthu.hoaimy@example.vn")
    result = invoke(*base, *smtp_args(server))
    assert result.exit_code == 1
    assert ("Gửi không được (1):\n  22242  Xã Hoài Mỹ → vanthu.hoaimy@example.vn: "
            "máy chủ từ chối người nhận: vanthu.hoaimy@example.vn (550 5.1.1 Mailbox unavailable)\n"
            in result.output)
    assert "Chạy lại cùng lệnh" in result.output
    assert set(server.by_unit()) == {"22240", "22243"}


def test_json_output(tmp_path, base, server):  # noqa: F811
    result = invoke(*base, *smtp_args(server), "--json")
    data = json.loads(result.output)
    assert [d["code"] for d in data["sent"]] == WITH_EMAIL and data["failed"] == []
    assert data["deadline"] == "2099-12-30" and data["window"] == ["2023-03-15", "2023-06-14"]
    assert [u["code"] for u in data["no_email"]] == ["22241", "22244"] and data["sending"] is True


@pytest.mark.parametrize("extra, message", [
    (["--send"], "Gửi thư (--send, --resend) cần máy chủ thư: thêm --smtp-host."),
    (["--send", "--smtp-host", "h"], "Gửi thư cần địa chỉ người gửi: thêm --from"),
    (["--starttls", "--ssl"], "Chỉ chọn một trong --starttls và --ssl."),
    (["--from", "noivu"], "Địa chỉ người gửi 'noivu' không hợp lệ"),
    (["--deadline", "31/02/2023"], "Không hiểu ngày '31/02/2023'"),
    (["--period", "Quý 5/2023"], "Không hiểu kỳ báo cáo 'Quý 5/2023'"),
    (["--under", "XX"], "không có đơn vị mã 'XX' trong don-vi.csv."),
])
def test_usage_errors(tmp_path, base, extra, message):
    result = invoke(*base, *extra)
    assert result.exit_code == 2 and message in result.output
    assert not (tmp_path / "thu-gui").exists()


def test_missing_password_stops_before_anything(tmp_path, base, server):  # noqa: F811
    result = invoke(*base, *smtp_args(server), "--smtp-user", "noivu")
    assert result.exit_code == 1
    assert result.output == ("Lỗi: Thiếu mật khẩu máy chủ thư: hãy đặt biến môi trường CCHC_SMTP_PASSWORD "
                             "(mật khẩu của noivu). Chưa gửi thư nào.\n")
    assert not (tmp_path / "thu-gui").exists() and not server.messages


def test_login_with_the_password_from_the_environment(tmp_path, base):
    logins = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        logins.append(auth_data.password)
        return AuthResult(success=auth_data.password == b"mat-khau", handled=False)

    handler = Recorder()
    controller = start_server(handler, authenticator=authenticator, auth_require_tls=False)
    args = [*base, "--send", "--from", SENDER, "--smtp-host", "127.0.0.1", "--smtp-port", controller.port,
            "--smtp-user", "noivu"]
    try:
        bad = invoke(*args, env={"CCHC_SMTP_PASSWORD": "sai"})
        assert bad.exit_code == 1 and "không chấp nhận tên đăng nhập hoặc mật khẩu" in bad.output
        assert "Chưa gửi thư nào" in bad.output and not handler.messages
        good = invoke(*args, env={"CCHC_SMTP_PASSWORD": "mat-khau"})
        assert good.exit_code == 0, good.output
        assert len(handler.messages) == 3 and logins[-1] == b"mat-khau"
        assert "mat-khau" not in (tmp_path / "thu-gui" / LEDGER_NAME).read_text(encoding="utf-8")
    finally:
        controller.stop()


# ------------------------------------------------------------------ collect

HOSTILE = ["../../etc/passwd.xlsx", "..\\..\\Windows\\System32\\y.xlsm", "CON.xlsx",
           "a\x00b\u202egnp.xlsx", "x" * 300 + ".xlsx", "\x1b]0;pwned\x07.xlsx"]


def sources(tmp_path) -> list[Path]:
    """One of each source format; hostile names, a forward, a duplicate, a PDF."""
    eml = write_eml(tmp_path / "mot-thu.eml",
                    make_msg([(BOOK_A, XLSX, "Báo cáo Quý II.xlsx")], msgid="<1@x>"))
    folder = tmp_path / "thu-muc"
    hostile = make_msg([(make_xlsx(name), OCTET, name) for name in HOSTILE], msgid="<2@x>",
                       sender="Xã Hoài Mỹ <hoaimy@example.vn>")
    write_eml(folder / "sub" / "hostile.eml", hostile)
    inner = make_msg([(BOOK_B, XLSX, "Hoài Hải.xlsx")], subject="Báo cáo xã Hoài Hải",
                     sender="Xã Hoài Hải <hoaihai@example.vn>")
    forward = make_msg([], subject="Fwd: Báo cáo xã Hoài Hải", sender="Văn thư <vanthu@example.vn>",
                       msgid="<3@x>")
    forward.add_attachment(inner)
    write_eml(folder / "forward.eml", forward)
    box = mailbox.mbox(tmp_path / "Inbox.mbox")
    box.add(make_msg([(BOOK_A, XLSX, "gui-lai.xlsx")], msgid="<4@x>"))  # same content as the first
    box.add(make_msg([(b"%PDF-1.4", ("application", "pdf"), "Công văn.pdf"), (BOOK_C, XLSX, "c.xlsx")],
                     msgid="<5@x>"))
    box.flush()
    box.close()
    md = mailbox.Maildir(tmp_path / "Maildir")
    md.add(make_msg([(make_xlsx("Maildir"), XLSX, "d.xls")], msgid="<6@x>"))
    return [eml, folder, tmp_path / "Inbox.mbox", tmp_path / "Maildir"]


def test_collect_every_source_format(tmp_path):
    out, paths = tmp_path / "bao-cao-ve", sources(tmp_path)
    result = invoke("collect", *paths, "-o", out)
    assert result.exit_code == 0, result.output
    text = result.output
    names = sorted(p.name for p in out.iterdir())
    assert len(names) == 11 and "manifest.csv" in names
    assert {"Báo cáo Quý II.xlsx", "passwd.xlsx", "y.xlsm", "_CON.xlsx", "Hoài Hải.xlsx", "c.xlsx",
            "d.xls"} <= set(names)
    assert all((out / n).resolve().parent == out.resolve() for n in names)
    assert all(len(n.encode()) <= 200 and "\x00" not in n and "\u202e" not in n for n in names)
    assert text.startswith(f"Đã lưu 10 tệp vào {out}:\n")
    assert "  Hoài Hải.xlsx  ← Văn thư <vanthu@example.vn>, 04/07/2023 09:15, «Hoài Hải.xlsx»\n" in text
    assert ("Trùng nội dung với tệp đã có, không lưu lại (1):\n"
            "  «gui-lai.xlsx» từ Phường A <phuonga@example.vn>, 04/07/2023 09:15 = "
            "Báo cáo Quý II.xlsx\n") in text
    assert f"Bỏ qua (1):\n  {tmp_path / 'Inbox.mbox'}#2: «Công văn.pdf»: không phải bảng tính hay báo cáo Word\n" in text
    assert "Tổng: đã lưu 10, trùng 1, bỏ qua 1, lỗi 0.\n" in text
    assert "«a b gnp.xlsx»" in text and "«xxxxxxxxxx" in text and "x…»" in text  # safe to print
    assert not any(c in text for c in "\x00\u202e\x1b")
    assert f"Bước tiếp theo: cchc check {out}" in text

    again = invoke("collect", *paths, "-o", out)  # running twice is harmless
    assert again.exit_code == 0 and "Tổng: đã lưu 0, trùng 11, bỏ qua 1, lỗi 0." in again.output
    assert len(read_manifest(out)) == 10


def test_collect_json_and_problems_give_exit_status_1(tmp_path):
    broken = write_eml(tmp_path / "rac.eml", bytes(range(256)) * 4)
    good = write_eml(tmp_path / "tot.eml", make_msg([(BOOK_A, XLSX, "a.xlsx")]))
    result = invoke("collect", broken, good, "-o", tmp_path / "out", "--json")
    assert result.exit_code == 1
    data = json.loads(result.output)
    assert [s["saved_name"] for s in data["saved"]] == ["a.xlsx"]
    assert data["saved"][0]["date"] == "2023-07-04T09:15:00+07:00"
    assert len(data["problems"]) == 1 and "không phải thư điện tử" in data["problems"][0]

    text = invoke("collect", broken, "-o", tmp_path / "out")
    assert text.exit_code == 1 and "Thư hoặc nguồn bị lỗi (1):\n" in text.output
    assert "Tổng: đã lưu 0, trùng 0, bỏ qua 0, lỗi 1." in text.output


def test_collect_size_limit_and_missing_source(tmp_path):
    big = write_eml(tmp_path / "lon.eml", make_msg([(BOOK_A + b"\0" * 200_000, XLSX, "lon.xlsx")]))
    result = invoke("collect", big, "-o", tmp_path / "out", "--max-size", "0.1")
    assert result.exit_code == 0 and "«lon.xlsx»: quá lớn (0.2 MB, tối đa 0.1 MB)" in result.output
    missing = invoke("collect", tmp_path / "khong-co.eml", "-o", tmp_path / "out")
    assert missing.exit_code == 2 and "Không tìm thấy" in missing.output


# ------------------------------------------------------------------ the round: distribute, then collect

def test_what_was_sent_comes_back_through_collect(tmp_path, base, server):  # noqa: F811
    assert invoke(*base, *smtp_args(server)).exit_code == 0
    inbox = mailbox.Maildir(tmp_path / "Maildir")  # the units "reply" with the template they received
    for _, _, msg in server.messages:
        name, _, data = attachment(msg)
        unit = str(msg["X-CCHC-Unit"])
        inbox.add(make_msg([(data, XLSX, name)], subject="Re: " + str(msg["Subject"]),
                           sender=f"Đơn vị {unit} <{unit}@example.vn>", msgid=f"<re-{unit}@example.vn>"))
    result = invoke("collect", tmp_path / "Maildir", "-o", tmp_path / "bao-cao-ve", "--json")
    assert result.exit_code == 0, result.output
    saved = json.loads(result.output)["saved"]
    sent = sorted(p.name for p in (tmp_path / "thu-gui").glob("2224[023]_*.xlsx"))
    assert len(sent) == 3 and sorted(s["saved_name"] for s in saved) == sent
    manifest = read_manifest(tmp_path / "bao-cao-ve")
    assert manifest["22240_phuong-tam-quan-bac_2023-Q2.xlsx"].sender == "Đơn vị 22240 <22240@example.vn>"
    for name in manifest:
        assert (tmp_path / "bao-cao-ve" / name).read_bytes() == (tmp_path / "thu-gui" / name).read_bytes()


def test_the_quarter_routine_of_the_readme(tmp_path, base, server):  # noqa: F811
    """distribute → (units reply) → collect → check → aggregate, as the README tells it."""
    roster = base[2]
    sent = invoke(*base, *smtp_args(server))
    assert sent.exit_code == 0, sent.output
    inbox = mailbox.mbox(tmp_path / "Inbox.mbox")
    for _, _, msg in server.messages:
        name, _, data = attachment(msg)
        inbox.add(make_msg([(data, XLSX, name)], subject="Re: " + str(msg["Subject"]),
                           sender=f"Văn thư <{msg['To'].addresses[0].addr_spec}>",
                           date="Mon, 19 Jun 2023 10:00:00 +0700", msgid=f"<re-{msg['X-CCHC-Unit']}@x>"))
    inbox.flush()
    returns = tmp_path / "bao-cao-ve" / "2023-Q2"
    collected = invoke("collect", tmp_path / "Inbox.mbox", "-o", returns)
    assert collected.exit_code == 0 and "Tổng: đã lưu 3, trùng 0" in collected.output
    checked = invoke("check", returns, "--period", "2023-Q2", "--roster", roster, "-j", "1")
    assert checked.exit_code == 0, checked.output
    merged = invoke("aggregate", returns, "-o", tmp_path / "tong-hop-2023-Q2.xlsx", "--roster", roster,
                    "--under", "HN", "--period", "2023-Q2", "-j", "1")
    assert merged.exit_code == 0, merged.output
    assert "0 nộp muộn" in merged.output  # received 19/06 by the manifest, not today by the file time
    assert (tmp_path / "tong-hop-2023-Q2.xlsx").is_file()


def test_a_library_error_a_command_let_through_is_one_line(monkeypatch, capsys):
    import cchc_excel.cli as cli_module
    from cchc_excel.errors import CchcError

    def failing(**kwargs):
        raise CchcError("hộp thư hỏng")

    monkeypatch.setattr(cli_module, "cli", failing)
    with pytest.raises(SystemExit) as e:
        cli_module.main()
    assert e.value.code == 1 and capsys.readouterr().err == "Lỗi: hộp thư hỏng\n"


def test_collect_attachment_nested_too_deep_gets_a_line_and_exit_1(tmp_path):
    inner = make_msg([(BOOK_A, XLSX, "sau.xlsx")])
    for _ in range(10):
        outer = make_msg([], subject="Fwd")
        outer.add_attachment(inner)  # message/rfc822
        inner = outer
    result = invoke("collect", write_eml(tmp_path / "m.eml", inner), "-o", tmp_path / "out")
    assert result.exit_code == 1
    assert "lồng nhau quá 8 lớp" in result.output and "Tổng: đã lưu 0, trùng 0, bỏ qua 0, lỗi 1." in result.output


def test_distribute_basis_is_named_in_the_letter(tmp_path, base):
    basis = "Công văn số 123/UBND-NV ngày 01/6/2023 của UBND thị xã Hoài Nhơn"
    result = invoke(*base, "--basis", basis)
    assert result.exit_code == 0, result.output
    eml = next((tmp_path / "thu-gui").glob("22240_*.eml"))
    body = email.message_from_bytes(eml.read_bytes(), policy=POLICY).get_body().get_content()
    assert f"Thực hiện {basis}, đề nghị đơn vị" in body
