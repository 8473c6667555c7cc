"""The command line as a whole: Vietnamese help with no English of click's left, commands in the order of
the quarter, loaded only when they run, options named the same way everywhere, and the library policy the
commands call (which file -o names, which unit --under names, where the SMTP password comes from)."""

import os
import re
import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from cchc_excel.cli import COMMANDS, cli, vietnamese
from conftest import ROOT

QUARTER = ["template", "distribute", "collect", "check", "aggregate", "serve", "report"]
# What click writes in English when nobody translates it: usage pieces, type names, section titles, notes.
ENGLISH = re.compile(r"\[OPTIONS\]|\bCOMMAND\b|\[ARGS\]|\bTEXT\b|\bINTEGER\b|\bFLOAT\b|\bRANGE\b|\bPATHS?\b|"
                     r"\bFILE\b|\bFILENAME\b|\bDIRECTORY\b|\bBOOLEAN\b|\bSOURCES?\b|\bUsage\b|\bOptions\b|"
                     r"\bCommands\b|\brequired\b|\bdefault:|\benv var\b|x[<>]=?\d")
CLICK_TYPE_NAMES = {"TEXT", "INTEGER", "FLOAT", "INTEGER RANGE", "FLOAT RANGE", "PATH", "FILE", "DIRECTORY",
                    "FILENAME", "BOOLEAN", "CHOICE"}


def helps():
    yield "cchc", CliRunner().invoke(cli, ["--help"])
    for name in QUARTER:
        yield name, CliRunner().invoke(cli, [name, "--help"])


@pytest.mark.parametrize("name, result", list(helps()), ids=["cchc", *QUARTER])
def test_help_has_no_english_of_click(name, result):
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Cách dùng: cchc")
    assert ENGLISH.findall(result.output) == []
    assert "Tùy chọn:" in result.output and "Ví dụ:" in result.output


def test_every_metavar_is_vietnamese_or_an_example():
    for name in QUARTER:
        command = cli.get_command(None, name)
        ctx = click.Context(command, info_name=name)
        for param in command.params:
            if isinstance(param, click.Option) and (param.is_flag or param.hidden):
                continue
            metavar = param.make_metavar(ctx)
            assert metavar.strip("[].").upper() not in CLICK_TYPE_NAMES, (name, param.name, metavar)


def test_required_defaults_and_ranges_are_said_in_vietnamese():
    distribute = CliRunner().invoke(cli, ["distribute", "--help"]).output
    assert "[bắt buộc]" in distribute and "[từ 1 đến 65535]" in distribute
    assert "[từ 1 trở lên]" in CliRunner().invoke(cli, ["check", "--help"]).output
    collect = " ".join(CliRunner().invoke(cli, ["collect", "--help"]).output.split())
    assert "[mặc định: 25.0; từ 0.1 trở lên]" in collect
    assert vietnamese.describe_range(click.FloatRange(0, 100, min_open=True)) == "lớn hơn 0 đến 100"
    assert vietnamese.describe_range(click.IntRange(max=9)) == "9 trở xuống"


def test_commands_are_listed_in_the_order_of_the_quarter():
    assert cli.list_commands(None) == QUARTER
    listed = re.findall(r"^  ([a-z]+) ", CliRunner().invoke(cli, ["--help"]).output, flags=re.M)
    assert listed == QUARTER


def test_the_group_lists_each_command_by_the_first_line_of_its_own_help():
    for name, (_, summary) in COMMANDS.items():
        assert cli.get_command(None, name).help.splitlines()[0] == summary


def test_every_docstring_ends_with_an_example():
    for name in QUARTER:
        text = cli.get_command(None, name).help
        example = text[text.rindex("Ví dụ:"):]
        lines = [line.strip() for line in example.splitlines()[1:] if line.strip()]
        assert lines and lines[0].startswith(f"cchc {name} "), name
        assert all(line.startswith(("cchc ", "export ", "--")) for line in lines), (name, lines)


def test_a_mistyped_command_gets_a_suggestion():
    result = CliRunner().invoke(cli, ["agregate"])
    assert result.exit_code == 2 and "Có phải là 'aggregate'?" in result.output


def test_cchc_help_imports_no_command_module_and_no_heavy_library():
    code = ("import sys\n"
            "from cchc_excel.cli import main\n"
            "sys.argv = ['cchc', '--help']\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "loaded = [m for m in sys.modules if m.startswith(('cchc_excel.cli.', 'xlsxwriter', 'pandas', "
            "'python_calamine', 'openpyxl', 'cchc_excel.merge', 'cchc_excel.check'))]\n"
            "print('LOADED', sorted(loaded))\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True).stdout
    assert "Lệnh:" in out
    assert out.splitlines()[-1] == "LOADED ['cchc_excel.cli.vietnamese']"


def test_options_are_named_the_same_way_in_every_command():
    def options(name):
        return {opt: param for param in cli.get_command(None, name).params if not getattr(param, "hidden", False)
                for opt in param.opts}

    for name in [n for n in QUARTER[1:] if n != "serve"]:  # not template (one line), nor serve (a server)
        json_option = options(name)["--json"]
        assert json_option.is_flag and "ra đầu ra chuẩn (stdout) dưới dạng một tài liệu JSON" in json_option.help
    assert "--under" in options("aggregate") and "--under" in options("distribute")
    assert "--unit" in options("template") and "--unit" in options("check")
    assert "--sheet-password" in options("template") and "--sheet-password" in options("distribute")
    for name in ("template", "distribute", "check", "aggregate"):
        assert {"--spec", "--roster", "--period"} <= set(options(name))
        assert "--unit-code" not in options(name) and "--password" not in options(name)


def test_old_spellings_still_work(tmp_path):
    out = tmp_path / "a.xlsx"
    result = CliRunner().invoke(cli, ["template", "--level", "xa", "--unit-code", "X1", "--unit-name", "Xã A",
                                      "--password", "mk", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert result.output == f"Đã tạo biểu mẫu {out} (UBND cấp xã, Xã A).\n"
    moved = CliRunner().invoke(cli, ["aggregate", str(tmp_path), "-o", str(tmp_path / "t.xlsx"), "--unit", "HN"])
    assert moved.exit_code == 2 and "cần --roster để biết các đơn vị trực thuộc." in moved.output


def test_a_bad_option_value_is_a_usage_error_naming_the_option():
    result = CliRunner().invoke(cli, ["template", "--level", "xa", "--period", "Quý 5/2023", "-o", "x.xlsx"])
    assert result.exit_code == 2
    assert "Lỗi: Giá trị không hợp lệ cho '--period': Không hiểu kỳ báo cáo 'Quý 5/2023'" in result.output


# ------------------------------------------------------------------ the library policy the commands call

def test_template_path_names_the_file_in_a_folder(tmp_path):
    from cchc_excel.core.periods import parse_period
    from cchc_excel.core.roster import Unit
    from cchc_excel.spec.loader import load_spec
    from cchc_excel.template.build import template_path

    spec, q2 = load_spec(), parse_period("2023-Q2")
    ward = Unit("22240", "UBND phường Tam Quan Bắc", "xa")
    assert template_path(tmp_path / "t.xlsx", spec, "xa", ward, q2) == tmp_path / "t.xlsx"
    assert template_path(tmp_path, spec, "xa", ward, q2) == tmp_path / "22240_phuong-tam-quan-bac_2023-Q2.xlsx"
    assert template_path("moi/", spec, "huyen") == ROOT.__class__("moi/cv371-2022_huyen.xlsx")
    assert template_path(tmp_path, spec, "xa", None, q2) == tmp_path / "cv371-2022_xa_2023-Q2.xlsx"
    assert template_path(tmp_path, spec, "xa", Unit("", "Xã A", "xa"), q2) == tmp_path / "cv371-2022_xa_2023-Q2.xlsx"


def test_find_unit_names_the_roster():
    from cchc_excel.core.roster import Roster, Unit, find_unit
    from cchc_excel.errors import RosterError

    roster = Roster(units={"HN": Unit("HN", "Thị xã Hoài Nhơn", "huyen")}, source="don-vi.csv")
    assert find_unit(roster, "HN").name == "Thị xã Hoài Nhơn"
    with pytest.raises(RosterError, match=r"^không có đơn vị mã 'XX' trong don-vi.csv.$"):
        find_unit(roster, "XX")


def test_smtp_password_comes_from_the_environment_only():
    from cchc_excel.errors import CchcError
    from cchc_excel.mail.smtp import SmtpSettings

    settings = SmtpSettings.from_environment("mail.example.vn", 587, "noivu", "starttls",
                                             environ={"CCHC_SMTP_PASSWORD": "bí mật"})
    assert settings.password == "bí mật" and not settings.password_in_clear
    assert SmtpSettings.from_environment("127.0.0.1", None, None, environ={}).password is None
    assert SmtpSettings("mail.example.vn", user="noivu", password="x").password_in_clear
    assert not SmtpSettings("localhost", user="noivu", password="x").password_in_clear
    with pytest.raises(CchcError, match="hãy đặt biến môi trường CCHC_SMTP_PASSWORD"):
        SmtpSettings.from_environment("mail.example.vn", 25, "noivu", environ={})
