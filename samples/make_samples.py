"""Regenerate the bundled samples: a district's roster and its Q2/2023 returns.

    python samples/make_samples.py

The district is thị xã Hoài Nhơn (Bình Định) with its 17 commune-level units of 2023. The unit codes and
e-mail addresses are made up. Every number is synthetic except those of phường Tam Quan Bắc, which are its
real Q2/2023 return (the seed report). The returns show what a district meets in a quarter:

- most units return the template, filled and consistent;
- Tam Quan Bắc returns its real numbers (two honest warnings);
- Hoài Hảo sends a return with a mistake, then resends it corrected two days later;
- Hoài Tân's return has errors (on-time dossiers above resolved ones; no survey but ballots counted);
- Tam Quan Nam has more staff present than assigned (a warning);
- Hoài Châu sends late, with a number typed as text ("1.234");
- Hoài Phú returns a hand-made workbook in the familiar layout (all forms down one sheet);
- Hoài Mỹ sends its report in Word instead of the workbook: the narrative, then Phụ lục I as tables;
- Hoài Xuân sends last quarter's file by mistake; Hoài Sơn sends nothing: two units missing.
"""

from __future__ import annotations

import random
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from cchc_excel.core.periods import parse_period  # noqa: E402
from cchc_excel.core.roster import load_roster  # noqa: E402
from cchc_excel.spec.loader import load_spec  # noqa: E402
from cchc_excel.template.build import template_filename, write_template  # noqa: E402

PERIOD = parse_period("2023-Q2")
VN = timezone(timedelta(hours=7))  # the returns are saved on Vietnamese time
WARDS = [  # (made-up code, name)
    ("22201", "Phường Bồng Sơn"), ("22202", "Phường Hoài Đức"), ("22203", "Phường Hoài Hảo"),
    ("22204", "Phường Hoài Hương"), ("22205", "Phường Hoài Tân"), ("22206", "Phường Hoài Thanh"),
    ("22207", "Phường Hoài Thanh Tây"), ("22208", "Phường Hoài Xuân"), ("22209", "Phường Tam Quan"),
    ("22240", "Phường Tam Quan Bắc"), ("22211", "Phường Tam Quan Nam"), ("22212", "Xã Hoài Châu"),
    ("22213", "Xã Hoài Châu Bắc"), ("22214", "Xã Hoài Hải"), ("22215", "Xã Hoài Mỹ"), ("22216", "Xã Hoài Phú"),
    ("22217", "Xã Hoài Sơn"),
]

# Phụ lục I of the seed: UBND phường Tam Quan Bắc, Q2/2023, exactly as reported.
TAM_QUAN_BAC = {
    "BM1-1": 6, "BM1-2": 48, "BM1-2.1": 25, "BM1-2.2": 12, "BM1-5": 1, "BM1-5.1": 10, "BM1-5.2": 0, "BM1-6": 1,
    "BM2-1.3": 0,
    "BM3-1.4": 157, "BM3-1.4.3": 157, "BM3-3.1": 100, "BM3-3.1.1": 369, "BM3-3.1.2": 369,
    "BM3-3.2": 0, "BM3-3.2.1": 0, "BM3-3.2.2": 0,
    "BM4-1.1": 1, "BM4-2.1": 0, "BM4-2.2": 20, "BM4-2.3": 2, "BM4-2.4": 0,
    "BM4-3.1": 42, "BM4-3.2": 42, "BM4-3.3": 0, "BM4-3.4": 0,
    "BM7-1.1": 100, "BM7-1.1.3": 100, "BM7-1.2.3": 100, "BM7-2.4.1": 399, "BM7-2.4.2": 399,
}


def synthetic_return(rng: random.Random) -> dict:
    """Plausible, consistent numbers for one ward (the rows a commune fills)."""
    v = {}
    v["BM1-1"] = rng.randint(3, 9)
    v["BM1-2.1"] = rng.randint(20, 30)
    v["BM1-2.2"] = rng.randint(v["BM1-2.1"] * 2 // 5, v["BM1-2.1"] * 3 // 5)
    v["BM1-3.1"] = rng.randint(0, 4)
    v["BM1-3.3.1"] = rng.randint(0, 4)
    v["BM1-3.3.2"] = rng.randint(0, v["BM1-3.3.1"])
    v["BM1-4.1"] = rng.randint(2, 10)
    v["BM1-4.2"] = rng.randint(0, v["BM1-4.1"])
    v["BM1-4.3"] = rng.randint(0, v["BM1-4.1"] - v["BM1-4.2"])
    v["BM1-4.4"] = v["BM1-4.1"] - v["BM1-4.2"] - v["BM1-4.3"]
    v["BM1-5"] = rng.choice([0, 1, 1, 1])
    if v["BM1-5"]:
        v["BM1-5.1"] = rng.randint(10, 200)
        v["BM1-5.2"] = rng.choice([0, 1, 2])
    v["BM1-6"] = rng.choice([0, 1, 1])
    v["BM2-1.3"] = rng.randint(0, 2)
    v["BM2-1"] = v["BM2-1.3"]
    v["BM2-3.1.1"] = rng.randint(0, 3)
    v["BM2-3.1.2"] = rng.randint(0, v["BM2-3.1.1"])
    v["BM3-1.4"] = v["BM3-1.4.3"] = 157
    v["BM3-1.2"] = rng.randint(0, 3)
    v["BM3-2.1"] = rng.randint(0, 3)
    v["BM3-2.2"] = rng.randint(5, 20)
    v["BM3-2.3"] = rng.randint(40, 157)
    v["BM3-3.1.1"] = rng.randint(200, 900)
    v["BM3-3.1.2"] = v["BM3-3.1.1"] - rng.randint(0, v["BM3-3.1.1"] // 40)
    v["BM3-3.2.1"] = rng.randint(0, 3)
    v["BM3-3.2.2"] = rng.randint(0, v["BM3-3.2.1"])
    v["BM4-1.1"] = 1
    v["BM4-2.1"] = rng.randint(20, 23)
    v["BM4-2.2"] = rng.randint(18, v["BM4-2.1"])
    v["BM4-2.3"] = rng.randint(1, 4)
    v["BM4-2.4"] = rng.randint(0, 1)
    v["BM4-3.1"] = rng.randint(30, 60)
    v["BM4-3.2"] = rng.randint(v["BM4-3.1"] - 3, v["BM4-3.1"])
    v["BM4-3.3"] = 0
    v["BM4-3.4"] = round(rng.uniform(0, 6), 1)
    v["BM5-2.1"] = rng.randint(0, 2)
    v["BM5-4.3"] = 0
    v["BM6-1.1"] = rng.randint(500, 3000)
    v["BM6-1.2"] = round(v["BM6-1.1"] * rng.uniform(0.3, 0.9), 1)
    parts = [rng.randint(0, 1), rng.randint(0, 2), rng.randint(1, 3), rng.randint(0, 2)]
    v["BM6-2.2"], v["BM6-2.3"], v["BM6-2.4"], v["BM6-2.5"] = parts
    v["BM6-2.1"] = sum(parts)
    v["BM6-2.4.1"] = rng.randint(0, v["BM6-2.4"])
    v["BM6-2.4.2"] = v["BM6-2.4"] - v["BM6-2.4.1"]
    v["BM7-1.1"] = v["BM7-1.1.3"] = rng.choice([95, 98, 100, 100])
    v["BM7-1.2"] = v["BM7-1.2.3"] = rng.choice([90, 95, 100])
    v["BM7-2.1.1"] = rng.randint(50, 80)
    v["BM7-2.1.2"] = rng.randint(v["BM7-2.1.1"] - 10, v["BM7-2.1.1"])
    v["BM7-2.1.3"] = rng.randint(5, 20)
    v["BM7-2.2.1"] = rng.randint(40, 70)
    v["BM7-2.2.2"] = rng.randint(v["BM7-2.2.1"] - 10, v["BM7-2.2.1"])
    v["BM7-2.2.3"] = rng.randint(3, 15)
    v["BM7-2.3.1"] = v["BM7-2.1.2"] + v["BM7-2.2.2"]
    v["BM7-2.3.2"] = v["BM7-2.3.1"] - rng.randint(0, 5)
    v["BM7-2.4.1"] = rng.randint(200, 900)
    v["BM7-2.4.2"] = rng.randint(v["BM7-2.4.1"] // 2, v["BM7-2.4.1"])
    v["BM7-2.5.1"] = rng.randint(20, 40)
    v["BM7-2.5.2"] = rng.randint(10, v["BM7-2.5.1"])
    return v


def write_roster(path: Path) -> None:
    lines = ["ma_don_vi,ten_don_vi,cap,don_vi_cha,email",
             "52,Tỉnh Bình Định,tinh,,snv@binhdinh.example",
             "540,Thị xã Hoài Nhơn,huyen,52,pnv@hoainhon.example"]
    for code, name in WARDS:
        email = "" if code == "22217" else f"vp.{code}@hoainhon.example"  # Hoài Sơn has no address on file
        lines.append(f"{code},{name},xa,540,{email}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_hand_made(path: Path, spec, unit_name: str, values: dict, saved: datetime) -> None:
    """The familiar layout typed by hand: all seven forms down one sheet, no metadata, numbers as text."""
    import xlsxwriter

    wb = xlsxwriter.Workbook(path)
    wb.set_properties({"created": saved.astimezone(timezone.utc).replace(tzinfo=None)})
    ws = wb.add_worksheet("Phụ lục I")
    bold = wb.add_format({"bold": True})
    ws.set_column(0, 0, 8)
    ws.set_column(1, 1, 70)
    ws.set_column(2, 4, 14)
    row = 0
    ws.write(row, 0, f"UBND {unit_name}".replace("UBND Xã", "UBND xã"), bold)
    ws.write(row + 1, 0, "BÁO CÁO CẢI CÁCH HÀNH CHÍNH QUÝ II/2023", bold)
    row += 3
    for form in spec.forms:
        ws.write(row, 0, f"{form.name}", bold)
        ws.write(row + 1, 0, form.title, bold)
        ws.write_row(row + 2, 0, ["STT", "Chỉ tiêu thống kê", "Đơn vị tính", "Số liệu", "Ghi chú"], bold)
        ws.write_row(row + 3, 0, ["(1)", "(2)", "(3)", "(4)", "(5)"])
        row += 4
        for ind in form.indicators:
            ws.write_string(row, 0, ind.code + ".")
            ws.write_string(row, 1, ind.full_label)
            ws.write_string(row, 2, ind.unit)
            value = values.get(ind.id)
            if value is not None:
                # typed by hand: some as numbers, counts as text with leading zeros the way people type them
                if isinstance(value, float):
                    text = str(value).replace(".", ",")  # decimal comma, as Vietnamese officials type it
                elif value < 10:
                    text = f"{value:02d}"
                else:
                    text = str(value)
                ws.write_string(row, 3, text)
            row += 1
        row += 1
    wb.close()


def write_word_report(path: Path, spec, unit_name: str, values: dict, saved: datetime) -> None:
    """The report as officials type it in Word: the heading, a paragraph, the closing sentence, then Phụ lục
    I with each Biểu mẫu's title above its table (`STT | Chỉ tiêu thống kê | Kết quả thống kê (Đơn vị
    tính, Số liệu) | Ghi chú`); numbers without thousands dots, decimals with a comma, ratios worked out."""
    from docx import Document

    from cchc_excel.core.text import vn_number
    from cchc_excel.spec.expr import ratio

    doc = Document()
    doc.core_properties.modified = saved.astimezone(timezone.utc).replace(tzinfo=None)
    doc.core_properties.created = doc.core_properties.modified
    for text in (f"UBND {unit_name.upper()}", "BÁO CÁO", "Kết quả công tác cải cách hành chính quý II/2023",
                 "I. CÔNG TÁC CHỈ ĐẠO, ĐIỀU HÀNH CẢI CÁCH HÀNH CHÍNH",
                 "Trong quý II/2023, UBND xã đã ban hành các văn bản chỉ đạo, triển khai công tác cải cách "
                 "hành chính theo kế hoạch năm.",
                 f"Trên đây là báo cáo kết quả công tác cải cách hành chính quý II/2023 của UBND {unit_name.lower()}"
                 "./.".replace("ubnd xã", "UBND xã"), "Phụ lục I", spec.title):
        doc.add_paragraph(text)
    for form in spec.forms:
        doc.add_paragraph(form.name)
        doc.add_paragraph(form.title)
        table = doc.add_table(rows=2, cols=5)
        table.style = "Table Grid"
        top, second = table.rows
        for cell, text in zip(top.cells, ("STT", "Chỉ tiêu thống kê", "Kết quả thống kê", "", "Ghi chú")):
            cell.text = text
        second.cells[2].text, second.cells[3].text = "Đơn vị tính", "Số liệu"
        for i in (0, 1, 4):
            top.cells[i].merge(second.cells[i])
        top.cells[2].merge(top.cells[3])
        for ind in form.indicators:
            value = values.get(ind.id)
            if ind.kind == "ratio":
                value = ratio(values.get(ind.numerator), values.get(ind.denominator))
            cells = table.add_row().cells
            typed = "" if value is None else vn_number(value, group=False)
            for cell, text in zip(cells, (ind.code + ".", ind.full_label, ind.unit, typed, "")):
                cell.text = text
        doc.add_paragraph("")
    doc.save(path)


def main(out: Path = HERE) -> None:
    spec = load_spec()
    write_roster(out / "roster.csv")
    roster = load_roster(out / "roster.csv", levels=spec.levels)
    returns = out / "returns"
    returns.mkdir(exist_ok=True)
    for old in [*returns.glob("*.xlsx"), *returns.glob("*.docx")]:
        old.unlink()
    rng = random.Random(20230614)

    def put(code: str, values: dict, saved: datetime, *, period=PERIOD, name: str | None = None):
        unit = roster.get(code)
        path = returns / (name or template_filename(unit, period))
        write_template(path, spec, level="xa", unit=unit, period=period, values=values, generated_at=saved)

    on_time = datetime(2023, 6, 16, 8, 30, tzinfo=VN)
    for code, _ in WARDS:
        values = synthetic_return(rng)
        if code == "22240":
            put(code, {k: v for k, v in TAM_QUAN_BAC.items() if spec[k].kind != "ratio"}, datetime(2023, 6, 19, 15, 5, tzinfo=VN))
        elif code == "22203":  # Hoài Hảo: a mistake, then the corrected file
            wrong = dict(values, **{"BM3-3.1.2": values["BM3-3.1.1"] + 12})
            put(code, wrong, datetime(2023, 6, 15, 10, 0, tzinfo=VN))
            put(code, values, datetime(2023, 6, 17, 9, 45, tzinfo=VN), name=f"{code}_phuong-hoai-hao_2023-Q2_sua-lai.xlsx")
        elif code == "22205":  # Hoài Tân: errors
            put(code, dict(values, **{"BM3-3.1.2": values["BM3-3.1.1"] + 5, "BM1-5": 0, "BM1-5.1": 15}), on_time)
        elif code == "22211":  # Tam Quan Nam: more staff present than assigned
            put(code, dict(values, **{"BM4-2.1": 18, "BM4-2.2": 21}), on_time)
        elif code == "22212":  # Hoài Châu: late, a number typed as text with a thousands dot
            values["BM7-2.4.1"], values["BM7-2.4.2"] = "1.234", 1100
            put(code, values, datetime(2023, 6, 26, 16, 20, tzinfo=VN))
        elif code == "22216":  # Hoài Phú: hand-made workbook
            write_hand_made(returns / "Bao cao CCHC quy II-2023 xa Hoai Phu.xlsx", spec, "Xã Hoài Phú", values,
                            datetime(2023, 6, 19, 10, 10, tzinfo=VN))
        elif code == "22208":  # Hoài Xuân: last quarter's file by mistake
            put(code, values, datetime(2023, 6, 16, 11, 0, tzinfo=VN), period=parse_period("2023-Q1"))
        elif code == "22215":  # Hoài Mỹ: the report in Word
            write_word_report(returns / "Bao cao CCHC quy II-2023 xa Hoai My.docx", spec, "Xã Hoài Mỹ", values,
                              on_time)
        elif code == "22217":  # Hoài Sơn: nothing
            continue
        else:
            put(code, values, on_time)
    print(f"Đã tạo {len([*returns.glob('*.xlsx'), *returns.glob('*.docx')])} tệp trong {returns}")


if __name__ == "__main__":
    main()
