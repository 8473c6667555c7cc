"""`cchc template`: make the Excel template of one unit, a blank one of a level, or one per unit of a roster."""

from __future__ import annotations

import os
import time
from pathlib import Path

import click

from cchc_excel.cli.common import library_errors


@click.command("template")
@click.option("--level", metavar="CẤP",
              help="Cấp của đơn vị báo cáo, theo bộ biểu mẫu; bộ mặc định có xa (xã, phường, thị trấn), "
                   "huyen (cấp huyện), so (sở, ngành). Với --roster: chỉ tạo cho các đơn vị cấp này.")
@click.option("--unit-code", help="Mã đơn vị (điền sẵn và khóa trong biểu mẫu).")
@click.option("--unit-name", help="Tên đơn vị (điền sẵn và khóa trong biểu mẫu).")
@click.option("--period", help="Kỳ báo cáo: 2023-Q2, 2023-H1, 2023-9M, 2023 hoặc \"Quý II/2023\".")
@click.option("--roster", type=click.Path(dir_okay=False, path_type=Path),
              help="Danh sách đơn vị (CSV hoặc XLSX, các cột ma_don_vi, ten_don_vi, cap, don_vi_cha, email): "
                   "tạo một biểu mẫu cho mỗi đơn vị.")
@click.option("--spec", "spec_ref", metavar="ID", help="Bộ biểu mẫu (mặc định: cv371-2022) hoặc đường dẫn tệp YAML.")
@click.option("--password", help="Mật khẩu bảo vệ trang tính và cấu trúc bảng tính (không bắt buộc).")
@click.option("-o", "--output", required=True, type=click.Path(),
              help="Tệp .xlsx cần tạo, hoặc thư mục (có sẵn, hoặc ghi có dấu / ở cuối) để đặt tên tệp tự động; "
                   "với --roster là thư mục chứa các biểu mẫu.")
def template(level, unit_code, unit_name, period, roster, spec_ref, password, output):
    """Tạo biểu mẫu Excel thống kê CCHC đã khóa, sẵn sàng gửi cho đơn vị.

    Ô nhập số liệu tô vàng và có kiểm tra khi nhập; tỷ lệ % tự tính; dòng không thuộc cấp của đơn vị
    tô xám và khóa; cột "Kiểm tra tự động" báo lỗi ngay khi nhập. Với --roster, mỗi đơn vị một tệp,
    tên tệp bắt đầu bằng mã đơn vị.

    Ví dụ:

    \b
        cchc template --level xa --unit-code 22240 --unit-name "UBND phường Tam Quan Bắc" --period 2023-Q2 -o 22240.xlsx
        cchc template --level huyen -o bieu-mau-trong_huyen.xlsx
        cchc template --roster danh-sach-don-vi.csv --period "Quý II/2023" -o bieu-mau-quy-2/
    """
    from cchc_excel.core.periods import parse_period
    from cchc_excel.core.roster import Unit, load_roster
    from cchc_excel.spec.loader import load_spec
    from cchc_excel.template.build import template_filename, write_roster_templates, write_template

    # "-o bieu-mau/" names a folder even before it exists (Path() would drop the slash).
    into_folder = output.endswith(("/", os.sep)) or os.path.isdir(output)
    output = Path(output)
    try:
        with library_errors():
            spec = load_spec(spec_ref)
            _check_level(spec, level)
            parsed_period = parse_period(period) if period else None
            if roster is not None:
                if unit_code or unit_name:
                    raise click.UsageError("--unit-code và --unit-name không dùng cùng --roster (lấy từ danh sách).")
                if parsed_period is None:
                    raise click.UsageError("Cần --period khi tạo biểu mẫu theo danh sách đơn vị (--roster).")
                units = load_roster(roster, levels=spec.levels)
                for warning in units.warnings:
                    click.echo(f"Cảnh báo: {warning}", err=True)
                if not units.reporting_units():
                    raise click.ClickException(f"{roster.name}: danh sách không có đơn vị nào cần báo cáo.")
                if output.exists() and not output.is_dir():
                    raise click.UsageError(f"{output} là một tệp: với --roster, -o phải là một thư mục.")
                started = time.perf_counter()
                paths = write_roster_templates(units, parsed_period, output, spec, password=password,
                                               levels=[level] if level else None)
                elapsed = time.perf_counter() - started
                click.echo(f"Đã tạo {len(paths)} biểu mẫu {parsed_period.label} trong {output} ({elapsed:.1f} giây).")
                return
            if level is None:
                raise click.UsageError(f"Cần --level ({_level_list(spec)}), hoặc --roster để tạo theo danh sách đơn vị.")
            unit = Unit(unit_code or "", unit_name or "", level) if (unit_code or unit_name) else None
            if into_folder:
                if unit is not None and unit.code and parsed_period is not None:
                    output = output / template_filename(unit, parsed_period)
                else:
                    output = output / f"{spec.id}_{level}{'_' + parsed_period.code if parsed_period else ''}.xlsx"
            output.parent.mkdir(parents=True, exist_ok=True)
            path = write_template(output, spec, level=level, unit=unit, period=parsed_period, password=password)
            what = ", ".join(x for x in (spec.level_name(level), unit.name if unit else "",
                                         parsed_period.label if parsed_period else "") if x)
            click.echo(f"Đã tạo biểu mẫu {path} ({what}).")
    except OSError as e:  # a folder that is a file, a read-only disk...
        raise click.ClickException(f"Không ghi được {e.filename or output}: {e.strerror or e}.") from e


def _level_list(spec) -> str:
    """The levels a template is made for, lowest first: `xa, huyen hoặc so`."""
    levels = list(reversed(spec.row_levels))
    return levels[0] if len(levels) == 1 else f"{', '.join(levels[:-1])} hoặc {levels[-1]}"


def _check_level(spec, level: str | None) -> None:
    if level is not None and level not in spec.row_levels:
        raise click.BadParameter(f"không có mẫu cho cấp {level!r} trong bộ biểu mẫu {spec.id} (chỉ nhận: "
                                 f"{_level_list(spec)}).", param_hint="--level")


COMMANDS = [template]
