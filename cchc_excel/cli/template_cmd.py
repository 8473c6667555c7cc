"""`cchc template`: make the Excel template of one unit, a blank one of a level, or one per unit of a roster."""

from __future__ import annotations

import time
from pathlib import Path

import click

from cchc_excel.cli.common import (Parsed, command, echo_warnings, library_errors, old_spelling, option,
                                   period_option, roster_option, sheet_password_option, spec_option, unit_option)
from cchc_excel.errors import CchcError
from cchc_excel.spec.loader import load_spec



def _level(value: str, ctx) -> str:
    """`--level`, one of the levels the spec in use has rows for (`--spec` is read first: it is eager)."""
    spec = ctx.params.get("spec") or load_spec()
    if value not in spec.row_levels:
        raise CchcError(f"không có mẫu cho cấp {value!r} trong bộ biểu mẫu {spec.id} (chỉ nhận: "
                        f"{_level_list(spec)}).")
    return value


def _level_list(spec) -> str:
    """The levels a template is made for, lowest first: `xa, huyen hoặc so`."""
    levels = list(reversed(spec.row_levels))
    return levels[0] if len(levels) == 1 else f"{', '.join(levels[:-1])} hoặc {levels[-1]}"


@command("template")
@option("--level", type=Parsed(_level, "CẤP", with_context=True),
        help="Cấp của đơn vị báo cáo, theo bộ biểu mẫu; bộ mặc định có xa (xã, phường, thị trấn), huyen (cấp "
             "huyện), so (sở, ngành). Với --roster: chỉ tạo cho các đơn vị cấp này.")
@unit_option("Mã đơn vị (điền sẵn và khóa trong biểu mẫu).")
@option("--unit-name", metavar="TÊN", help="Tên đơn vị (điền sẵn và khóa trong biểu mẫu).")
@period_option()
@roster_option("tạo một biểu mẫu cho mỗi đơn vị.")
@spec_option
@sheet_password_option("Mật khẩu bảo vệ trang tính và cấu trúc bảng tính (không bắt buộc; chỉ để tránh sửa "
                       "nhầm, không phải để bảo mật).")
@option("-o", "--output", required=True, type=click.Path(), metavar="TỆP_HOẶC_THƯ_MỤC",
        help="Tệp .xlsx cần tạo, hoặc thư mục (có sẵn, hoặc ghi có dấu / ở cuối) để đặt tên tệp tự động; "
             "với --roster là thư mục chứa các biểu mẫu.")
@old_spelling("--unit-code", "unit_code")
@old_spelling("--password", "sheet_password")
def template(level, unit_code, unit_name, period, roster, spec, sheet_password, output):
    """Tạo biểu mẫu Excel thống kê CCHC đã khóa, sẵn sàng gửi cho đơn vị.

    Ô nhập số liệu tô vàng và có kiểm tra khi nhập; tỷ lệ % tự tính; dòng không thuộc cấp của đơn vị
    tô xám và khóa; cột "Kiểm tra tự động" báo lỗi ngay khi nhập. Với --roster, mỗi đơn vị một tệp,
    tên tệp bắt đầu bằng mã đơn vị.

    \b
    Ví dụ:
        cchc template --level xa --unit 22240 --unit-name "UBND phường Tam Quan Bắc" --period 2023-Q2 -o 22240.xlsx
        cchc template --level huyen -o bieu-mau-trong/
        cchc template --roster danh-sach-don-vi.csv --period "Quý II/2023" -o bieu-mau-quy-2/
    """
    try:
        with library_errors():
            spec = spec if spec is not None else load_spec()
            if roster is not None:
                if unit_code or unit_name:
                    raise click.UsageError("--unit và --unit-name không dùng cùng --roster (lấy từ danh sách).")
                _roster_templates(roster, level, period, spec, sheet_password, Path(output))
            else:
                _one_template(level, unit_code, unit_name, period, spec, sheet_password, output)
    except OSError as e:  # a folder that is a file, a read-only disk...
        raise click.ClickException(f"Không ghi được {e.filename or output}: {e.strerror or e}.") from e


def _roster_templates(roster, level, period, spec, password, output: Path) -> None:
    from cchc_excel.template.build import write_roster_templates

    if period is None:
        raise click.UsageError("Cần --period khi tạo biểu mẫu theo danh sách đơn vị (--roster).")
    echo_warnings(roster.warnings)
    if not roster.reporting_units():
        raise click.ClickException(f"{roster.source}: danh sách không có đơn vị nào cần báo cáo.")
    if output.exists() and not output.is_dir():
        raise click.UsageError(f"{output} là một tệp: với --roster, -o phải là một thư mục.")
    started = time.perf_counter()
    paths = write_roster_templates(roster, period, output, spec, password=password,
                                   levels=[level] if level else None)
    elapsed = time.perf_counter() - started
    click.echo(f"Đã tạo {len(paths)} biểu mẫu {period.label} trong {output} ({elapsed:.1f} giây).")


def _one_template(level, unit_code, unit_name, period, spec, password, output: str) -> None:
    from cchc_excel.core.roster import Unit
    from cchc_excel.template.build import template_path, write_template

    if level is None:
        raise click.UsageError(f"Cần --level ({_level_list(spec)}), hoặc --roster để tạo theo danh sách đơn vị.")
    unit = Unit(unit_code or "", unit_name or "", level) if (unit_code or unit_name) else None
    path = write_template(template_path(output, spec, level, unit, period), spec, level=level, unit=unit,
                          period=period, password=password)
    what = ", ".join(x for x in (spec.level_name(level), unit.name if unit else "",
                                 period.label if period else "") if x)
    click.echo(f"Đã tạo biểu mẫu {path} ({what}).")
