"""The CSV files we write (the tidy CSV of a merge, `manifest.csv`, `da-gui.csv`) hold text from the
outside (unit names, subjects, file names): opened in a spreadsheet with `,` or `;` as the separator, no
cell may become a formula, and reading the logs back gives the original text."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timezone

import openpyxl
import pytest

import lo
from cchc_excel.core.atomic import append_csv, csv_safe, csv_unsafe, read_csv_log
from cchc_excel.core.manifest import MANIFEST_NAME, SavedAttachment, read_manifest, write_manifest
from cchc_excel.merge.exports import write_csv
from cchc_excel.merge.run import merge_reports
from test_aggregate_merge import SPEC, report

HOSTILE = ["Xã E;=1+1;", "=2+2", "a,=3+3", "@SUM(4)", "-5+5", "+6", "b;+7", "c\t=8", "d|=9", 'e"=10',
           "f\n=11", "'=12", "'", "''-", "x;'y", "-5", "Phường Bồng Sơn", ""]


@pytest.mark.parametrize("value", HOSTILE)
def test_escape_is_undone(value):
    assert csv_unsafe(csv_safe(value)) == value


def test_escape_marks_every_cell_start():
    assert csv_safe("Xã E;=1+1;") == "Xã E;'=1+1;"
    assert csv_safe("=2+2") == "'=2+2" and csv_safe("'x") == "''x" and csv_safe("'=x") == "''=x"
    assert csv_safe("-5") == "-5" and csv_safe("3.5") == "3.5"  # plain numbers are no formulas


def test_log_fields_are_quoted_and_read_back(tmp_path):
    path = tmp_path / "log.csv"
    append_csv(path, ("a", "b"), [{"a": v, "b": "1"} for v in HOSTILE], ("a",))
    lines = path.read_bytes().decode("utf-8-sig").split("\r\n")
    assert lines[0] == "a,b" and lines[1] == '"Xã E;\'=1+1;","1"'
    assert [r["a"] for r in read_csv_log(path, ("a", "b"), ("a",))] == HOSTILE


def _manifest(folder, names):
    when = datetime(2023, 7, 4, 9, 15, tzinfo=timezone.utc)
    saved = [SavedAttachment(sender=n, date=when, subject=n, original_name=n, saved_name=f"{i}.xlsx",
                             sha256="0" * 64, size=1, message_id=n, source=n) for i, n in enumerate(names)]
    write_manifest(folder, saved)
    return folder / MANIFEST_NAME


def _tidy(path, names):
    reports = [report(f"{i}.xlsx", f"Q{i}", values={"BM1-1": 1}) for i in range(len(names))]
    for rep, name in zip(reports, names):
        rep.unit["name"] = name
    return write_csv(merge_reports(reports, SPEC), path)


def test_manifest_reads_back_hostile_text(tmp_path):
    _manifest(tmp_path, HOSTILE)
    assert [s.subject for s in read_manifest(tmp_path).values()] == HOSTILE


def test_tidy_csv_quotes_every_field(tmp_path):
    raw = _tidy(tmp_path / "t.csv", ["Xã E;=1+1;"]).read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(raw)))
    assert rows[1][1] == "Xã E;'=1+1;"
    assert raw.splitlines()[1].startswith('"Q0","Xã E;\'=1+1;",')


@pytest.mark.libreoffice
@pytest.mark.skipif(not lo.available(), reason="LibreOffice not installed")
def test_no_formula_when_opened_with_either_separator(tmp_path):
    names = [v for v in HOSTILE if "\n" not in v and v]
    files = [_manifest(tmp_path / "m", names), _tidy(tmp_path / "tidy.csv", names)]
    for sep in (44, 59):  # `,` and `;`; formulas evaluated, as a user may tick it in the import dialog
        options = f"CSV:{sep},34,76,1,,0,false,true,false,false,false,-1,true"
        for out in lo.convert(files, lo.XLSX, tmp_path / f"lo-{sep}", infilter=options):
            cells = [c for row in openpyxl.load_workbook(out).active.iter_rows() for c in row]
            assert len(cells) > len(names)  # the file was read
            assert [(c.coordinate, c.value) for c in cells if c.data_type == "f"] == [], (sep, out.name)
