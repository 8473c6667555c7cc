"""The Flask application: the workspace, the safety checks every request passes, and Vietnamese errors.

Safe by default: only the served host names are answered (a DNS-rebinding page names its own), every
state-changing request must come from this origin (`Origin`, else `Referer`), forms carry a CSRF token,
uploads are bounded, and with a password every request asks for it (HTTP basic).
"""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import urlsplit

from flask import Flask, abort, jsonify, make_response, render_template, request, session
from werkzeug.exceptions import HTTPException

from cchc_excel.errors import CchcError
from cchc_excel.workspace.space import Workspace

MAX_FILE = 25 * 1024 * 1024
MAX_REQUEST = 100 * 1024 * 1024
LOOPBACK = ("127.0.0.1", "localhost", "::1")
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")

MESSAGES = {
    400: "Yêu cầu không hợp lệ.",
    401: "Cần mật khẩu để mở trang này.",
    403: "Yêu cầu bị từ chối.",
    404: "Không tìm thấy trang hoặc dữ liệu yêu cầu.",
    405: "Phương thức không được hỗ trợ ở địa chỉ này.",
    413: "Tệp tải lên quá lớn: mỗi tệp tối đa 25 MB, mỗi lần gửi tối đa 100 MB.",
    500: "Đã có lỗi trong chương trình; dữ liệu đã nhận vẫn được giữ. Hãy thử lại.",
}


def create_app(workspace_dir, password: str | None = None, *, hosts=(), max_file: int = MAX_FILE,
               max_request: int = MAX_REQUEST) -> Flask:
    """The application over the workspace in `workspace_dir`; `hosts`: host names served besides loopback."""
    app = Flask(__name__)
    app.config.update(SECRET_KEY=secrets.token_bytes(32), MAX_CONTENT_LENGTH=max_request, MAX_FILE=max_file,
                      PASSWORD=password or None, HOSTS={h.lower().strip("[]") for h in (*LOOPBACK, *hosts)},
                      SESSION_COOKIE_SAMESITE="Strict", SESSION_COOKIE_HTTPONLY=True)
    app.extensions["cchc_workspace"] = Workspace(workspace_dir)
    app.json.ensure_ascii = False  # Vietnamese stays readable in the API's JSON
    app.before_request(_guard)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(CchcError, _library_error)
    app.register_error_handler(Exception, _unexpected)
    app.jinja_env.globals.update(csrf_token=csrf_token)
    from cchc_excel.web import api, pages, send

    app.register_blueprint(api.bp)
    app.register_blueprint(pages.bp)
    app.register_blueprint(send.bp)
    return app


def workspace() -> Workspace:
    from flask import current_app

    return current_app.extensions["cchc_workspace"]


def csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


def wants_json() -> bool:
    return request.path.startswith("/api/")


def _guard():
    from flask import current_app as app

    if _host_name(request.host) not in app.config["HOSTS"]:
        abort(400, "Tên máy chủ trong yêu cầu không phải địa chỉ của trang này.")
    password = app.config["PASSWORD"]
    if password:
        given = request.authorization.password if request.authorization else ""
        if not hmac.compare_digest((given or "").encode(), password.encode()):
            abort(401)
    if request.method in SAFE_METHODS:
        return
    if not _same_origin():
        abort(403, "Yêu cầu đến từ một trang khác; trang này chỉ nhận yêu cầu từ chính nó.")
    if not wants_json():
        token = request.form.get("csrf", "")
        if not token or not hmac.compare_digest(token, session.get("csrf", "")):
            abort(403, "Biểu mẫu đã hết hạn hoặc không đến từ trang này; hãy tải lại trang rồi làm lại.")


def _host_name(host: str) -> str:
    return (urlsplit(f"//{host}").hostname or "").lower()


def _same_origin() -> bool:
    """The `Origin` (else the `Referer`) names this server; a script sending neither is not a browser page."""
    here = request.host_url.rstrip("/")
    origin = request.headers.get("Origin")
    if origin is not None:
        return origin == here
    referer = request.headers.get("Referer")
    if referer is not None:
        return referer == here or referer.startswith(here + "/")
    return wants_json()


def _error(code: int, message: str):
    if wants_json():
        response = jsonify({"error": message, "status": code})
    else:
        response = make_response(render_template("error.html", code=code, message=message))
    response.status_code = code
    if code == 401:
        response.headers["WWW-Authenticate"] = 'Basic realm="cchc", charset="UTF-8"'
    return response


def _http_error(e: HTTPException):
    code = e.code or 500
    default = e.description if e.description and e.description != type(e).description else ""
    return _error(code, default or MESSAGES.get(code, MESSAGES[400]))


def _library_error(e: CchcError):
    return _error(400, str(e))


def _unexpected(e: Exception):
    from flask import current_app

    current_app.logger.exception("unexpected error")
    return _error(500, MESSAGES[500])


def read_uploads(field: str) -> list[tuple[str, bytes]]:
    """[(original name, bytes)] of the multipart field; a file over the limit is a 413. The names are only
    names: `Workspace` keeps them as text (`safe_name`), never as a path."""
    from flask import current_app

    out = []
    for f in request.files.getlist(field):
        if not f or not f.filename:
            continue
        data = f.read(current_app.config["MAX_FILE"] + 1)
        if len(data) > current_app.config["MAX_FILE"]:
            abort(413)
        out.append((f.filename, data))
    return out


ALL_UNITS = "*"  # `?unit=*`: the whole roster, whatever the workspace's own unit


def unit_arg() -> str | None:
    """The subtree a request asks for: `?unit=CODE`; `?unit=*` the whole roster; by default the
    workspace's own unit (`Workspace.own_unit`)."""
    return scope(request.args.get("unit", ""))


def scope(unit: str) -> str | None:
    """The subtree named by a query or form field: a unit's code, `*` for the whole roster (None), or
    nothing for the workspace's own unit."""
    unit = unit.strip()
    if unit == ALL_UNITS:
        return None
    return unit or workspace().own_unit()


def from_this_computer() -> bool:
    """The request comes from a browser on the server's own computer (a loopback address)."""
    import ipaddress

    try:
        address = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)  # ::ffff:127.0.0.1 from a dual-stack socket
    return address.is_loopback or bool(mapped and mapped.is_loopback)


def period_or_404(code: str):
    from cchc_excel.core.periods import parse_period

    try:
        return parse_period(code)
    except (CchcError, ValueError):
        abort(404, f"Kỳ báo cáo không hợp lệ: {code!r} (ví dụ đúng: 2023-Q2).")
