"""The public API of `cchc_excel`: the names `__all__` lists, resolved lazily where they are heavy."""

import json
import re
import os
import subprocess
import sys

import pytest

import cchc_excel
from cchc_excel import errors
from cchc_excel.check import feedback, report, run as check_run
from cchc_excel.core import periods, roster
from cchc_excel.mail import collect, distribute, smtp
from cchc_excel.merge import result, run as merge_run, workbook
from cchc_excel.read import reader
from cchc_excel.spec import loader, model
from cchc_excel.template import build
from conftest import ROOT

HEAVY = ("xlsxwriter", "pandas", "python_calamine", "email", "click")

HOMES = {
    "load_spec": loader, "parse_period": periods, "load_roster": roster, "write_template": build,
    "read_workbook": reader, "check_paths": check_run, "write_feedback": feedback,
    "aggregate_paths": merge_run, "write_merged_workbook": workbook, "distribute": distribute,
    "collect": collect, "CchcError": errors, "SpecError": errors, "RosterError": errors,
    "PeriodError": errors, "UnreadableFile": errors, "Period": periods, "Roster": roster, "Unit": roster,
    "FormSpec": model, "Indicator": model, "FileReport": report, "Report": report, "MergeResult": result,
    "SmtpSettings": smtp,
}


def _python(code: str) -> str:
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    return proc.stdout


def _heavy_loaded(code: str) -> list:
    return json.loads(_python(code + "\nimport json, sys\n"
                              f"print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r}))))"))


def test_import_is_light():
    assert _heavy_loaded("import cchc_excel") == []


def test_light_names_stay_light():
    assert _heavy_loaded("import cchc_excel\ncchc_excel.load_spec(); cchc_excel.parse_period('Quý II/2023')\n"
                         "cchc_excel.Issue, cchc_excel.Submission, cchc_excel.CchcError, dir(cchc_excel)") == []


def test_star_import_gives_every_name():
    names = json.loads(_python("from cchc_excel import *\nimport json\n"
                               "print(json.dumps(sorted(n for n in dir() if not n.startswith('_'))))"))
    assert set(cchc_excel.__all__) <= set(names)


def test_a_heavy_verb_is_imported_on_first_use():
    assert "xlsxwriter" in _heavy_loaded("import cchc_excel\ncchc_excel.write_template")
    assert "email" in _heavy_loaded("import cchc_excel\ncchc_excel.distribute")


@pytest.mark.parametrize("name", cchc_excel.__all__)
def test_every_public_name_is_the_one_of_its_module(name):
    value = getattr(cchc_excel, name)
    home = HOMES.get(name)
    if home is not None:
        assert value is getattr(home, name)
    assert name in dir(cchc_excel)


def test_all_lists_the_api():
    assert set(HOMES) <= set(cchc_excel.__all__)
    assert {"Issue", "Submission"} <= set(cchc_excel.__all__)
    assert len(cchc_excel.__all__) == len(set(cchc_excel.__all__))


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'write_templates'"):
        cchc_excel.write_templates  # noqa: B018
    assert not hasattr(cchc_excel, "nothing_here")


# --------------------------------------------------------------------------------------------- README

API_HEADING = "## Dùng như thư viện Python / Python API"


def _readme_blocks() -> tuple[str, str]:
    """The Python example of the README's API section, and the output it shows."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split(API_HEADING, 1)[1].split("\n## ", 1)[0]
    code = re.search(r"```python\n(.*?)```", section, flags=re.S).group(1)
    shown = re.search(r"It prints:\n\n```\n(.*?)```", section, flags=re.S).group(1)
    return code, shown


def test_readme_api_example_runs_and_prints_what_it_shows(tmp_path):
    code, shown = _readme_blocks()
    (tmp_path / "example.py").write_text(code, encoding="utf-8")
    proc = subprocess.run([sys.executable, "example.py"], cwd=tmp_path, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT), "PYTHONIOENCODING": "utf-8"})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == shown
    assert sorted(p.name for p in (tmp_path / "bieu-mau").iterdir()) == ["22240.xlsx", "22245.xlsx"]
    assert [p.name for p in (tmp_path / "phan-hoi").iterdir()] == ["22245_phan-hoi.xlsx"]
    merged = cchc_excel.read_workbook(tmp_path / "tong-hop_540_2023-Q2.xlsx")
    assert merged.values["BM3-3.1.1"] == 369 and merged.values["BM3-3.1.2"] == 369
