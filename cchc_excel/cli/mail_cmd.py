"""`cchc distribute` (templates out by email) and `cchc collect` (returns in from mail files)."""

from __future__ import annotations

from pathlib import Path

import click

from cchc_excel.cli.common import (Parsed, argument, command, echo_json, echo_warnings, json_option,
                                   library_errors, old_spelling, option, period_option, roster_option,
                                   sheet_password_option, spec_option, under_option, unit_in)
from cchc_excel.mail.collect import collect as collect_returns
from cchc_excel.core.text import clean_text, vn_date, vn_datetime
from cchc_excel.mail.distribute import distribute as distribute_templates
from cchc_excel.mail.distribute import parse_date, parse_sender
from cchc_excel.mail.feedback_mail import send_feedback
from cchc_excel.mail.remind import remind as remind_units
from cchc_excel.mail.smtp import PASSWORD_ENV, SmtpSettings

_FROM_WORKSPACE = "-"  # `--remind` without a folder: the units missing in `--workspace`


def _heading(text: str) -> None:
    click.echo(click.style(text, bold=True))


def _when(dt) -> str:
    return vn_datetime(dt) if dt else "không rõ ngày"


def _shown(text: str, default: str = "", limit: int = 80) -> str:
    """Text from a message, safe to print: no control characters (terminal escapes), not too long."""
    text = clean_text(text or "") or default
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _sender(text: str) -> str:
    parse_sender(text)  # only checked: the message is built from the text as given
    return text


# ---------------------------------------------------------------- distribute

@command("distribute")
@roster_option("bắt buộc, trừ khi lấy danh sách từ --workspace.")
@period_option(required=True)
@option("--outbox", required=True, type=click.Path(file_okay=False, path_type=Path), metavar="THƯ_MỤC",
        help="Thư mục ghi biểu mẫu, thư (.eml) và sổ ghi thư đã gửi (da-gui.csv).")
@under_option("Chỉ gửi các đơn vị trực thuộc đơn vị này (như --under của cchc aggregate); mặc định: cả "
              "danh sách.")
@option("--from", "sender", type=Parsed(_sender, "NGƯỜI_GỬI"),
        help='Người gửi, ví dụ "Phòng Nội vụ <noivu@example.gov.vn>"; bắt buộc khi gửi (--send).')
@option("--deadline", type=Parsed(parse_date, "NGÀY"), help="Hạn gửi lại (dd/mm/yyyy); mặc định theo kỳ báo cáo.")
@option("--contact", metavar="LIÊN_HỆ", help="Người, số điện thoại liên hệ ghi trong thư.")
@option("--basis", metavar="CĂN_CỨ",
        help='Văn bản của đơn vị gửi yêu cầu báo cáo, nêu trong thư, ví dụ "Công văn số 123/UBND-NV ngày '
             '01/6/2023 của UBND thị xã Hoài Nhơn".')
@spec_option
@sheet_password_option()
@option("--send", is_flag=True, help="Gửi thư qua máy chủ thư (SMTP); không có thì chỉ soạn thư.")
@option("--resend", multiple=True, metavar="MÃ",
        help="Gửi lại thư cho đơn vị mã này, kể cả khi đã gửi (dùng được nhiều lần).")
@option("--smtp-host", metavar="MÁY_CHỦ", help="Máy chủ thư đi (SMTP).")
@option("--smtp-port", type=click.IntRange(1, 65535), metavar="CỔNG",
        help="Cổng SMTP (mặc định 25; 587 với --starttls; 465 với --ssl).")
@option("--smtp-user", metavar="TÊN", help=f"Tên đăng nhập SMTP; mật khẩu lấy từ biến môi trường {PASSWORD_ENV}.")
@option("--starttls", is_flag=True, help="Mã hóa kết nối bằng STARTTLS.")
@option("--ssl", "use_ssl", is_flag=True, help="Kết nối SMTP qua SSL/TLS ngay từ đầu.")
@option("--remind", metavar="BÁO_CÁO_VỀ", is_flag=False, flag_value=_FROM_WORKSPACE,
        help="Thay vì biểu mẫu, gửi thư nhắc (kèm biểu mẫu) cho các đơn vị chưa nộp báo cáo: BÁO_CÁO_VỀ là "
             "thư mục các tệp đã nhận; với --workspace thì chỉ cần --remind. Mỗi đơn vị chỉ được nhắc một "
             "lần mỗi kỳ (trừ --resend).")
@option("--workspace", type=click.Path(file_okay=False, path_type=Path), metavar="THƯ_MỤC",
        help="Thư mục làm việc của kỳ (cơ sở dữ liệu các tệp đã nhận): danh sách đơn vị và đơn vị chưa nộp "
             "lấy từ đây; thư đã gửi được ghi vào đây.")
@option("--feedback", type=click.Path(exists=True, file_okay=False, path_type=Path), metavar="THƯ_MỤC",
        help="Thay vì biểu mẫu, gửi mỗi đơn vị tệp phản hồi của mình trong THƯ_MỤC (do cchc check --feedback "
             "ghi ra), thư nêu các lỗi cần sửa và hạn gửi lại (--deadline; mặc định 5 ngày kể từ hôm nay). "
             "Mỗi tệp phản hồi chỉ được gửi một lần (trừ --resend).")
@json_option("kết quả (thư đã soạn, đã gửi, gửi không được, đơn vị không có email)")
@old_spelling("--unit", "under")
@click.pass_context
def distribute(ctx, roster, period, outbox, under, sender, deadline, contact, basis, spec, sheet_password,
               send, resend, smtp_host, smtp_port, smtp_user, starttls, use_ssl, remind, workspace, feedback,
               as_json):
    """Soạn và gửi biểu mẫu của kỳ báo cáo cho từng đơn vị qua email.

    Mỗi đơn vị có email trong danh sách nhận một thư (.eml trong THƯ_MỤC) kèm biểu mẫu riêng, nêu kỳ báo
    cáo, thời gian chốt số liệu, hạn gửi lại và cách gửi lại. Đơn vị chưa có email được liệt kê để gửi cách
    khác. Không có --send thì chỉ soạn thư (mở tệp .eml bằng Outlook để gửi tay). Có --send thì gửi qua
    máy chủ thư và ghi vào da-gui.csv: chạy lại không gửi trùng; --resend MÃ gửi lại một đơn vị. Mật khẩu
    SMTP lấy từ biến môi trường CCHC_SMTP_PASSWORD, không bao giờ ghi trên dòng lệnh.
    Mã thoát: 0 khi mọi thư đều gửi được, 1 khi có thư gửi không được, 2 khi dùng sai lệnh.

    --remind gửi thư nhắc các đơn vị chưa nộp, --feedback gửi tệp phản hồi cho các đơn vị có báo cáo cần
    sửa; mỗi loại thư có sổ ghi riêng trong THƯ_MỤC, không bao giờ gửi trùng.

    \b
    Ví dụ:
        cchc distribute --roster don-vi.csv --under HN --period 2023-Q2 --outbox thu-gui/2023-Q2
        cchc distribute --roster don-vi.csv --period 2023-Q2 --outbox thu-gui/2023-Q2 --remind bao-cao-ve/
        cchc distribute --workspace cchc-du-lieu --period 2023-Q2 --outbox thu-gui/2023-Q2 --remind
        cchc distribute --roster don-vi.csv --period 2023-Q2 --outbox thu-gui/2023-Q2 --feedback phan-hoi/ \\
            --deadline 27/06/2023
        export CCHC_SMTP_PASSWORD='...'
        cchc distribute --roster don-vi.csv --under HN --period 2023-Q2 --outbox thu-gui/2023-Q2 \\
            --from "Phòng Nội vụ <noivu@example.gov.vn>" --send \\
            --smtp-host mail.example.gov.vn --starttls --smtp-user noivu@example.gov.vn
    """
    sending = send or bool(resend)
    smtp = _smtp_settings(sending, sender, smtp_host, smtp_port, smtp_user, starttls, use_ssl)
    ws, roster = _workspace_and_roster(workspace, roster, spec, remind, feedback)
    for code, name in [(under, "--under")] + [(c, "--resend") for c in resend]:
        if code:
            unit_in(roster, code, name)
    echo_warnings(roster.warnings)
    common = dict(sender=sender, deadline=deadline, contact=contact, smtp=smtp, resend=resend)
    with library_errors():
        if feedback is not None:
            result = send_feedback(roster, period, feedback, outbox, spec, **common)
        elif remind is not None:
            missing = _missing(ws, remind, roster, period, under, spec)
            result = remind_units(roster, period, outbox, missing, spec, template_password=sheet_password,
                                  **common)
        else:
            result = distribute_templates(roster, period, outbox, spec, unit_code=under,
                                          template_password=sheet_password, basis=basis, **common)
        if ws is not None:
            ws.record_sent(period, "phan-hoi" if feedback else "nhac-nop" if remind is not None else "bieu-mau",
                           result.sent + result.failed)
    if as_json:
        echo_json(result.to_dict())
    else:
        _print_distribute(result, smtp_host_only=bool(smtp_host) and not sending)
    ctx.exit(result.exit_code)


def _workspace_and_roster(folder, roster, spec, remind, feedback):
    """The workspace (or None) and the roster: `--roster`, else the workspace's; wrong combinations are
    usage errors."""
    if remind is not None and feedback is not None:
        raise click.UsageError("Chỉ chọn một trong --remind và --feedback.")
    if remind == _FROM_WORKSPACE and folder is None:
        raise click.UsageError("--remind cần thư mục các tệp đã nhận (--remind BÁO_CÁO_VỀ) hoặc --workspace.")
    ws = None
    if folder is not None:
        from cchc_excel.workspace import Workspace  # lazy: the merge stack, only with --workspace

        with library_errors(hint="--workspace"):
            ws = Workspace(folder, spec)
            roster = roster or ws.roster()
    if roster is None:
        raise click.UsageError("Cần danh sách đơn vị: thêm --roster (hoặc --workspace đã có danh sách).")
    return ws, roster


def _missing(ws, remind: str, roster, period, under, spec) -> list[str]:
    """The codes of the units still missing: in the workspace, or by merging the folder `remind`."""
    if remind == _FROM_WORKSPACE:
        from cchc_excel.workspace.views import missing_units

        return [u.code for u in missing_units(ws, period, under)]
    from cchc_excel.merge.run import aggregate_paths

    return aggregate_paths([remind], spec, roster=roster, period=period, unit_code=under).units_with("missing")


def _smtp_settings(sending, sender, host, port, user, starttls, use_ssl) -> SmtpSettings | None:
    """The mail server to send through, or None when only drafting; wrong combinations are usage errors."""
    if starttls and use_ssl:
        raise click.UsageError("Chỉ chọn một trong --starttls và --ssl.")
    if sending and not host:
        raise click.UsageError("Gửi thư (--send, --resend) cần máy chủ thư: thêm --smtp-host.")
    if sending and not sender:
        raise click.UsageError('Gửi thư cần địa chỉ người gửi: thêm --from "Tên <địa-chỉ@...>".')
    if not sending:
        return None
    with library_errors():
        smtp = SmtpSettings.from_environment(host, port, user, "ssl" if use_ssl else "starttls" if starttls
                                             else "none")
    if smtp.password_in_clear:
        click.echo("Cảnh báo: mật khẩu SMTP sẽ đi qua mạng không mã hóa; nên dùng --starttls hoặc --ssl.",
                   err=True)
    return smtp


def _print_distribute(result, smtp_host_only: bool) -> None:
    start, end = result.window
    _heading(f"{result.period.label}: số liệu từ {vn_date(start)} đến {vn_date(end)}, "
             f"hạn gửi lại {vn_date(result.deadline)}.")
    for warning in result.warnings:
        click.echo(click.style(f"Cảnh báo: {warning}", fg="yellow"))
    if not result.sending and result.drafts:
        _heading(f"Đã soạn {len(result.drafts)} thư trong {result.outbox} (chưa gửi):")
        for d in result.drafts:
            click.echo(f"  {d.code}  {d.name} → {', '.join(d.to)}  ({d.eml.name})")
    if result.no_email:
        _heading(f"Đơn vị không có email hợp lệ ({len(result.no_email)}), cần gửi biểu mẫu cách khác:")
        for u in result.no_email:
            where = f"; biểu mẫu: {u.template.name}" if u.template else ""
            click.echo(click.style(f"  {u.code}  {u.name}: {u.reason}{where}", fg="yellow"))
    if result.already_sent:
        _heading(f"Đã gửi từ trước, không gửi lại ({len(result.already_sent)}; dùng --resend MÃ để gửi lại):")
        for d in result.already_sent:
            click.echo(f"  {d.code}  {d.name} → {', '.join(d.to)}  ({_when(d.time)})")
    if result.sent:
        _heading(f"Đã gửi ({len(result.sent)}):")
        for d in result.sent:
            note = f"  [{d.detail}]" if d.detail else ""
            click.echo(f"  {d.code}  {d.name} → {', '.join(d.to)}{note}")
    if result.failed:
        _heading(click.style(f"Gửi không được ({len(result.failed)}):", fg="red"))
        for d in result.failed:
            click.echo(click.style(f"  {d.code}  {d.name} → {', '.join(d.to)}: {d.detail}", fg="red"))
    for problem in result.problems:
        click.echo(click.style(f"Lỗi: {problem}", fg="red"))
    total = len(result.drafts) + len(result.no_email) + len(result.already_sent)
    if not total:
        click.echo(click.style("Không có đơn vị nào để gửi: xem lại danh sách và --under.", fg="yellow"))
    parts = [f"{total} đơn vị"]
    if result.sending:
        parts += [f"đã gửi {len(result.sent)}", f"gửi không được {len(result.failed)}"]
    else:
        parts.append(f"đã soạn {len(result.drafts)} thư")
    parts += [f"đã gửi từ trước {len(result.already_sent)}", f"không có email {len(result.no_email)}"]
    _heading("Tổng: " + ", ".join(parts) + ".")
    if not result.sending and result.drafts:
        hint = "thêm --send để gửi" if smtp_host_only else "chạy lại với --send và --smtp-host để gửi"
        click.echo(f"Chưa gửi thư nào: mở các tệp .eml bằng Outlook để gửi tay, hoặc {hint}.")
    if result.failed:
        click.echo("Chạy lại cùng lệnh để gửi lại các thư chưa gửi được; thư đã gửi không bị gửi trùng.")


# ---------------------------------------------------------------- collect

@command("collect")
@argument("sources", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path), metavar="NGUỒN...")
@option("-o", "--output", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
        metavar="THƯ_MỤC", help="Thư mục lưu các tệp nhận được (và manifest.csv).")
@option("--max-size", type=click.FloatRange(min=0.1), default=25.0, show_default=True, metavar="MB",
        help="Bỏ qua tệp đính kèm lớn hơn chừng này megabyte.")
@json_option("kết quả (tệp đã lưu, trùng, bỏ qua, thư bị lỗi)")
@click.pass_context
def collect(ctx, sources, out_dir, max_size, as_json):
    """Lấy các tệp báo cáo (bảng tính) đính kèm trong thư đơn vị gửi về.

    NGUỒN là tệp .eml, thư mục chứa tệp .eml (tìm cả thư mục con), tệp mbox (Thunderbird) hoặc thư mục
    Maildir. Mỗi bảng tính (.xlsx, .xlsm, .xls, .ods) được lưu một lần vào THƯ_MỤC với tên an toàn;
    tệp trùng nội dung không lưu lại; manifest.csv ghi người gửi, ngày gửi, tiêu đề của từng tệp (lệnh
    aggregate dùng ngày này để lấy bản mới nhất). Chạy lại nhiều lần không sao.
    Mã thoát: 0 khi mọi thư đều đọc được, 1 khi có thư hoặc nguồn bị lỗi, 2 khi dùng sai lệnh.

    \b
    Ví dụ:
        cchc collect ~/thu-ve/Inbox.mbox thu-tai-ve/ -o bao-cao-ve/2023-Q2
        cchc collect bao-cao.eml -o bao-cao-ve/2023-Q2 --json
    """
    with library_errors():
        result = collect_returns(sources, out_dir, max_attachment_bytes=int(max_size * 2**20))
    if as_json:
        echo_json(result.to_dict())
    else:
        _print_collect(result, out_dir)
    ctx.exit(1 if result.problems else 0)


def _print_collect(result, out_dir: Path) -> None:
    if result.saved:
        _heading(f"Đã lưu {len(result.saved)} tệp vào {out_dir}:")
        for s in result.saved:
            click.echo(f"  {s.saved_name}  ← {_shown(s.sender, 'không rõ người gửi')}, {_when(s.date)}, "
                       f"«{_shown(s.original_name, 'không tên')}»")
    if result.duplicates:
        _heading(f"Trùng nội dung với tệp đã có, không lưu lại ({len(result.duplicates)}):")
        for s in result.duplicates:
            click.echo(f"  «{_shown(s.original_name, 'không tên')}» từ "
                       f"{_shown(s.sender, 'không rõ người gửi')}, {_when(s.date)} = {s.saved_name}")
    if result.skipped:
        _heading(f"Bỏ qua ({len(result.skipped)}):")
        for k in result.skipped:
            click.echo(click.style(f"  {k.source}: «{_shown(k.name)}»: {k.reason}", fg="yellow"))
    if result.problems:
        _heading(click.style(f"Thư hoặc nguồn bị lỗi ({len(result.problems)}):", fg="red"))
        for p in result.problems:
            click.echo(click.style(f"  {_shown(p, limit=300)}", fg="red"))
    _heading(f"Tổng: đã lưu {len(result.saved)}, trùng {len(result.duplicates)}, "
             f"bỏ qua {len(result.skipped)}, lỗi {len(result.problems)}.")
    if result.saved:
        click.echo(f"Bước tiếp theo: cchc check {out_dir} --feedback phan-hoi/")

