"""click's own words in Vietnamese: "Lỗi:", "Cách dùng:", "Thiếu tùy chọn", "[bắt buộc]", "TỆP", ...

click marks its messages for gettext (`from gettext import gettext as _` in each of its modules) but ships no
translations. Officials read these lines, so `install()` rebinds `_` and `ngettext` in click's modules to a
small catalogue. A message not in the catalogue (a newer click) stays in English: nothing breaks.

What click does not pass through gettext is rendered by the classes below: the `[OPTIONS]` and
`COMMAND [ARGS]...` of the usage line (`Command`, `Group`), the metavar click makes from a type's name
(`TEXT`, `INTEGER RANGE`, `PATH`: `Option`, `Argument`) and the range it appends to a help text (`x>=1`).
"""

from __future__ import annotations

import importlib

import click

CATALOGUE = {
    "Error: {message}": "Lỗi: {message}",
    "Usage:": "Cách dùng:",
    "Try '{command} {option}' for help.": "Xem '{command} {option}' để biết cách dùng.",
    "Options": "Tùy chọn",
    "Commands": "Lệnh",
    "Positional arguments": "Đối số",
    "Show this message and exit.": "Hiện hướng dẫn này rồi thoát.",
    "Show the version and exit.": "Hiện phiên bản rồi thoát.",
    "%(prog)s, version %(version)s": "%(prog)s, phiên bản %(version)s",
    "Aborted!": "Đã dừng.",
    "Invalid value for {param_hint}: {message}": "Giá trị không hợp lệ cho {param_hint}: {message}",
    "Invalid value: {message}": "Giá trị không hợp lệ: {message}",
    "Missing argument": "Thiếu đối số",
    "Missing option": "Thiếu tùy chọn",
    "Missing parameter": "Thiếu tham số",
    "Missing {param_type}": "Thiếu {param_type}",
    "Missing parameter: {param_name}": "Thiếu tham số: {param_name}",
    "Missing command.": "Thiếu tên lệnh.",
    "No such command {name!r}.": "Không có lệnh {name!r}.",
    "No such option: {name}": "Không có tùy chọn {name}.",
    "No such option {name!r}.": "Không có tùy chọn {name!r}.",
    "Option {name!r} does not take a value.": "Tùy chọn {name!r} không nhận giá trị.",
    "Option {name!r} requires an argument.": "Tùy chọn {name!r} cần một giá trị.",
    "Option {name!r} requires {nargs} arguments.": "Tùy chọn {name!r} cần {nargs} giá trị.",
    "Got unexpected extra argument ({args})": "Thừa đối số ({args})",
    "Got unexpected extra arguments ({args})": "Thừa các đối số ({args})",
    "Did you mean {possibility}?": "Có phải là {possibility}?",
    "(Did you mean one of: {possibilities}?)": "(Có phải là một trong: {possibilities}?)",
    "{value!r} is not {choice}.": "{value!r} không phải là {choice}.",
    "{value!r} is not one of {choices}.": "{value!r} không thuộc các giá trị {choices}.",
    "{value!r} is not a valid {number_type}.": "{value!r} không phải là số hợp lệ.",
    "{value} is not in the range {range}.": "{value} không nằm trong khoảng {range}.",
    "{value!r} is not a valid boolean. Recognized values: {states}":
        "{value!r} không phải là giá trị đúng/sai; các giá trị được nhận: {states}",
    # Path checks: `{name}` (file, directory, path) is left out, the file name says enough.
    "{name} {filename!r} does not exist.": "Không tìm thấy {filename!r}.",
    "{name} {filename!r} is a directory.": "{filename!r} là thư mục, không phải tệp.",
    "{name} {filename!r} is a file.": "{filename!r} là tệp, không phải thư mục.",
    "{name} {filename!r} is not readable.": "Không đọc được {filename!r}.",
    "{name} {filename!r} is not writable.": "Không ghi được vào {filename!r}.",
    "Could not open file {filename!r}: {message}": "Không mở được tệp {filename!r}: {message}",
    "default: {default}": "mặc định: {default}",
    "required": "bắt buộc",
    "env var: {var}": "biến môi trường: {var}",
    "(dynamic)": "(tùy lúc chạy)",
}

# click's type names (`ParamType.name`), which it upper-cases into a metavar when a parameter has none.
METAVARS = {"text": "CHỮ", "integer": "SỐ", "float": "SỐ", "integer range": "SỐ", "float range": "SỐ",
            "boolean": "CÓ|KHÔNG", "path": "ĐƯỜNG_DẪN", "file": "TỆP", "directory": "THƯ_MỤC",
            "filename": "TỆP", "uuid": "UUID", "datetime": "NGÀY_GIỜ", "choice": "GIÁ_TRỊ"}

_MODULES = ("click.core", "click.exceptions", "click.types", "click.parser", "click.formatting",
            "click.decorators", "click.termui", "click.utils")


def gettext(message: str) -> str:
    return CATALOGUE.get(message, message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return gettext(singular if n == 1 else plural)


def install() -> None:
    """Rebind click's `_` and `ngettext` to the catalogue; call before the commands are declared (some
    help texts are looked up when a decorator runs)."""
    for name in _MODULES:
        try:
            module = importlib.import_module(name)
        except ImportError:  # a click without that module
            continue
        if hasattr(module, "_"):
            module._ = gettext
        if hasattr(module, "ngettext"):
            module.ngettext = ngettext


def _type_metavar(param, ctx) -> str:
    name = param.type.get_metavar(param=param, ctx=ctx)
    return name or METAVARS.get(param.type.name, param.type.name.upper())


def describe_range(kind) -> str:
    """`từ 1 đến 65535`, `từ 1 trở lên`, `lớn hơn 0` for a click IntRange or FloatRange."""
    low = None if kind.min is None else f"{'lớn hơn' if kind.min_open else 'từ'} {kind.min}"
    if kind.max is None:
        return f"{low} trở lên" if not kind.min_open else low
    high = f"{'nhỏ hơn' if kind.max_open else 'đến'} {kind.max}"
    if low is None:
        return high if kind.max_open else f"{kind.max} trở xuống"
    return f"{low} {high}"


class Option(click.Option):
    """An option whose metavar and range note are Vietnamese when the declaration gives none."""

    def make_metavar(self, ctx) -> str:
        if self.metavar is not None:
            return self.metavar
        return _type_metavar(self, ctx) + ("..." if self.nargs != 1 else "")

    def get_help_extra(self, ctx):  # click >= 8.2; older ones keep `x>=1`
        extra = super().get_help_extra(ctx)
        if "range" in extra:
            extra["range"] = describe_range(self.type)
        return extra


class Argument(click.Argument):
    """A positional argument whose metavar is Vietnamese when the declaration gives none."""

    def make_metavar(self, ctx) -> str:
        if self.metavar is not None:
            return self.metavar
        return _type_metavar(self, ctx) + ("..." if self.nargs != 1 else "")


class Command(click.Command):
    """`Cách dùng: cchc check [TÙY_CHỌN] ĐƯỜNG_DẪN...` instead of `[OPTIONS]`."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("options_metavar", "[TÙY_CHỌN]")
        super().__init__(*args, **kwargs)


class Group(click.Group):
    """`Cách dùng: cchc [TÙY_CHỌN] LỆNH [ĐỐI_SỐ]...` instead of `[OPTIONS] COMMAND [ARGS]...`."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("options_metavar", "[TÙY_CHỌN]")
        kwargs.setdefault("subcommand_metavar", "LỆNH [ĐỐI_SỐ]...")
        super().__init__(*args, **kwargs)
