"""Reminders to the units still missing and feedback workbooks to the units whose returns have findings,
through distribute's outbox and send log: drafted, sent through a real SMTP server on loopback, never
twice."""

from __future__ import annotations

import email
from datetime import date
from email.policy import default as POLICY

from cchc_excel.check.feedback import write_feedback
from cchc_excel.check.run import check_file
from cchc_excel.core.roster import load_roster
from cchc_excel.mail.feedback_mail import find_feedback, send_feedback
from cchc_excel.mail.remind import FEEDBACK_LEDGER, REMIND_LEDGER, remind
from cchc_excel.mail.distribute import read_ledger
from cchc_excel.template.build import write_template
from test_distribute import SENDER, SPEC, attachment, roster, server  # noqa: F401 (fixtures)

TODAY = date(2023, 6, 22)


def test_a_reminder_to_each_missing_unit_then_never_twice(tmp_path, roster, server):
    units = load_roster(roster, levels=SPEC.levels)
    outbox = tmp_path / "thu-gui"
    drafts = remind(units, "2023-Q2", outbox, ["22240", "22241"], SPEC, deadline=date(2023, 6, 27), today=TODAY)
    assert [d.code for d in drafts.drafts] == ["22240"] and [u.code for u in drafts.no_email] == ["22241"]
    msg = email.message_from_bytes(drafts.drafts[0].eml.read_bytes(), policy=POLICY)
    assert drafts.drafts[0].eml.name == "22240_phuong-tam-quan-bac_2023-Q2_nhac-nop.eml"
    assert msg["Subject"] == ("[CCHC] Nhắc gửi báo cáo thống kê CCHC Quý II/2023 – UBND phường Tam Quan Bắc – "
                              "hạn gửi 27/06/2023")
    body = msg.get_body().get_content()
    assert "Đến nay đơn vị chưa gửi báo cáo số liệu thống kê cải cách hành chính (CCHC) Quý II/2023 (hạn gửi " \
           "20/06/2023)." in body
    assert "chậm nhất ngày 27/06/2023" in body and msg["X-Unsent"] == "1"
    assert attachment(msg)[0] == "22240_phuong-tam-quan-bac_2023-Q2.xlsx"

    sent = remind(units, "2023-Q2", outbox, ["22240"], SPEC, sender=SENDER, smtp=server.settings, today=TODAY)
    assert [d.code for d in sent.sent] == ["22240"] and len(server.messages) == 1
    again = remind(units, "2023-Q2", outbox, ["22240"], SPEC, sender=SENDER, smtp=server.settings, today=TODAY)
    assert not again.sent and [d.code for d in again.already_sent] == ["22240"] and len(server.messages) == 1
    assert [(d.code, d.status) for d in read_ledger(outbox, REMIND_LEDGER)] == [("22240", "ok")]
    assert read_ledger(outbox) == []  # the templates' own log is another round


def _feedback(tmp_path, units, code, values):
    ret = write_template(tmp_path / "ve" / f"{code}.xlsx", SPEC, level="xa", unit=units.get(code),
                         period="2023-Q2", values=values)
    return write_feedback(check_file(ret, SPEC, roster=units), tmp_path / "phan-hoi")


def test_feedback_names_what_to_fix_and_the_new_deadline_once_per_workbook(tmp_path, roster, server):
    units = load_roster(roster, levels=SPEC.levels)
    _feedback(tmp_path, units, "22240", {"BM3-3.1.1": 713, "BM3-3.1.2": 725})
    [fb] = find_feedback(tmp_path / "phan-hoi", SPEC, units)
    assert (fb.unit, fb.period, fb.source) == ("22240", "2023-Q2", "22240.xlsx")
    outbox = tmp_path / "thu-gui"
    result = send_feedback(units, "2023-Q2", tmp_path / "phan-hoi", outbox, SPEC, sender=SENDER,
                           smtp=server.settings, today=TODAY)
    assert [d.code for d in result.sent] == ["22240"] and result.deadline == date(2023, 6, 27)
    _, msg = server.by_unit()["22240"]
    assert msg["Subject"] == ("[CCHC] Đề nghị sửa báo cáo thống kê CCHC Quý II/2023 – UBND phường Tam Quan Bắc "
                              "– hạn gửi lại 27/06/2023")
    body = msg.get_body().get_content()
    assert "(tệp 22240.xlsx) có 1 lỗi cần sửa:" in body
    assert "- Lỗi (Biểu mẫu 3, ô D" in body and "BM3-3.1.2): Số hồ sơ TTHC giải quyết đúng hạn (725) lớn hơn" in body
    assert "gửi lại chậm nhất ngày 27/06/2023" in body
    assert attachment(msg)[0] == "22240_phan-hoi.xlsx"
    again = send_feedback(units, "2023-Q2", tmp_path / "phan-hoi", outbox, SPEC, sender=SENDER,
                          smtp=server.settings, today=TODAY)
    assert not again.sent and len(again.already_sent) == 1 and len(server.messages) == 1
    assert [d.eml for d in read_ledger(outbox, FEEDBACK_LEDGER)] == ["22240_phan-hoi.eml"]


# ------------------------------------------------------------------ the command line

def _cli(*args):
    from click.testing import CliRunner

    from cchc_excel.cli import cli

    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False,
                              env={"CCHC_SMTP_PASSWORD": None})


def test_cli_remind_from_a_folder_of_returns(tmp_path, roster):
    units = load_roster(roster, levels=SPEC.levels)
    for code in ("22240", "22243"):
        write_template(tmp_path / "ve" / f"{code}.xlsx", SPEC, level="xa", unit=units.get(code), period="2023-Q2",
                       values={"BM3-3.1.1": 3})
    out = tmp_path / "thu"
    res = _cli("distribute", "--roster", roster, "--period", "2023-Q2", "--outbox", out, "--under", "HN",
               "--remind", tmp_path / "ve", "--json")
    assert res.exit_code == 0, res.output
    doc = __import__("json").loads(res.output)
    assert [d["code"] for d in doc["drafts"]] == ["22242"]  # 22241 and 22244 have no valid email
    assert sorted(u["code"] for u in doc["no_email"]) == ["22241", "22244"]
    assert (out / "22242_xa-hoai-my_2023-Q2_nhac-nop.eml").is_file()


def test_cli_remind_and_feedback_with_a_workspace(tmp_path, roster, server):
    from cchc_excel.template.build import template_bytes
    from cchc_excel.workspace import Workspace

    ws = Workspace(tmp_path / "ws")
    ws.put_roster(roster.read_bytes(), "don-vi.csv")
    units = ws.roster()
    ws.receive("2023-Q2", [(f"{c}.xlsx", template_bytes(SPEC, level="xa", unit=units.get(c), period="2023-Q2",
                                                        values={"BM3-3.1.1": 3})) for c in ("22240", "22242")])
    out = tmp_path / "thu"
    smtp = ["--send", "--from", SENDER, "--smtp-host", "127.0.0.1", "--smtp-port", server.settings.port]
    res = _cli("distribute", "--workspace", tmp_path / "ws", "--period", "2023-Q2", "--outbox", out, "--remind",
               *smtp)
    assert res.exit_code == 0, res.output
    assert sorted(server.by_unit()) == ["22243"]  # the only one missing with an email
    assert [(r["unit"], r["kind"], r["status"]) for r in ws.sent("2023-Q2")] == [("22243", "nhac-nop", "ok")]

    _feedback(tmp_path, load_roster(roster, levels=SPEC.levels), "22240", {"BM3-3.1.1": 713, "BM3-3.1.2": 725})
    res = _cli("distribute", "--workspace", tmp_path / "ws", "--period", "2023-Q2", "--outbox", out,
               "--feedback", tmp_path / "phan-hoi", "--deadline", "27/06/2023", *smtp)
    assert res.exit_code == 0, res.output
    assert "hạn gửi lại 27/06/2023" in str(server.by_unit()["22240"][1]["Subject"])
    assert [r["kind"] for r in ws.sent("2023-Q2")] == ["nhac-nop", "phan-hoi"]


def test_cli_remind_needs_returns_or_a_workspace(tmp_path, roster):
    res = _cli("distribute", "--roster", roster, "--period", "2023-Q2", "--outbox", tmp_path / "thu", "--remind")
    assert res.exit_code == 2 and "--workspace" in res.output
    res = _cli("distribute", "--period", "2023-Q2", "--outbox", tmp_path / "thu")
    assert res.exit_code == 2 and "--roster" in res.output
