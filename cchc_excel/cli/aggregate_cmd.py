"""`cchc aggregate`: merge the returns of one period into the report of the level above."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from cchc_excel.cli.common import (argument, command, echo_json, jobs_option, json_option, library_errors,
                                   old_spelling, option, period_option, progress_bar, roster_option,
                                   spec_option, under_option, unit_in)


@command("aggregate")
@argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path), metavar="ĐƯỜNG_DẪN...")
@option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), metavar="TỆP.xlsx",
        help="Tệp Excel tổng hợp sẽ ghi ra (bắt buộc, trừ khi chỉ cần --json).")
@roster_option("cho biết đơn vị nào phải báo cáo, ai chưa nộp.")
@period_option("kỳ tổng hợp (mặc định: kỳ của đa số tệp); kỳ dài hơn được cộng dồn từ các kỳ ngắn hơn "
               "trong năm.")
@under_option("Tổng hợp các đơn vị trực thuộc đơn vị này trong danh sách (cần --roster); mặc định: cả danh "
              "sách.")
@option("--csv", "csv_path", type=click.Path(dir_okay=False, path_type=Path), metavar="TỆP.csv",
        help="Ghi thêm số liệu dạng bảng dài (mỗi dòng một đơn vị, kỳ, chỉ tiêu), UTF-8 có BOM.")
@option("--report", "report_path", type=click.Path(dir_okay=False, path_type=Path), metavar="TỆP.docx",
        help="Ghi thêm dự thảo báo cáo CCHC (Word) của đơn vị tổng hợp: các phần của báo cáo với số liệu "
             "tổng hợp, rồi Phụ lục I.")
@json_option("bản tóm tắt ({\"period\", \"units\", \"files\", \"totals\"})")
@option("--include-errors", is_flag=True, help="Tổng hợp cả các báo cáo còn lỗi.")
@option("--own", type=click.Path(exists=True, dir_okay=False, path_type=Path), metavar="TỆP",
        help="Báo cáo riêng của đơn vị tổng hợp (các chỉ tiêu của cấp mình), ghép vào như phần của chính đơn "
             "vị: không tính là nộp muộn hay đơn vị không rõ.")
@option("--previous", multiple=True, type=click.Path(exists=True, path_type=Path), metavar="ĐƯỜNG_DẪN",
        help="Báo cáo kỳ trước và cùng kỳ năm trước (của các đơn vị, hoặc bảng tổng hợp các kỳ đó), để so "
             "sánh và cảnh báo số liệu bất thường; ghi nhiều lần được.")
@spec_option
@jobs_option
@old_spelling("--unit", "under")
def aggregate(paths, output, roster, period, under, csv_path, report_path, as_json, include_errors, own, previous,
              spec, jobs):
    """Tổng hợp báo cáo CCHC của các đơn vị thành báo cáo của cấp trên.

    ĐƯỜNG_DẪN là tệp hoặc thư mục các tệp đơn vị gửi về. Mỗi tệp được đọc và kiểm tra như `cchc check`, rồi
    có một trạng thái: đã tổng hợp, bản cũ đã thay, có lỗi, không đọc được, kỳ khác, đơn vị không rõ, ngoài
    phạm vi, tệp trùng, chưa nhập số liệu (biểu mẫu trống), tệp phản hồi gửi lại chưa sửa. Với --roster,
    mỗi đơn vị có một trạng thái: đã tổng hợp, có lỗi, chưa nộp (và nộp muộn). TỆP.xlsx là biểu mẫu của
    cấp trên đã điền số tổng hợp (cấp trên kiểm tra và tổng hợp tiếp như một báo cáo), kèm số liệu từng đơn
    vị, tình hình nộp báo cáo, kết quả kiểm tra và biểu đồ.

    \b
    Ví dụ:
        cchc aggregate bao-cao-ve/ -o tong-hop-2023-Q2.xlsx --roster don-vi.csv --under HN --period 2023-Q2
        cchc aggregate bao-cao-ve/ -o tong-hop.xlsx --roster don-vi.csv --csv so-lieu.csv --json > tom-tat.json
        cchc aggregate bao-cao-ve/ --roster don-vi.csv --json > tom-tat.json
        cchc aggregate bao-cao-ve/ -o tong-hop.xlsx --roster don-vi.csv --under HN --report BAO-CAO.docx
        cchc aggregate bao-cao-ve/ -o tong-hop.xlsx --roster don-vi.csv --under HN --previous tong-hop-2023-Q1.xlsx \
            --previous bao-cao-2022-Q2/
    """
    from cchc_excel.merge.exports import summary
    from cchc_excel.merge.outputs import check_outputs, write_outputs
    from cchc_excel.merge.run import aggregate_paths

    if output is None and not as_json and report_path is None:
        raise click.BadParameter("cần tệp Excel tổng hợp sẽ ghi ra (hoặc --json, --report).", param_hint="-o/--output")
    if under and roster is None:
        raise click.BadParameter("cần --roster để biết các đơn vị trực thuộc.", param_hint="--under")
    if under:
        unit_in(roster, under, "--under")
    bar = progress_bar(sys.stderr, "Đang đọc", show=not as_json)
    with library_errors(hint="-o/--csv"):  # before reading: a wrong target costs no time
        outputs = check_outputs(output, csv_path=csv_path, report_path=report_path)
    with library_errors():
        try:
            result = aggregate_paths(paths, spec, roster=roster, period=period, unit_code=under,
                                     include_errors=include_errors, jobs=jobs, progress=bar, exclude=outputs,
                                     own=own, previous=previous)
        finally:
            if bar:
                bar.clear()
        write_outputs(result, output, csv_path=csv_path, report_path=report_path,
                      write_report=_report_writer() if report_path else None)
    if as_json:
        echo_json(summary(result))
    else:
        for line in summary_lines(result):
            click.echo(line)
    if outputs:
        click.echo("Đã ghi: " + ", ".join(str(p) for p in outputs), err=as_json)


def _report_writer():
    from cchc_excel.word import write_report

    return write_report


def summary_lines(result) -> list[str]:
    """What the command prints: the units' and files' statuses, who is missing or wrong, the notes."""
    from cchc_excel.merge.run import FILE_STATUS_LABELS, FILE_STATUSES, NO_RETURN_STATUSES

    who = f" — {result.root.name}" if result.root else ""
    n = {s: len(result.units_with(s)) for s in ("merged", "errors", "missing")}
    expected = f"{result.expected} đơn vị phải báo cáo; " if result.expected is not None else ""
    lines = [f"Tổng hợp {result.period.label}{who}: {expected}{n['merged']} đã tổng hợp, {n['errors']} có lỗi, "
             f"{n['missing']} chưa nộp; {len(result.late_units)} nộp muộn."]
    by_status = {s: len(result.files_with(s)) for s in FILE_STATUSES + NO_RETURN_STATUSES}
    parts = "; ".join(f"{k} {FILE_STATUS_LABELS[s].lower()}" for s, k in by_status.items() if k)
    lines.append(f"{len(result.files)} tệp: {parts or 'không có tệp nào'}.")
    for status, title in (("missing", "Chưa nộp"), ("errors", "Có lỗi")):
        # a unit missing with files (a blank form, feedback sent back unchanged) says why
        names = [f"{u.unit.name} ({u.unit.code}{'; ' + u.reason if status == 'missing' and u.files else ''})"
                 for u in result.units if u.status == status]
        if names:
            shown = ", ".join(names[:20]) + (f" và {len(names) - 20} đơn vị khác" if len(names) > 20 else "")
            lines.append(f"{title}: {shown}.")
    lines.extend(result.notes[:20])
    return lines
