"""`cchc check`: check returned workbooks and print what is wrong, file by file."""

from __future__ import annotations

import json
import os
import sys
import traceback
from pathlib import Path

import click

from cchc_excel.check.run import check_paths
from cchc_excel.cli.common import load_option
from cchc_excel.errors import CchcError, PeriodError, RosterError, SpecError
from cchc_excel.check.feedback import write_feedback
from cchc_excel.core.periods import parse_period
from cchc_excel.core.roster import load_roster
from cchc_excel.spec.loader import load_spec

_STYLES = {
    "file": {"bold": True},
    "error": {"fg": "red"},
    "warning": {"fg": "yellow"},
    "info": {"dim": True},
    "summary": {"bold": True},
}


@click.command("check")
@click.argument("paths", nargs=-1, required=True,
                type=click.Path(exists=True, path_type=Path))
@click.option("--json", "as_json", is_flag=True,
              help="In báo cáo dạng JSON (đúng một tài liệu JSON) ra đầu ra chuẩn.")
@click.option("--feedback", type=click.Path(file_okay=False, path_type=Path), metavar="THƯ_MỤC",
              help="Ghi tệp phản hồi cho từng đơn vị vào thư mục này.")
@click.option("--period", metavar="KỲ", help="Kỳ báo cáo khi tệp không ghi rõ: 2023-Q2, 2023-H1, 2023-9M, 2023.")
@click.option("--unit", "unit_code", metavar="MÃ", help="Mã đơn vị gửi tệp, khi tệp không ghi rõ.")
@click.option("--roster", type=click.Path(exists=True, dir_okay=False, path_type=Path), metavar="TỆP",
              help="Danh sách đơn vị (CSV hoặc XLSX: ma_don_vi, ten_don_vi, cap, don_vi_cha, email).")
@click.option("--spec", metavar="BỘ_BIỂU_MẪU", default=None,
              help="Bộ biểu mẫu (mã có sẵn hoặc đường dẫn tệp YAML); mặc định cv371-2022.")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=None,
              help="Số tiến trình chạy song song (mặc định: số CPU).")
@click.pass_context
def check(ctx, paths, as_json, feedback, period, unit_code, roster, spec, jobs):
    """Kiểm tra các tệp báo cáo CCHC đơn vị gửi về.

    PATH là tệp hoặc thư mục (tìm cả thư mục con các tệp .xlsx, .xlsm, .xls, .ods). Mỗi tệp có một dòng
    trạng thái (Đạt, Có cảnh báo, Có lỗi, Không đọc được) và danh sách lỗi, cảnh báo theo ô, lỗi trước.
    Mã thoát: 0 khi không tệp nào có lỗi, 1 khi có tệp có lỗi hoặc không đọc được, 2 khi dùng sai lệnh.

    \b
    Ví dụ:
        cchc check bao-cao-ve/ --period 2023-Q2 --roster don-vi.csv
        cchc check bao-cao-ve/ --json > ket-qua.json
    """
    spec_obj = load_option(lambda: load_spec(spec) if spec else None, SpecError, "--spec")
    roster_obj = load_option(lambda: load_roster(roster, levels=(spec_obj or load_spec()).levels) if roster else None,
                             RosterError, "--roster")
    period_obj = load_option(lambda: parse_period(period) if period else None, PeriodError, "--period")

    progress = _progress_printer(sys.stderr) if not as_json and sys.stderr.isatty() else None
    try:
        report = check_paths(paths, spec_obj, roster=roster_obj, unit_code=unit_code, period=period_obj,
                             jobs=jobs, progress=progress, keep_submissions=feedback is not None)
    except CchcError as e:
        raise click.ClickException(str(e)) from e
    if progress:
        click.echo("\r\033[K", nl=False, err=True)
    if not report.files:
        click.echo("Không tìm thấy tệp bảng tính nào (.xlsx, .xlsm, .xls, .ods) để kiểm tra.", err=True)

    if as_json:
        click.echo(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
    else:
        for kind, text in report.lines():
            click.echo(click.style(text, **_STYLES.get(kind, {})))
    if feedback is not None:
        _write_feedback(report, feedback)
    ctx.exit(report.exit_code)


def _progress_printer(stream):
    def progress(done, total):
        if total >= 50 and (done % 25 == 0 or done == total):
            stream.write(f"\rĐang kiểm tra {done}/{total} tệp…")
            stream.flush()
    return progress


def _write_feedback(report, out_dir: Path):
    """One feedback workbook per file with errors or warnings; say what was written (on stderr, so that
    `--json` keeps stdout a single JSON document)."""
    written = []
    for file_report in report.files:
        try:
            path = write_feedback(file_report, out_dir)
        except CchcError as e:
            click.echo(f"Không ghi được phản hồi cho {file_report.path}: {e}", err=True)
            continue
        except Exception as e:  # a bug must not cost the other units their feedback, nor show a traceback
            if os.environ.get("CCHC_DEBUG"):
                traceback.print_exc()
            click.echo(f"Không ghi được phản hồi cho {file_report.path} do lỗi của chương trình "
                       f"({type(e).__name__}); hãy báo cho người quản trị công cụ.", err=True)
            continue
        if path is not None:
            written.append(path)
    click.echo(f"Đã ghi {len(written)} tệp phản hồi vào {out_dir}.", err=True)


COMMANDS = [check]
