"""The "Gửi biểu mẫu" page and the drafts of the "Tình hình" page: templates, drafts, reminders and
feedback by email, through the mail library that `cchc distribute` uses (`distribute`, `remind`,
`send_feedback`), with the workspace's outbox (`outbox/<period>/`) and its send logs, so that nothing is
sent twice, whichever of the page and the command line sends.

The SMTP settings but the password are remembered in the workspace (`workspace.settings`); the password
lives only in this process's memory (`app.extensions`), never in the database, a file, a cookie or a log,
until "Quên mật khẩu" or the end of the server.
"""

from __future__ import annotations

import functools
import io
import tempfile
import zipfile
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for

from cchc_excel.core.periods import parse_period
from cchc_excel.core.roster import Roster
from cchc_excel.core.text import vn_date
from cchc_excel.errors import CchcError
from cchc_excel.mail.distribute import distribute, parse_date
from cchc_excel.mail.feedback_mail import send_feedback
from cchc_excel.mail.message import is_address
from cchc_excel.mail.remind import GRACE_DAYS, remind
from cchc_excel.mail.smtp import SmtpSettings
from cchc_excel.web.api import XLSX, attachment, download_name
from cchc_excel.web.app import ALL_UNITS, period_or_404, scope, workspace
from cchc_excel.web.pages import parent_units
from cchc_excel.workspace import views
from cchc_excel.workspace.settings import load_settings, save_settings

bp = Blueprint("send", __name__)

PASSWORDS = "cchc_smtp_passwords"  # app.extensions key: {(host, user): password}, memory only
SETTINGS = "gui-thu"  # the key of these settings in the workspace's settings table
FIELDS = ("sender", "contact", "basis", "smtp_host", "smtp_port", "security", "smtp_user")
SECURITY = {"starttls": "STARTTLS (thường dùng, cổng 587)", "ssl": "SSL/TLS (cổng 465)",
            "none": "Không mã hóa (cổng 25)"}
SMTP_TIMEOUT = 30.0
ZIP = "application/zip"
KINDS = {"bieu-mau": "Biểu mẫu", "nhac-nop": "Thư nhắc", "phan-hoi": "Thư phản hồi"}


# ---------------------------------------------------------------------------------------- helpers

def outbox(period) -> Path:
    """The workspace's outbox of `period`: the letters sent from the page and their send logs."""
    return workspace().folder / "outbox" / period.code


def _passwords() -> dict:
    return current_app.extensions.setdefault(PASSWORDS, {})


def _key(host: str, user: str | None) -> tuple:
    """Whose password: the mail server (its name in any case) and the user name."""
    return host.strip().lower(), (user or "").strip()


def _remembered(values: dict) -> bool:
    return _key(values.get("smtp_host", ""), values.get("smtp_user")) in _passwords()


def flashing(back: str):
    """A view whose CchcError (what the person can fix) is a Vietnamese flash and a redirect to `back`."""
    def wrap(view):
        @functools.wraps(view)
        def wrapper(code, *args, **kwargs):
            try:
                return view(code, *args, **kwargs)
            except CchcError as e:
                flash(str(e), "error")
                return redirect(url_for(back, code=code))
        return wrapper
    return wrap


def _roster() -> Roster:
    roster = workspace().roster()
    if roster is None:
        raise CchcError("Chưa có danh sách đơn vị: hãy tải lên danh sách ở trang Kỳ báo cáo trước.")
    return roster


def _posted(code: str) -> tuple:
    """(period, the form's values remembered, roster) of a POST of the Gửi biểu mẫu page."""
    period = period_or_404(code)
    return period, _form(), _roster()


def _under(roster: Roster, values: dict) -> str | None:
    """The subtree the form names (`scope`: by default the workspace's own unit)."""
    code = scope(values.get("unit") or "")
    if code is not None and code not in roster:
        raise CchcError(f"Không có đơn vị mã {code!r} trong danh sách đơn vị.")
    return code


def _deadline(values: dict) -> date | None:
    text = (values.get("deadline") or "").strip()
    return parse_date(text) if text else None


def _letter(values: dict, basis: bool = False) -> dict:
    """The letter's signature as the mail library takes it (empty fields: its defaults); with `basis`, also
    the công văn asking for the report (only `distribute` names it)."""
    out = {"sender": values.get("sender", "").strip() or None, "contact": values.get("contact", "").strip() or None,
           "deadline": _deadline(values)}
    if basis:
        out["basis"] = values.get("basis", "").strip() or None
    return out


def _form() -> dict:
    """The fields the page posts, remembered (but the password) for next time."""
    values = {k: request.form.get(k, "") for k in (*FIELDS, "unit", "deadline", "test_to")}
    save_settings(workspace(), SETTINGS, {k: values[k].strip() for k in FIELDS})
    return values


def _saved() -> dict:
    return {"security": "starttls", **load_settings(workspace(), SETTINGS)}


def smtp_settings(values: dict, password: str = "") -> SmtpSettings:
    """The mail server of the form (the password typed now, else the one remembered in memory).

    Raises:
        CchcError: a field is missing or wrong, in Vietnamese.
    """
    host = values.get("smtp_host", "").strip()
    if not host:
        raise CchcError("Chưa có máy chủ thư đi (SMTP): hãy nhập ở mục 4 của trang Gửi biểu mẫu.")
    port_text = values.get("smtp_port", "").strip()
    if port_text and not (port_text.isdigit() and 1 <= int(port_text) <= 65535):
        raise CchcError(f"Cổng SMTP «{port_text}» không hợp lệ: hãy ghi một số từ 1 đến 65535 (thường là 587 "
                        "với STARTTLS, 465 với SSL/TLS) hoặc để trống.")
    security = values.get("security", "") or "starttls"
    if security not in SECURITY:
        raise CchcError("Hãy chọn cách mã hóa kết nối: STARTTLS, SSL/TLS hoặc không mã hóa.")
    user = values.get("smtp_user", "").strip() or None
    password = password or _passwords().get(_key(host, user), "")
    if user and not password:
        raise CchcError(f"Cần mật khẩu của {user} để đăng nhập máy chủ thư {host}: hãy nhập ở mục 4 của trang "
                        "Gửi biểu mẫu.")
    if not values.get("sender", "").strip():
        raise CchcError("Gửi thư cần người gửi: hãy nhập tên và địa chỉ thư người gửi ở mục 1 của trang Gửi "
                        "biểu mẫu, ví dụ \"Phòng Nội vụ <noivu@example.gov.vn>\".")
    return SmtpSettings(host, int(port_text) if port_text else None, user, password or None, security,
                        timeout=SMTP_TIMEOUT)


def _logged_in(smtp: SmtpSettings) -> None:
    """After a send: keep the password that just worked, in memory only, and warn if it went in clear."""
    if smtp.user and smtp.password:
        _passwords()[_key(smtp.host, smtp.user)] = smtp.password
    if smtp.password_in_clear:
        flash("Cảnh báo: mật khẩu đã đi qua mạng không mã hóa; nên chọn STARTTLS hoặc SSL/TLS.", "warn")


def zipped(period, name: str, unit: str | None, fill, suffixes: tuple = (".eml", ".xlsx")):
    """A zip to download (`<stem>_<period>[_<unit>].zip`) of the files with these suffixes that
    `fill(folder)` writes into a temporary folder."""
    out = io.BytesIO()
    with tempfile.TemporaryDirectory(prefix="cchc-tai-ve-") as tmp:
        fill(Path(tmp))
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
            for path in sorted(Path(tmp).iterdir()):
                if path.is_file() and path.suffix.lower() in suffixes:
                    z.write(path, path.name)
    return attachment(out.getvalue(), ZIP, download_name(period, name, unit))


def _nobody(result) -> str | None:
    """Why nothing can be sent (no unit with a valid email), or None."""
    if result.drafts or result.already_sent:
        return None
    if result.no_email:
        return (f"Không đơn vị nào có email hợp lệ trong danh sách ({len(result.no_email)} đơn vị không có): "
                "hãy thêm email vào danh sách đơn vị, hoặc tải biểu mẫu để gửi cách khác.")
    return "Không có đơn vị nào để gửi trong phần danh sách đã chọn."


def _something(result) -> None:
    """Raise CchcError when the drafts of `result` hold no message to anybody."""
    why = _nobody(result)
    if why:
        raise CchcError(why)


def _sent(period, kind: str, result, smtp: SmtpSettings) -> None:
    """After a round sent through `smtp`: record the attempts in the workspace (the unit pages show them)
    and say what happened."""
    _logged_in(smtp)
    why = _nobody(result)
    if why:
        flash(why, "error")
    workspace().record_sent(period, kind, result.sent + result.failed)
    if result.failed:
        flash(f"{len(result.failed)} thư gửi không được (xem lý do bên dưới); gửi lại sẽ chỉ gửi các thư này.",
              "error")
    elif result.sent:
        flash(f"Đã gửi {len(result.sent)} thư.", "ok")
    elif result.already_sent:
        flash("Không có thư mới để gửi: các đơn vị đã được gửi từ trước (không gửi trùng).", "ok")


# ---------------------------------------------------------------------------------------- Gửi biểu mẫu

@bp.app_context_processor
def send_helpers():
    return {"drafts_defaults": drafts_defaults, "KIND_LABELS": KINDS}


def drafts_defaults(period) -> dict:
    """What the drafts of the Tình hình page show: the default deadlines, whether sending is set up."""
    saved = _saved()
    ready = bool(saved.get("smtp_host") and saved.get("sender")) and (not saved.get("smtp_user")
                                                                        or _remembered(saved))
    return {"remind_deadline": vn_date(period.deadline(workspace().spec.deadline_day)),
            "feedback_deadline": vn_date(date.today() + timedelta(days=GRACE_DAYS)),
            "ready": ready, "saved": saved}


def _page(period, values: dict, result=None, status: int = 200):
    ws = workspace()
    roster = ws.roster()
    parents = parent_units(roster)
    values = {**values, "unit": values.get("unit") or ws.own_unit() or ALL_UNITS}
    deadline = values.get("deadline") or vn_date(period.deadline(ws.spec.deadline_day))
    return render_template("send.html", period=period, roster=roster, parents=parents, values=values,
                           deadline=deadline, remembered=_remembered(values), result=result,
                           SECURITY=SECURITY, ALL_UNITS=ALL_UNITS), status


@bp.get("/periods/<code>/send")
def page(code: str):
    return _page(period_or_404(code), _saved())


@bp.post("/periods/<code>/send/templates")
@flashing("send.page")
def templates_zip(code: str):
    """Every unit's template of the roster (or of one subtree), one zip."""
    from cchc_excel.template.build import write_roster_templates

    period, values, roster = _posted(code)
    under = _under(roster, values)

    def fill(folder):
        if not write_roster_templates(roster, period, folder, workspace().spec, unit_code=under):
            raise CchcError("Không có đơn vị nào phải nộp báo cáo trong phần danh sách đã chọn.")
    return zipped(period, "bieu-mau.zip", under, fill)


@bp.post("/periods/<code>/send/drafts")
@flashing("send.page")
def drafts_zip(code: str):
    """The `.eml` drafts (and the templates) `distribute` writes, without SMTP, one zip."""
    period, values, roster = _posted(code)
    under = _under(roster, values)

    def fill(folder):
        _something(distribute(roster, period, folder, workspace().spec, unit_code=under, **_letter(values, True)))
    return zipped(period, "thu-nhap.zip", under, fill)


@bp.post("/periods/<code>/send/test")
@flashing("send.page")
def test_send(code: str):
    """One unit's real message, sent to the address to try instead of the unit's (nothing recorded)."""
    period, values, roster = _posted(code)
    to = values["test_to"].strip()
    if not is_address(to):
        raise CchcError(f"Địa chỉ gửi thử «{to}» không hợp lệ: hãy nhập một địa chỉ thư, ví dụ "
                        "ten@example.gov.vn.")
    units = roster.reporting_units(_under(roster, values))
    if not units:
        raise CchcError("Không có đơn vị nào phải nộp báo cáo trong phần danh sách đã chọn.")
    unit = replace(units[0], email=to)
    parent = roster.get(unit.parent) if unit.parent else None
    one = Roster({u.code: u for u in (parent, unit) if u is not None}, [], roster.source, roster.levels)
    smtp = smtp_settings(values, request.form.get("smtp_password", ""))
    with tempfile.TemporaryDirectory(prefix="cchc-thu-thu-") as tmp:  # its own log: never the real one
        result = distribute(one, period, Path(tmp), workspace().spec, unit_code=parent.code if parent else None,
                            smtp=smtp, **_letter(values, True))
    _logged_in(smtp)
    if result.sent:
        flash(f"Đã gửi thư thử đến {to}: đúng thư mà {unit.code} {unit.name} sẽ nhận, kèm biểu mẫu của đơn vị "
              "đó. Hãy mở hộp thư để xem.", "ok")
    else:
        flash(f"Gửi thử không được: {result.failed[0].detail if result.failed else 'không rõ lý do'}.", "error")
    return redirect(url_for("send.page", code=period.code))


@bp.post("/periods/<code>/send")
@flashing("send.page")
def send_all(code: str):
    """Send every unit its template through SMTP, each once (the outbox's send log)."""
    period, values, roster = _posted(code)
    smtp = smtp_settings(values, request.form.get("smtp_password", ""))
    result = distribute(roster, period, outbox(period), workspace().spec, unit_code=_under(roster, values),
                        smtp=smtp, **_letter(values, True))
    _sent(period, "bieu-mau", result, smtp)
    return _page(period, values, result)


@bp.post("/send/forget")
def forget():
    """Forget every SMTP password this server holds."""
    _passwords().clear()
    flash("Đã quên mật khẩu máy chủ thư: lần gửi sau cần nhập lại.", "ok")
    try:
        return redirect(url_for("send.page", code=parse_period(request.form.get("period", "")).code))
    except CchcError:  # no period, or not one: back to Kỳ báo cáo
        return redirect(url_for("pages.home"))


@bp.get("/periods/<code>/units/<unit>/template.xlsx")
def unit_template(code: str, unit: str):
    """One unit's template (for a unit without email, to deliver by hand)."""
    from cchc_excel.template.build import template_bytes, template_filename

    period = period_or_404(code)
    roster = workspace().roster()
    found = roster.get(unit) if roster is not None else None
    if found is None:
        abort(404, f"Không có đơn vị mã {unit} trong danh sách đơn vị.")
    data = template_bytes(workspace().spec, level=found.level, unit=found, period=period)  # one: no base to copy
    return attachment(data, XLSX, template_filename(found, period))


# ---------------------------------------------------------------------------------------- Tình hình

@bp.post("/periods/<code>/remind/<any(drafts, send):how>")
@flashing("pages.status")
def reminders(code: str, how: str):
    """Reminders to the units still missing (`remind`): their drafts as a zip, or sent."""
    period = period_or_404(code)
    roster = _roster()
    missing = [u.code for u in views.missing_units(workspace(), period, _under(roster, request.form))]
    if not missing:
        raise CchcError("Không còn đơn vị nào chưa nộp báo cáo kỳ này: không cần thư nhắc.")
    values = {**_saved(), "deadline": request.form.get("deadline", "")}

    def run(folder, smtp):
        return remind(roster, period, folder, missing, workspace().spec, smtp=smtp, **_letter(values))
    return _drafts_or_send(period, how, values, run, "nhac-nop", "thu-nhac.zip")


@bp.post("/periods/<code>/feedback/<any(drafts, send):how>")
@flashing("pages.status")
def feedbacks(code: str, how: str):
    """Feedback to the units whose return has errors (`send_feedback`), with their feedback workbooks
    built from the workspace's check results: drafts as a zip, or sent."""
    period = period_or_404(code)
    roster = _roster()
    values = {**_saved(), "deadline": request.form.get("deadline", "")}
    with tempfile.TemporaryDirectory(prefix="cchc-phan-hoi-") as books:
        if not views.write_feedback_books(workspace(), period, Path(books), _under(roster, request.form)):
            raise CchcError("Không có đơn vị nào có báo cáo cần sửa (có lỗi) trong kỳ này.")

        def run(folder, smtp):
            return send_feedback(roster, period, books, folder, workspace().spec, smtp=smtp, **_letter(values))
        return _drafts_or_send(period, how, values, run, "phan-hoi", "thu-phan-hoi.zip")


def _drafts_or_send(period, how: str, values: dict, run, kind: str, zip_name: str):
    """`run(outbox, smtp)` into a temporary outbox for the drafts' zip, or into the workspace's to send."""
    if how == "drafts":
        return zipped(period, zip_name, None, lambda folder: _something(run(folder, None)), (".eml",))
    smtp = smtp_settings(values)
    result = run(outbox(period), smtp)
    _sent(period, kind, result, smtp)
    return render_template("send_done.html", period=period, result=result, kind=kind)
