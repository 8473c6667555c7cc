"""Serving the application with waitress (pure Python, works on Windows)."""

from __future__ import annotations

from cchc_excel.web.app import LOOPBACK, create_app


def make_server(workspace_dir, host: str = "127.0.0.1", port: int = 8765, password: str | None = None):
    """A waitress server of the page (not yet running: `.run()`, stop with `.close()`); `port` 0 picks a
    free one (`.effective_port`). Another address than loopback needs a password.

    Raises:
        ValueError: `host` is not loopback and there is no password.
    """
    from waitress.server import create_server

    if host not in LOOPBACK and not password:
        raise ValueError(host)
    app = create_app(workspace_dir, password, hosts=() if host in LOOPBACK else (host,))
    return create_server(app, host=host, port=port, threads=4, ident="cchc")


def url_of(server) -> str:
    host = server.effective_host
    host = f"[{host}]" if ":" in host else host
    return f"http://{host}:{server.effective_port}/"


def stop(server) -> None:
    """Close the server and end its worker threads (`close` alone leaves waitress's task threads running)."""
    server.close()
    server.task_dispatcher.shutdown(cancel_pending=True, timeout=5)
