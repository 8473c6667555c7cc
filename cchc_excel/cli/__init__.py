"""The `cchc` command line: parse, call one library function, print. Only this package imports click."""

import sys

import click

from cchc_excel.cli import vietnamese
from cchc_excel.errors import CchcError

vietnamese.install()


@click.group(name="cchc", context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="cchc_excel")
def cli():
    """Thống kê cải cách hành chính (CCHC) định kỳ bằng Excel: tạo biểu mẫu, kiểm tra, tổng hợp, gửi nhận email."""


def main():
    """Entry point of the console script. A library error that a command let through still ends as one
    line, `Lỗi: ...`, with exit status 1 (the commands turn theirs into that with `common.library_errors`)."""
    try:
        cli(standalone_mode=True)
    except CchcError as e:  # click's standalone mode only handles its own exceptions
        error = click.ClickException(str(e))
        error.show()
        sys.exit(error.exit_code)


def _register():
    # Each command lives in its own module so that each can grow without crowding the others.
    import importlib

    for name in ("template_cmd", "check_cmd", "aggregate_cmd", "mail_cmd"):
        try:
            module = importlib.import_module(f"cchc_excel.cli.{name}")
        except ModuleNotFoundError as e:
            if e.name != f"cchc_excel.cli.{name}":
                raise
            continue
        for command in module.COMMANDS:
            cli.add_command(command)


_register()
