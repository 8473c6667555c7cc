"""`cchc check` writes each file's result as it is ready: the streamed output equals the whole report's."""

import json
import shutil

from click.testing import CliRunner

from cchc_excel.check.report import Report
from cchc_excel.check.run import check_paths, iter_checked
from cchc_excel.cli import cli
from cchc_excel.core.periods import parse_period
from cchc_excel.core.roster import Unit
from cchc_excel.spec.loader import load_spec
from cchc_excel.template.build import UnitCopies, template_bytes

SPEC = load_spec()
FILLED = {"BM1-1": 6, "BM1-2.1": 25, "BM1-2.2": 12, "BM3-3.1.1": 369, "BM3-3.1.2": 369, "BM4-2.1": 0,
          "BM4-2.2": 20}


def _returns(folder, n_blank=260, n_filled=40):
    """A few hundred files: per-unit templates, filled returns with findings, a broken file, a PDF."""
    folder.mkdir()
    copies = UnitCopies(SPEC, parse_period("2023-Q2"))
    for i in range(n_blank):
        (folder / f"{i:04d}_blank.xlsx").write_bytes(copies.copy(Unit(f"X{i:04d}", f"UBND xã Số {i}", "xa")))
    variants = [template_bytes(SPEC, level="xa", unit=Unit(f"F{k}", f"UBND phường Thử {k}", "xa"),
                               period="2023-Q2", values={**FILLED, "BM3-3.1.2": 369 + k}) for k in range(3)]
    for i in range(n_filled):
        (folder / f"{i:04d}_filled.xlsx").write_bytes(variants[i % 3])
    (folder / "zz-broken.xlsx").write_bytes(b"not a workbook")
    (folder / "zz-scan.pdf").write_bytes(b"%PDF-1.4\n")
    return folder


def test_streamed_json_and_text_equal_the_whole_report(tmp_path):
    folder = _returns(tmp_path / "returns")
    whole = check_paths([folder], jobs=1)
    assert len(whole.files) == 302 and {f.status for f in whole.files} >= {"empty", "warnings", "errors", "unreadable"}
    runner = CliRunner()
    streamed = runner.invoke(cli, ["check", str(folder), "--json", "-j", "2"])
    assert streamed.exit_code == whole.exit_code == 1
    assert streamed.stdout == json.dumps(whole.to_dict(), ensure_ascii=False, indent=2) + "\n"
    text = runner.invoke(cli, ["check", str(folder), "-j", "2"])
    assert text.stdout == "".join(line + "\n" for _, line in whole.lines())


def test_empty_folder_streams_an_empty_document(tmp_path):
    (tmp_path / "empty").mkdir()
    result = CliRunner().invoke(cli, ["check", str(tmp_path / "empty"), "--json"])
    assert json.loads(result.stdout) == Report().to_dict()
    assert result.stdout == json.dumps(Report().to_dict(), ensure_ascii=False, indent=2) + "\n"


def _spec_id(report):
    return report.submission.spec.id if report.submission is not None else None


def test_iter_checked_keeps_the_input_order_across_workers(tmp_path):
    folder = _returns(tmp_path / "returns", n_blank=60, n_filled=6)
    shutil.copy(folder / "0000_filled.xlsx", folder / "0000_again.xlsx")
    paths = [f.path for f in iter_checked([folder], jobs=2)]
    assert paths == sorted(paths) and len(paths) == 69
    # `after` runs in the worker, per report, with the Submission kept for it only
    pairs = list(iter_checked([folder], jobs=2, after=_spec_id))
    assert [p.path for p, _ in pairs] == paths and all(p.submission is None for p, _ in pairs)
    assert {extra for p, extra in pairs if p.status != "unreadable"} == {"cv371-2022"}
