"""Every command has Vietnamese help with an example, and the README documents it."""

import re

import pytest
from click.testing import CliRunner

from cchc_excel.cli import cli
from conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", cli.list_commands(None))
def test_command_has_help_with_an_example_and_a_readme_section(name):
    result = CliRunner().invoke(cli, [name, "--help"])
    assert result.exit_code == 0
    assert "Ví dụ:" in result.output
    assert f"cchc {name}" in result.output
    assert f"`cchc {name}`" in README or f"## `cchc {name}`" in README


def test_readme_commands_are_real_commands():
    used = set(re.findall(r"^\s*cchc ([a-z]+)", README, flags=re.M))
    assert used <= set(cli.list_commands(None)), used - set(cli.list_commands(None))
    assert {"template", "check", "aggregate", "distribute", "collect"} <= used


def test_readme_set_up_commands_exist():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "make demo" in README and "make test" in README
    assert re.search(r"^demo:", makefile, flags=re.M) and re.search(r"^test:", makefile, flags=re.M)
    assert "make test" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_click_speaks_vietnamese():
    result = CliRunner().invoke(cli, ["check", "--jobs", "abc", "x"])
    assert result.exit_code == 2
    assert "Cách dùng: cchc check" in result.output
    assert "Lỗi: Giá trị không hợp lệ cho '--jobs' / '-j': 'abc' không phải là số hợp lệ." in result.output
    result = CliRunner().invoke(cli, ["chek"])
    assert "Lỗi: Không có lệnh 'chek'. Có phải là 'check'?" in result.output
