"""The `cchc` command line: parse, call one library function, print. Only this package imports click."""

import importlib
import sys

import click

from cchc_excel.cli import vietnamese
from cchc_excel.errors import CchcError

vietnamese.install()

# The commands in the order of the quarter: {name: (module, the first line of its help)}. A command's
# module is imported only when that command runs (or shows its own help), so that `cchc --help` and a
# mistyped command name cost no xlsxwriter, pandas or calamine. tests/test_cli_help.py keeps the lines here
# equal to the commands' docstrings.
COMMANDS = {
    "template": ("template_cmd", "Tạo biểu mẫu Excel thống kê CCHC đã khóa, sẵn sàng gửi cho đơn vị."),
    "distribute": ("mail_cmd", "Soạn và gửi biểu mẫu của kỳ báo cáo cho từng đơn vị qua email."),
    "collect": ("mail_cmd", "Lấy các tệp báo cáo (bảng tính) đính kèm trong thư đơn vị gửi về."),
    "check": ("check_cmd", "Kiểm tra các tệp báo cáo CCHC đơn vị gửi về."),
    "aggregate": ("aggregate_cmd", "Tổng hợp báo cáo CCHC của các đơn vị thành báo cáo của cấp trên."),
    "serve": ("serve_cmd", "Mở trang web cho cán bộ tiếp nhận, kiểm tra và tổng hợp báo cáo."),
    "report": ("report_cmd", "Soạn dự thảo báo cáo CCHC (Word) từ báo cáo số liệu của một đơn vị."),
}


class LazyGroup(vietnamese.Group):
    """A group that lists `COMMANDS` in their order and imports a command's module only to run it."""

    def list_commands(self, ctx) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx, name: str):
        if name not in COMMANDS:
            return None
        module = importlib.import_module(f"cchc_excel.cli.{COMMANDS[name][0]}")
        return getattr(module, name)

    def resolve_command(self, ctx, args):
        try:
            return super().resolve_command(ctx, args)
        except click.UsageError as e:  # click >= 8.4 suggests a name from `commands`, empty here
            if type(e).__name__ == "NoSuchCommand" and not e.possibilities:
                raise type(e)(e.command_name, possibilities=list(COMMANDS), ctx=ctx) from None
            raise

    def format_commands(self, ctx, formatter) -> None:
        with formatter.section(vietnamese.gettext("Commands")):
            formatter.write_dl([(name, summary) for name, (_, summary) in COMMANDS.items()])


@click.group(name="cchc", cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="cchc_excel")
def cli():
    """Thống kê cải cách hành chính (CCHC) định kỳ bằng Excel: tạo biểu mẫu, gửi cho đơn vị, nhận về,
    kiểm tra, tổng hợp.

    \b
    Ví dụ:
        cchc template --roster don-vi.csv --period 2023-Q2 -o bieu-mau/
        cchc check --help
    """


def main():
    """Entry point of the console script. A library error that a command let through still ends as one
    line, `Lỗi: ...`, with exit status 1 (the commands turn theirs into that with `common.library_errors`)."""
    try:
        cli(standalone_mode=True)
    except CchcError as e:  # click's standalone mode only handles its own exceptions
        error = click.ClickException(str(e))
        error.show()
        sys.exit(error.exit_code)
