"""`cchc check`: check returned workbooks and print what is wrong, file by file."""

from __future__ import annotations

import functools
import sys
from datetime import datetime, timezone
from pathlib import Path

import click

from cchc_excel.check.report import Tally, file_lines, summary_text
from cchc_excel.check.run import iter_checked
from cchc_excel.cli.common import (argument, command, echo_json_list, jobs_option, json_option, library_errors, option,
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
    tally = Tally()
    writer = after = None
    if feedback is not None:
        from cchc_excel.check import feedback as feedbacks  # only when asked: a tenth of the start-up

        # Each feedback workbook is made in the worker process that checked its file, then written here.
        after = functools.partial(feedbacks.prepared_feedback, generated_at=datetime.now(timezone.utc))
        writer = feedbacks.FeedbackWriter(feedback)
    with library_errors():
        try:
            checked = iter_checked(paths, spec, roster=roster, unit_code=unit_code, period=period, jobs=jobs,
                                   progress=bar, after=after)
            reports = _counted(checked, tally, writer)
            if as_json:
                echo_json_list("files", (f.to_dict() for f in reports), lambda: {"summary": tally.summary()})
            else:
                for f in reports:
                    _echo_lines(file_lines(f), bar)
                _echo_lines([("summary", summary_text(tally.summary(), tally.explained))], bar)
        finally:
            if bar:
                bar.clear()
    if not tally.files:
        click.echo("Không tìm thấy tệp bảng tính nào (.xlsx, .xlsm, .xls, .ods) để kiểm tra.", err=True)
    if writer is not None:
        written = writer.finish()
        for problem in writer.problems:
            click.echo(problem, err=True)
        click.echo(f"Đã ghi {len(written)} tệp phản hồi vào {feedback}.", err=True)
    ctx.exit(tally.exit_code)


def _counted(checked, tally: Tally, writer):
    """The reports of `checked`, each counted in `tally`; with a `FeedbackWriter`, `checked` gives (report,
    feedback made in the worker) pairs and each feedback is written as its report passes."""
    for item in checked:
        report = item if writer is None else item[0]
        tally.add(report)
        if writer is not None:
            writer.add(report, item[1])
        yield report


def _echo_lines(lines, bar) -> None:
    if bar:
        bar.clear()
    for kind, text in lines:
        click.echo(click.style(text, **_STYLES.get(kind, {})))
