"""What the command modules share: the options every stage of the quarter names the same way, and the one
way a library error becomes a click error."""

from __future__ import annotations

import contextlib
import functools
import json

import click

from cchc_excel.cli import vietnamese
from cchc_excel.core.periods import parse_period
from cchc_excel.core.roster import Roster, find_unit, load_roster
from cchc_excel.errors import CchcError
from cchc_excel.spec.loader import load_spec

command = functools.partial(click.command, cls=vietnamese.Command)
option = functools.partial(click.option, cls=vietnamese.Option)
argument = functools.partial(click.argument, cls=vietnamese.Argument)


@contextlib.contextmanager
def library_errors(param=None, ctx=None, *, hint: str | None = None):
    """Turn a library error into a click error: about an option (`param`, or `hint` such as "--under":
    a usage error, exit status 2) or, with neither, `Lỗi: ...` and exit status 1."""
    try:
        yield
    except CchcError as e:
        if param is None and hint is None:
            raise click.ClickException(str(e)) from e
        raise click.BadParameter(str(e), ctx=ctx, param=param, param_hint=hint) from e


class Parsed(click.ParamType):
    """An option value read by a library function (`load_spec`, `load_roster`, `parse_period`, ...): its
    error is a usage error about that option."""

    def __init__(self, parse, metavar: str, *, with_context: bool = False):
        self.parse = parse
        self.metavar = metavar
        self.name = metavar.lower()
        self.with_context = with_context  # parse(value, ctx): it needs options read before it

    def get_metavar(self, param, ctx) -> str:
        return self.metavar

    def convert(self, value, param, ctx):
        if not isinstance(value, str):  # already converted (a default, or a second pass)
            return value
        with library_errors(param, ctx):
            return self.parse(value, ctx) if self.with_context else self.parse(value)


def _load_roster(value: str, ctx) -> Roster:
    """The roster, its `cap` column checked against the levels of the spec in use (`--spec` is eager, so
    it is read before this)."""
    spec = ctx.params.get("spec") if ctx is not None else None
    return load_roster(value, levels=(spec or load_spec()).levels)


ROSTER_HELP = "Danh sách đơn vị (CSV hoặc XLSX, các cột ma_don_vi, ten_don_vi, cap, don_vi_cha, email)"
PERIOD_HELP = 'Kỳ báo cáo: 2023-Q2, 2023-H1, 2023-9M, 2023 hoặc "Quý II/2023"'

spec_option = option(
    "--spec", type=Parsed(load_spec, "BỘ_BIỂU_MẪU"), default=None, is_eager=True,
    help="Bộ biểu mẫu: mã có sẵn hoặc đường dẫn tệp YAML (mặc định: cv371-2022).")
jobs_option = option(
    "--jobs", "-j", type=click.IntRange(min=1), default=None, metavar="SỐ",
    help="Số tiến trình đọc và kiểm tra tệp song song (mặc định: số nhân CPU).")


def roster_option(more: str = "", required: bool = False):
    """`--roster TỆP`, loaded (a `Roster`); `more` ends its help."""
    return option("--roster", type=Parsed(_load_roster, "TỆP", with_context=True), required=required,
                  help=f"{ROSTER_HELP}{'; ' + more if more else '.'}")


def period_option(more: str = "", required: bool = False):
    """`--period KỲ`, parsed (a `Period`); `more` ends its help."""
    return option("--period", type=Parsed(parse_period, "KỲ"), required=required,
                  help=f"{PERIOD_HELP}{'; ' + more if more else '.'}")


def unit_option(help: str):
    """`--unit MÃ`: the unit that sends the return (whose template it is, whose file it is)."""
    return option("--unit", "unit_code", metavar="MÃ", help=help)


def under_option(help: str):
    """`--under MÃ`: the unit whose subtree of the roster the command works on."""
    return option("--under", metavar="MÃ", help=help)


def sheet_password_option(help: str = "Mật khẩu bảo vệ trang tính của biểu mẫu (không bắt buộc; chỉ để tránh "
                                      "sửa nhầm, không phải để bảo mật)."):
    return option("--sheet-password", metavar="MẬT_KHẨU", help=help)


def json_option(what: str):
    """`--json`, the same in every command: `what` as one JSON document on standard output."""
    return option("--json", "as_json", is_flag=True,
                  help=f"In {what} ra đầu ra chuẩn (stdout) dưới dạng một tài liệu JSON, thay cho bảng "
                       f"chữ; các thông báo khác ra đầu ra lỗi (stderr).")


def old_spelling(old: str, dest: str):
    """Keep a renamed option's old spelling `old` working, hidden from the help: its value goes to `dest`.

    A separate hidden option merged here, not a second option of the same name: click before 8.2 lets the
    last one processed win, even when it was not given."""
    hidden = "old_" + dest

    def decorate(f):
        @functools.wraps(f)
        def run(*args, **kwargs):
            value = kwargs.pop(hidden)
            if value is not None and kwargs.get(dest) is None:
                kwargs[dest] = value
            return f(*args, **kwargs)

        run.__click_params__ = list(getattr(f, "__click_params__", []))
        return option(old, hidden, hidden=True)(run)

    return decorate


def unit_in(roster, code: str, name: str):
    """`find_unit`, for option `name`: an unknown code is a usage error about it."""
    with library_errors(hint=name):
        return find_unit(roster, code)


def echo_json(document) -> None:
    click.echo(json.dumps(document, ensure_ascii=False, indent=2))


def echo_json_list(key: str, items, rest) -> None:
    """Print `{key: [items...], **rest()}` exactly as `echo_json` would, each item written as it comes
    from the iterable `items`, so that only one is held at a time; `rest` is called after the last."""
    def dumps(value, indent: str) -> str:
        return json.dumps(value, ensure_ascii=False, indent=2).replace("\n", "\n" + indent)

    opened = False
    for item in items:
        click.echo(("," if opened else "{\n  " + json.dumps(key, ensure_ascii=False) + ": [") + "\n    " + dumps(item, "    "),
                   nl=False)
        opened = True
    click.echo("\n  ]" if opened else "{\n  " + json.dumps(key, ensure_ascii=False) + ": []", nl=False)
    for name, value in rest().items():
        click.echo(",\n  " + json.dumps(name, ensure_ascii=False) + ": " + dumps(value, "  "), nl=False)
    click.echo("\n}")


def echo_warnings(warnings) -> None:
    for warning in warnings:
        click.echo(f"Cảnh báo: {warning}", err=True)


class ProgressBar:
    """A one-line progress bar on a terminal: `Đang đọc [#####.....] 512/1000 tệp`."""

    WIDTH = 30

    def __init__(self, stream, label: str):
        self.stream = stream
        self.label = label
        self.shown = -1

    def __call__(self, done: int, total: int) -> None:
        filled = self.WIDTH * done // max(total, 1)
        if filled == self.shown and done != total:
            return
        self.shown = filled
        bar = "#" * filled + "." * (self.WIDTH - filled)
        self.stream.write(f"\r{self.label} [{bar}] {done}/{total} tệp")
        self.stream.flush()

    def clear(self) -> None:
        if self.shown >= 0:
            self.stream.write("\r\033[K")
            self.stream.flush()


def progress_bar(stream, label: str, show: bool = True) -> ProgressBar | None:
    """A `ProgressBar` when `stream` is a terminal (and `show`), else None."""
    return ProgressBar(stream, label) if show and stream.isatty() else None
