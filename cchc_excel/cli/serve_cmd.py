"""`cchc serve`: the page for district staff, on this computer."""

from __future__ import annotations

import os
import webbrowser
from pathlib import Path

import click

from cchc_excel.cli.common import command, library_errors, option

PASSWORD_VARIABLE = "CCHC_SERVE_PASSWORD"


@command("serve")
@option("--workspace", "workspace_dir", type=click.Path(file_okay=False, path_type=Path),
        default=Path("cchc-du-lieu"), show_default=True, metavar="THƯ-MỤC",
        help="Thư mục làm việc của các kỳ báo cáo (tạo mới nếu chưa có).")
@option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True, help="Cổng của trang.")
@option("--host", default="127.0.0.1", show_default=True, metavar="ĐỊA-CHỈ",
        help=f"Địa chỉ lắng nghe; khác 127.0.0.1 thì phải đặt mật khẩu trong biến môi trường {PASSWORD_VARIABLE}.")
@option("--no-browser", is_flag=True, help="Không tự mở trình duyệt.")
def serve(workspace_dir, port, host, no_browser):
    """Mở trang web cho cán bộ tiếp nhận, kiểm tra và tổng hợp báo cáo.

    Trang chỉ mở trên máy này (http://127.0.0.1:8765/) trừ khi có --host; khi đó mọi trang đều hỏi mật khẩu
    lấy từ biến môi trường CCHC_SERVE_PASSWORD. Nhấn Ctrl+C để dừng.

    \b
    Ví dụ:
        cchc serve --workspace cchc-du-lieu
    """
    from cchc_excel.web.server import make_server, stop, url_of

    password = os.environ.get(PASSWORD_VARIABLE) or None
    try:
        with library_errors():
            server = make_server(workspace_dir, host, port, password)
    except ValueError:
        raise click.UsageError(f"--host {host}: cần đặt mật khẩu trong biến môi trường {PASSWORD_VARIABLE}.")
    except OSError as e:
        raise click.ClickException(f"Không mở được cổng {port} ({e.strerror or e}); thử --port khác.")
    url = url_of(server)
    click.echo(f"Trang đang chạy tại {url} (thư mục làm việc: {workspace_dir}). Nhấn Ctrl+C để dừng.")
    if not no_browser:
        webbrowser.open(url)
    try:
        server.run()
    except KeyboardInterrupt:
        click.echo("Đã dừng.")
    finally:
        stop(server)
