"""`cchc report`: the narrative report draft (Word) of one unit's own return."""

from __future__ import annotations

from pathlib import Path

import click

from cchc_excel.cli.common import (argument, command, echo_json, json_option, library_errors, option,
                                   period_option, roster_option, spec_option, unit_option)


@command("report")
@argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path), metavar="TỆP")
@option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path), metavar="TỆP.docx",
        help="Tệp Word dự thảo báo cáo sẽ ghi ra.")
@roster_option("để nhận ra đơn vị theo tên ghi trong tệp.")
@period_option("kỳ của tệp, khi tệp không ghi rõ.")
@unit_option("Mã đơn vị của tệp, khi tệp không ghi rõ.")
@json_option("kết quả ({\"report\", \"unit\", \"period\", \"errors\", \"warnings\"})")
@spec_option
def report(path, output, roster, period, unit_code, as_json, spec):
    """Soạn dự thảo báo cáo CCHC (Word) từ báo cáo số liệu của một đơn vị.

    TỆP là báo cáo số liệu của đơn vị (tệp Excel biểu mẫu đã điền, hoặc báo cáo Word có Phụ lục I). TỆP.docx
    là dự thảo báo cáo theo thể thức Nghị định 30/2020/NĐ-CP: các phần của báo cáo với số liệu của đơn vị,
    rồi Phụ lục I; những chỗ cần người viết bổ sung được đánh dấu […]. Để soạn báo cáo tổng hợp của nhiều
    đơn vị, dùng `cchc aggregate ... --report BAO-CAO.docx`.

    \b
    Ví dụ:
        cchc report 22240_phuong-tam-quan-bac_2023-Q2.xlsx --roster don-vi.csv -o BAO-CAO.docx
        cchc report bao-cao-quy-2.docx --roster don-vi.csv --period 2023-Q2 -o BAO-CAO.docx
    """
    from cchc_excel.merge.outputs import write_outputs
    from cchc_excel.word import own_result, write_report

    with library_errors():
        result = own_result(path, spec, roster=roster, unit_code=unit_code, period=period)
        write_outputs(result, None, report_path=output, write_report=write_report)
    errors = sum(f.errors for f in result.files)
    if as_json:
        echo_json({"report": str(output), "unit": result.root.code, "period": result.period.code,
                   "errors": errors, "warnings": sum(f.warnings for f in result.files)})
    if errors:
        click.echo(f"Cảnh báo: tệp còn {errors} lỗi; hãy kiểm tra bằng cchc check trước khi gửi báo cáo.", err=True)
    click.echo(f"Đã ghi: {output}", err=as_json)
