"""`cchc aggregate`: merge the returns of one period into the report of the level above."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from cchc_excel.cli.common import library_errors, load_option
from cchc_excel.errors import PeriodError, RosterError, SpecError
from cchc_excel.core.periods import parse_period
from cchc_excel.core.roster import load_roster
from cchc_excel.spec.model import load_spec


@click.command("aggregate")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              metavar="OUT.xlsx", help="Tệp Excel tổng hợp sẽ ghi ra.")
@click.option("--roster", type=click.Path(exists=True, dir_okay=False, path_type=Path), metavar="TỆP",
              help="Danh sách đơn vị (CSV hoặc XLSX: ma_don_vi, ten_don_vi, cap, don_vi_cha, email).")
@click.option("--period", metavar="KỲ",
              help="Kỳ tổng hợp: 2023-Q2, 2023-H1, 2023-9M, 2023 (mặc định: kỳ của đa số tệp). Kỳ dài "
                   "hơn được cộng dồn từ các kỳ ngắn hơn trong năm.")
@click.option("--unit", "unit_code", metavar="MÃ",
              help="Tổng hợp các đơn vị trực thuộc đơn vị này (cần --roster); mặc định: cả danh sách.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path), metavar="TỆP.json",
              help="Ghi thêm bản tóm tắt dạng JSON.")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False, path_type=Path), metavar="TỆP.csv",
              help="Ghi thêm số liệu dạng bảng dài (mỗi dòng một đơn vị, kỳ, chỉ tiêu), UTF-8 có BOM.")
@click.option("--include-errors", is_flag=True, help="Tổng hợp cả các báo cáo còn lỗi.")
@click.option("--own", type=click.Path(exists=True, dir_okay=False, path_type=Path), metavar="TỆP",
              help="Báo cáo riêng của đơn vị tổng hợp (các chỉ tiêu của cấp mình), ghép vào như phần của "
                   "chính đơn vị: không tính là nộp muộn hay đơn vị không rõ.")
@click.option("--spec", metavar="BỘ_BIỂU_MẪU", default=None,
              help="Bộ biểu mẫu (mã có sẵn hoặc đường dẫn tệp YAML); mặc định cv371-2022.")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=None,
              help="Số tiến trình đọc tệp song song (mặc định: số CPU).")
def aggregate(paths, output, roster, period, unit_code, json_path, csv_path, include_errors, own, spec, jobs):
    """Tổng hợp báo cáo CCHC của các đơn vị thành báo cáo của cấp trên.

    PATH là tệp hoặc thư mục các tệp đơn vị gửi về. Mỗi tệp được đọc và kiểm tra như `cchc check`, rồi có
    một trạng thái: đã tổng hợp, bản cũ đã thay, có lỗi, không đọc được, kỳ khác, đơn vị không rõ, ngoài
    phạm vi, tệp trùng. Với --roster, mỗi đơn vị có một trạng thái: đã tổng hợp, có lỗi, chưa nộp (và nộp
    muộn). OUT.xlsx là biểu mẫu của cấp trên đã điền số tổng hợp (cấp trên kiểm tra và tổng hợp tiếp như
    một báo cáo), kèm số liệu từng đơn vị, tình hình nộp báo cáo, kết quả kiểm tra và biểu đồ.

    \b
    Ví dụ:
        cchc aggregate bao-cao-ve/ -o tong-hop-2023-Q2.xlsx --roster don-vi.csv --unit HN --period 2023-Q2
        cchc aggregate bao-cao-ve/ -o tong-hop.xlsx --roster don-vi.csv --json tom-tat.json --csv so-lieu.csv
    """
    from cchc_excel.merge.exports import write_csv, write_json
    from cchc_excel.merge.run import aggregate_paths
    from cchc_excel.merge.workbook import write_merged_workbook

    spec_obj = load_option(lambda: load_spec(spec), SpecError, "--spec")
    roster_obj = load_option(lambda: load_roster(roster) if roster else None, RosterError, "--roster")
    period_obj = load_option(lambda: parse_period(period) if period else None, PeriodError, "--period")
    if unit_code and roster_obj is None:
        raise click.BadParameter("cần --roster để biết các đơn vị trực thuộc.", param_hint="--unit")
    if unit_code and unit_code not in roster_obj:
        raise click.BadParameter(f"không có đơn vị mã {unit_code!r} trong {roster.name}.", param_hint="--unit")

    bar = _ProgressBar(sys.stderr) if sys.stderr.isatty() else None
    outputs = [p for p in (output, json_path, csv_path) if p is not None]
    with library_errors():
        try:
            result = aggregate_paths(paths, spec_obj, roster=roster_obj, period=period_obj, unit_code=unit_code,
                                     include_errors=include_errors, jobs=jobs, progress=bar, exclude=outputs,
                                     own=own)
        finally:
            if bar:
                bar.clear()
        write_merged_workbook(result, output)
        if json_path:
            write_json(result, json_path)
        if csv_path:
            write_csv(result, csv_path)
    for line in summary_lines(result):
        click.echo(line)
    click.echo("Đã ghi: " + ", ".join(str(p) for p in outputs))


def summary_lines(result) -> list[str]:
    """What the command prints: the units' and files' statuses, who is missing or wrong, the notes."""
    from cchc_excel.merge.run import FILE_STATUSES, FILE_STATUS_LABELS

    who = f" — {result.root.name}" if result.root else ""
    n = {s: len(result.units_with(s)) for s in ("merged", "errors", "missing")}
    expected = f"{result.expected} đơn vị phải báo cáo; " if result.expected is not None else ""
    lines = [f"Tổng hợp {result.period.label}{who}: {expected}{n['merged']} đã tổng hợp, {n['errors']} có lỗi, "
             f"{n['missing']} chưa nộp; {len(result.late_units)} nộp muộn."]
    by_status = {s: len(result.files_with(s)) for s in FILE_STATUSES}
    parts = "; ".join(f"{k} {FILE_STATUS_LABELS[s].lower()}" for s, k in by_status.items() if k)
    lines.append(f"{len(result.files)} tệp: {parts or 'không có tệp nào'}.")
    for status, title in (("missing", "Chưa nộp"), ("errors", "Có lỗi")):
        names = [f"{u.unit.name} ({u.unit.code})" for u in result.units if u.status == status]
        if names:
            shown = ", ".join(names[:20]) + (f" và {len(names) - 20} đơn vị khác" if len(names) > 20 else "")
            lines.append(f"{title}: {shown}.")
    lines.extend(result.notes[:20])
    return lines



class _ProgressBar:
    """A one-line progress bar on a terminal: `Đang đọc [#####.....] 512/1000 tệp`."""

    WIDTH = 30

    def __init__(self, stream):
        self.stream = stream
        self.shown = -1

    def __call__(self, done: int, total: int) -> None:
        filled = self.WIDTH * done // max(total, 1)
        if filled == self.shown and done != total:
            return
        self.shown = filled
        bar = "#" * filled + "." * (self.WIDTH - filled)
        self.stream.write(f"\rĐang đọc [{bar}] {done}/{total} tệp")
        self.stream.flush()

    def clear(self) -> None:
        if self.shown >= 0:
            self.stream.write("\r\033[K")
            self.stream.flush()


COMMANDS = [aggregate]
