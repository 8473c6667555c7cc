"""`cchc check`: check returned workbooks and print what is wrong, file by file."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from cchc_excel.check.feedback import write_feedbacks
from cchc_excel.check.run import check_paths
from cchc_excel.cli.common import (argument, command, echo_json, jobs_option, json_option, library_errors, option,
                                   period_option, progress_bar, roster_option, spec_option, unit_option)

_STYLES = {
    "file": {"bold": True},
    "error": {"fg": "red"},
    "warning": {"fg": "yellow"},
    "info": {"dim": True},
    "summary": {"bold": True},
}


@command("check")
@argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path), metavar="ĐƯỜNG_DẪN...")
@period_option("kỳ của các tệp không ghi rõ kỳ.")
@unit_option("Mã đơn vị gửi tệp, khi tệp không ghi rõ.")
@roster_option("để nhận ra đơn vị theo tên ghi trong tệp.")
@option("--feedback", type=click.Path(file_okay=False, path_type=Path), metavar="THƯ_MỤC",
        help="Ghi vào thư mục này một tệp phản hồi cho mỗi tệp có lỗi hoặc cảnh báo, để gửi lại đơn vị.")
@json_option("báo cáo kiểm tra ({\"files\": [...], \"summary\": {...}})")
@spec_option
@jobs_option
@click.pass_context
def check(ctx, paths, period, unit_code, roster, feedback, as_json, spec, jobs):
    """Kiểm tra các tệp báo cáo CCHC đơn vị gửi về.

    ĐƯỜNG_DẪN là tệp hoặc thư mục (tìm cả thư mục con các tệp .xlsx, .xlsm, .xls, .ods, và báo cáo Word
    .docx, .doc có Phụ lục I: số liệu đọc từ các bảng của Phụ lục I). Mỗi tệp có một dòng trạng thái (Đạt,
    Có cảnh báo, Có lỗi, Không đọc được, Chưa nhập số liệu, Tệp phản hồi gửi lại chưa sửa) và danh sách lỗi,
    cảnh báo theo ô, lỗi trước. Tệp của kỳ khác kỳ --period là có lỗi. Cảnh báo ở dòng mà đơn vị đã ghi lý
    do vào cột Ghi chú được coi là đã giải trình, không tính vào trạng thái của tệp; lỗi thì vẫn là lỗi.
    Mã thoát: 0 khi không tệp nào có lỗi, 1 khi có tệp có lỗi, không đọc được hoặc là tệp phản hồi gửi lại
    chưa sửa, 2 khi dùng sai lệnh.

    \b
    Ví dụ:
        cchc check bao-cao-ve/ --period 2023-Q2 --roster don-vi.csv --feedback phan-hoi/
        cchc check bao-cao-ve/ --json > ket-qua.json
    """
    bar = progress_bar(sys.stderr, "Đang kiểm tra", show=not as_json)
    with library_errors():
        try:
            report = check_paths(paths, spec, roster=roster, unit_code=unit_code, period=period, jobs=jobs,
                                 progress=bar, keep_submissions=feedback is not None)
        finally:
            if bar:
                bar.clear()
    if not report.files:
        click.echo("Không tìm thấy tệp bảng tính nào (.xlsx, .xlsm, .xls, .ods) để kiểm tra.", err=True)

    if as_json:
        echo_json(report.to_dict())
    else:
        for kind, text in report.lines():
            click.echo(click.style(text, **_STYLES.get(kind, {})))
    if feedback is not None:
        _write_feedback(report, feedback)
    ctx.exit(report.exit_code)


def _write_feedback(report, out_dir: Path) -> None:
    """Say what was written, on stderr, so that `--json` keeps stdout a single JSON document."""
    problems = []
    written = write_feedbacks(report, out_dir, problems=problems)
    for problem in problems:
        click.echo(problem, err=True)
    click.echo(f"Đã ghi {len(written)} tệp phản hồi vào {out_dir}.", err=True)


