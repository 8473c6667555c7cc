"""Builders of Word returns for tests, from the seed's own text (`shared/seeds/`): its heading, narrative and
closing sentence, then Phụ lục I as the seed prints it, either one table per Biểu mẫu (titles in paragraphs
above; the seed's page breaks as a header repeated inside the table) or one long table (titles as merged
rows). Values can be changed (mistakes injected) per indicator id, as the text a person types.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from docx import Document


@dataclass
class SeedForm:
    number: int
    title: str
    rows: list = field(default_factory=list)  # (stt, label with <i> marks, unit, value, note)
    breaks: list = field(default_factory=list)  # indexes of rows before which the seed's page broke


@dataclass
class Seed:
    heading: list  # paragraphs before Phụ lục I
    forms: list


def parse_seed(path: Path) -> Seed:
    text = path.read_text(encoding="utf-8")
    head, appendix = text.split("Phụ lục I\n", 1)
    forms, form, pending_break = [], None, False
    lines = appendix.splitlines()
    for i, line in enumerate(lines):
        m = re.match(r"\**Biểu mẫu (\d)", line)
        if m:
            form = SeedForm(int(m.group(1)), lines[i + 1].strip("*").strip())
            forms.append(form)
            pending_break = False
            continue
        cols = line.split("\t")
        if form is None or len(cols) < 4:
            continue
        if cols[0] == "STT":
            pending_break = bool(form.rows)
            continue
        if re.fullmatch(r"\d+(\.\d+)*\.", cols[0]):
            if pending_break:
                form.breaks.append(len(form.rows))
                pending_break = False
            form.rows.append((cols[0], cols[1], cols[2], cols[3].strip(), cols[4].strip() if len(cols) > 4 else ""))
    heading = [p.strip() for p in head.split("\n\n") if p.strip()]
    return Seed(heading, forms)


def _runs(paragraph, text: str) -> None:
    """`text` with `<i>...</i>` parts as italic runs."""
    for i, part in enumerate(re.split(r"</?i>", text)):
        if part:
            paragraph.add_run(part).italic = i % 2 == 1


def _cell(cell, text: str) -> None:
    cell.paragraphs[0].text = ""
    _runs(cell.paragraphs[0], text)


def _header(table) -> None:
    top, second = table.add_row(), table.add_row()
    for cell, text in zip(top.cells, ("STT", "Chỉ tiêu thống kê <i>(Sử dụng trong kỳ báo cáo hàng quý, 6 tháng, "
                                             "năm)</i>", "Kết quả thống kê", "", "Ghi chú")):
        _cell(cell, text)
    _cell(second.cells[2], "Đơn vị tính")
    _cell(second.cells[3], "Số liệu")
    for i in (0, 1, 4):
        top.cells[i].merge(second.cells[i])
    top.cells[2].merge(top.cells[3])


def write_word_return(path: Path, seed: Seed, *, layout: str = "tables", values: dict | None = None,
                      heading: bool = True, appendix: bool = True, unit_line: str = "UBND PHƯỜNG TAM QUAN BẮC",
                      drop_forms=()) -> Path:
    """The seed's return as a .docx; `values`: indicator id -> the text typed in its Số liệu cell."""
    values = values or {}
    doc = Document()
    if heading:
        doc.add_paragraph(unit_line)  # the seed's text lost its letterhead: put it back
        for text in seed.heading:
            doc.add_paragraph(text)
    if not appendix:
        doc.save(path)
        return path
    doc.add_paragraph("Phụ lục I")
    doc.add_paragraph("BIỂU MẪU THỐNG KÊ SỐ LIỆU BÁO CÁO CẢI CÁCH HÀNH CHÍNH ĐỊNH KỲ CỦA CÁC CƠ QUAN, ĐỊA PHƯƠNG")
    table = None
    for form in seed.forms:
        if form.number in drop_forms:
            continue
        if layout == "long":
            if table is None:
                table = doc.add_table(rows=0, cols=5)
            title = table.add_row()
            title.cells[0].merge(title.cells[4])
            _cell(title.cells[0], f"Biểu mẫu {form.number}\n{form.title}")
        else:
            doc.add_paragraph(f"Biểu mẫu {form.number}")
            doc.add_paragraph(form.title)
            table = doc.add_table(rows=0, cols=5)
        table.style = "Table Grid"
        _header(table)
        for i, (stt, label, unit, value, note) in enumerate(form.rows):
            if i in form.breaks:
                _header(table)  # where the printed page broke
            ind_id = f"BM{form.number}-{stt.rstrip('.')}"
            row = table.add_row()
            for cell, text in zip(row.cells, (stt, label, unit, values.get(ind_id, value), note)):
                _cell(cell, text)
        if layout != "long":
            doc.add_paragraph("")
    doc.save(path)
    return path
