"""The SMTP side of `distribute`: one connection for a batch, reopened when the server drops it, and
errors told in Vietnamese. A message is never sent twice: when the connection is lost after the message
itself went out, that unit is reported as "may have arrived" instead of being retried.
"""

from __future__ import annotations

import ipaddress
import os
import smtplib
import socket
import ssl
from dataclasses import dataclass, field

from cchc_excel.core.text import clean_text
from cchc_excel.errors import CchcError

PASSWORD_ENV = "CCHC_SMTP_PASSWORD"


@dataclass(frozen=True)
class SmtpSettings:
    """How to reach the mail server. `security` is "none", "starttls" or "ssl"."""

    host: str
    port: int | None = None
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    security: str = "none"
    timeout: float = 60.0

    @property
    def effective_port(self) -> int:
        return self.port or {"ssl": 465, "starttls": 587}.get(self.security, 25)

    @classmethod
    def from_environment(cls, host: str, port: int | None = None, user: str | None = None,
                         security: str = "none", environ=None) -> "SmtpSettings":
        """Settings whose password (for `user`) is read from the environment variable `PASSWORD_ENV`, never
        from a command line, where other users of the machine could read it.

        Raises:
            CchcError: `user` is given and the variable is not set.
        """
        password = (os.environ if environ is None else environ).get(PASSWORD_ENV) if user else None
        settings = cls(host, port, user, password, security)
        settings.require_password()
        return settings

    def require_password(self) -> None:
        """Raise CchcError when a login is asked for without its password."""
        if self.user and not self.password:
            raise CchcError(f"Thiếu mật khẩu máy chủ thư: hãy đặt biến môi trường {PASSWORD_ENV} "
                            f"(mật khẩu của {self.user}). Chưa gửi thư nào.")

    @property
    def password_in_clear(self) -> bool:
        """Whether logging in would send the password unencrypted over a network (not to this machine)."""
        return bool(self.user) and self.security == "none" and not _is_loopback(self.host)


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host.lower() == "localhost"




def error_text(e: BaseException) -> str:
    if isinstance(e, _MaybeSent):
        return (f"mất kết nối sau khi đã gửi nội dung thư ({error_text(e.__cause__)}): thư có thể đã đến, "
                f"hỏi lại đơn vị trước khi gửi lại")
    if isinstance(e, smtplib.SMTPRecipientsRefused):
        return "máy chủ từ chối người nhận: " + "; ".join(
            f"{a} ({code} {server_text(msg)})" for a, (code, msg) in e.recipients.items())
    if isinstance(e, smtplib.SMTPResponseException):
        return f"máy chủ trả lời {e.smtp_code} {server_text(e.smtp_error)}"
    if isinstance(e, smtplib.SMTPServerDisconnected):
        return "máy chủ ngắt kết nối"
    if isinstance(e, smtplib.SMTPNotSupportedError):
        what = "STARTTLS (bỏ --starttls hoặc dùng --ssl)" if "STARTTLS" in str(e) else "đăng nhập (AUTH)"
        return f"máy chủ không hỗ trợ {what}"
    if isinstance(e, (socket.timeout, TimeoutError)):
        return "hết thời gian chờ máy chủ"
    if isinstance(e, OSError):
        return f"lỗi kết nối ({e.strerror or e})"
    return f"{type(e).__name__}: {e}"


def server_text(text) -> str:
    return clean_text(text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text))


class _MaybeSent(smtplib.SMTPException):
    """The connection was lost after the message itself went out: it may have arrived."""


def _dropped(e: BaseException) -> bool:
    """Whether the error means the connection is gone (retry once on a new one)."""
    if isinstance(e, smtplib.SMTPServerDisconnected):
        return True
    if isinstance(e, smtplib.SMTPRecipientsRefused):
        return any(code == 421 for code, _ in e.recipients.values())
    if isinstance(e, smtplib.SMTPResponseException):
        return e.smtp_code == 421
    return isinstance(e, OSError) and not isinstance(e, smtplib.SMTPException)


class _DataSent:
    """An SMTP connection that knows whether the message itself has started to go out (DATA)."""

    data_sent = False

    def data(self, msg):
        self.data_sent = True
        return super().data(msg)


class _SMTP(_DataSent, smtplib.SMTP):
    pass


class _SMTP_SSL(_DataSent, smtplib.SMTP_SSL):
    pass


class Mailer:
    """One SMTP connection, opened lazily and reopened when the server drops it."""

    def __init__(self, settings: SmtpSettings):
        self.settings, self.conn = settings, None

    def connect(self) -> None:
        s = self.settings
        where = f"{s.host}:{s.effective_port}"
        conn = None
        try:
            context = ssl.create_default_context()
            if s.security == "ssl":
                conn = _SMTP_SSL(s.host, s.effective_port, timeout=s.timeout, context=context)
            else:
                conn = _SMTP(s.host, s.effective_port, timeout=s.timeout)
                if s.security == "starttls":
                    conn.starttls(context=context)
            if s.user:
                conn.login(s.user, s.password or "")
        except smtplib.SMTPAuthenticationError as e:
            self.conn = conn
            self.close()
            raise CchcError(f"Máy chủ thư {where} không chấp nhận tên đăng nhập hoặc mật khẩu "
                            f"({e.smtp_code} {server_text(e.smtp_error)}).") from e
        except (smtplib.SMTPException, OSError) as e:  # ssl.SSLError is an OSError
            self.conn = conn
            self.close()
            raise CchcError(f"Không kết nối được máy chủ thư {where}: {error_text(e)}.") from e
        self.conn = conn

    def send(self, from_addr: str, to: list[str], data: bytes) -> dict:
        """Refused recipients ({} when all accepted); reconnects once if the connection was dropped
        before the message went out.

        Raises:
            _MaybeSent: the connection was lost once the message had gone out (no retry: that could
                deliver it twice).
        """
        for retry in (False, True):
            if self.conn is None:
                self.connect()
            self.conn.data_sent = False
            try:
                return self.conn.sendmail(from_addr, to, data)
            except (smtplib.SMTPException, OSError) as e:
                # A reply refusing the data means it was not taken; silence after it is ambiguous.
                uncertain = self.conn.data_sent and not isinstance(e, smtplib.SMTPResponseException)
                if _dropped(e):
                    self.close()
                if uncertain:
                    raise _MaybeSent() from e
                if retry or not _dropped(e):
                    raise
        return {}  # not reached

    def close(self) -> None:
        conn, self.conn = self.conn, None
        if conn is not None:
            try:
                conn.quit()
            except Exception:  # the connection is already dead: just close the socket
                conn.close()
