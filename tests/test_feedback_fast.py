"""Feedback workbooks made by patching a base (`check.feedback_fast`) are the full build's (issue 10).

For a varied set of checked files, built in the test, the fast bytes and the full build's are compared part
by part: every cell's value (shared or inline string alike), formula, cached result and resolved format,
every row's attributes, the rest of each sheet's XML as written, and every other part but the shared
strings and the styles (compared through the cells). Both are read back by `check_file`: the same values
and findings, and a feedback sent back unchanged is known as such. LibreOffice opens the fast bytes.
"""

from __future__ import annotations

import io
import re
import zipfile
from datetime import datetime, timezone

import pytest
from python_calamine import CalamineWorkbook

import lo
from workbooks import write_handmade
from cchc_excel.check.feedback import FEEDBACK_SHEET, feedback_bytes, needs_feedback
from cchc_excel.check.feedback_fast import fast_feedback
from cchc_excel.check.feedback_plan import make_plan
from cchc_excel.check.run import check_file
from cchc_excel.core.roster import Unit
from cchc_excel.ooxml.strings import SharedStrings, rich_text
from cchc_excel.spec.loader import load_spec
from cchc_excel.template.build import write_template
from cchc_excel.template.forms import layout

SPEC = load_spec()
CELLS = {ind_id: (sheet, f"D{row + 1}") for ind_id, (sheet, row) in layout(SPEC).items()}
WHEN = datetime(2023, 6, 21, 3, 4, 5, tzinfo=timezone.utc)
WARD = Unit("HN-TQB", "UBND phường Tam Quan Bắc", "xa")
VALUES = {"BM1-1": 6, "BM1-2.1": 25, "BM1-2.2": 30, "BM3-1.4.3": 157, "BM3-1.4": 157,
          "BM3-3.1.1": "khoảng 20", "BM4-2.1": 0, "BM4-2.2": 20, "BM4-3.1": -3, "BM2-1.2": 4}
NOTES = {"BM1-1": "Theo kế hoạch số 12/KH-UBND", "BM4-2.2": "Có 2 người biệt phái"}
LONG_NOTE = ("Số liệu lấy theo báo cáo của bộ phận một cửa, đã đối chiếu với phần mềm, "
             "còn hai hồ sơ chưa nhập\nxem lại sau")


def _ward(d, unit=WARD, period="2023-Q2", values=VALUES, notes=NOTES, level="xa", name="bc.xlsx"):
    path = d / name
    write_template(path, SPEC, level=level, unit=unit, period=period, values=values, notes=notes)
    return path


def _cases(d):
    """name -> a checked file's report, each needing feedback."""
    (d / "h").mkdir()
    handmade = write_handmade(d / "h" / "tay.xlsx", SPEC, {"BM1-1": 6, "BM1-2": 80, "BM1-2.1": 25, "BM1-2.2": 12,
                                                          "BM3-3.1.1": "khoảng 20", "BM2-1.2": 3},
                              extra_rows={3: [("3.9", "Dòng tự thêm", 5)]}, notes={"BM1-1": "abc"})
    odd = Unit("X&1", 'UBND xã "Hòa & Bình" <thử> Đắk Lắk', "xa")
    district = Unit("540", "UBND thị xã Hoài Nhơn", "huyen")
    return {
        "ward": check_file(_ward(d)),
        "explained": check_file(_ward(d, values={"BM4-2.1": 0, "BM4-2.2": 20, "BM1-2.1": 2, "BM1-2.2": 3},
                                      notes={"BM4-2.2": "Biên chế được điều động sang"}, name="giai-trinh.xlsx")),
        "other period": check_file(_ward(d, period="2023-Q1", name="quy1.xlsx"), period="2023-Q2"),
        "handmade": check_file(handmade),
        "odd name": check_file(_ward(d, unit=odd, notes={"BM1-1": LONG_NOTE, "BM3-3.1.1": "  lề  "},
                                     name="ten & la.xlsx")),
        "district": check_file(_ward(d, unit=district, level="huyen", notes={"BM1-3.2": LONG_NOTE},
                                     values={**VALUES, "BM1-3.2": 4, "BM2-1.2": 2, "BM7-2.4.1": 3,
                                             "BM7-2.4.2": 5}, name="huyen.xlsx")),
    }


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    d = tmp_path_factory.mktemp("fast")
    out = {}
    for name, report in _cases(d).items():
        fast = feedback_bytes(report, generated_at=WHEN)
        full = feedback_bytes(report, generated_at=WHEN, fast=False)
        assert fast_feedback(make_plan(report), password=None, generated_at=WHEN) == fast, name
        out[name] = (report, fast, full)
    return out


# --------------------------------------------------------------------------------------------- decoding

def _parts(data: bytes) -> dict:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert z.testzip() is None
        return {name: z.read(name).decode("utf-8") for name in z.namelist()}


def _list(xml: str, outer: str, inner: str) -> list:
    block = re.search(rf"<{outer}\b[^>]*>(.*?)</{outer}>", xml, re.S)
    return re.findall(rf"<{inner}\b[^>]*?(?:/>|>.*?</{inner}>)", block.group(1), re.S) if block else []


def _resolved_styles(styles: str) -> list:
    """Every cell format of styles.xml, its font, fill, border and number format resolved."""
    num_formats = dict(re.findall(r'<numFmt numFmtId="(\d+)" formatCode="([^"]*)"', styles))
    fonts, fills, borders = (_list(styles, o, i) for o, i in (("fonts", "font"), ("fills", "fill"),
                                                                ("borders", "border")))
    out = []
    for xf in _list(styles, "cellXfs", "xf"):
        ids = dict(re.findall(r'(\w+)="([^"]*)"', xf.split(">", 1)[0]))
        number = ids.pop("numFmtId", "0")
        out.append((num_formats.get(number, number), fonts[int(ids.pop("fontId", 0))],
                    fills[int(ids.pop("fillId", 0))], borders[int(ids.pop("borderId", 0))],
                    tuple(sorted(ids.items())), re.sub(r"^<xf\b[^>]*>", "", xf)))
    return out


def _sheet(xml: str, strings: SharedStrings, styles: list) -> tuple:
    """(cells, rows, the XML outside sheetData): cells {ref: (kind, value, formula, format)}."""
    data = re.search(r"<sheetData>(.*?)</sheetData>|<sheetData/>", xml, re.S)
    cells, rows = {}, {}
    for row in re.finditer(r'<row r="(\d+)"([^>]*?)(/?)>', data.group(1) or ""):
        rows[row.group(1)] = row.group(2)
    for m in re.finditer(r'<c r="([A-Z]+\d+)"([^>]*?)(?:/>|>(.*?)</c>)', data.group(1) or "", re.S):
        attrs = dict(re.findall(r'(\w+)="([^"]*)"', m.group(2)))
        content = m.group(3) or ""
        kind = attrs.get("t", "n")
        v = re.search(r"<v>(.*?)</v>", content, re.S)
        formula = re.search(r"<f>(.*?)</f>", content, re.S)
        if kind == "s":
            kind, value = "text", strings[int(v.group(1))]
        elif kind == "inlineStr":
            kind, value = "text", rich_text(re.search(r"<is>(.*)</is>", content, re.S).group(1).encode())
        else:
            value = v.group(1) if v else None
        cells[m.group(1)] = (kind, value, formula and formula.group(1), styles[int(attrs.get("s", 0))])
    return cells, rows, xml[:data.start()] + xml[data.end():]


def _content_types(xml: str) -> set:
    return set(re.findall(r"<(?:Default|Override)\b[^>]*/>", xml))


def _compare(fast: bytes, full: bytes) -> None:
    a, b = _parts(fast), _parts(full)
    assert sorted(a) == sorted(b)
    decoded = []
    for parts in (a, b):
        strings = SharedStrings(parts["xl/sharedStrings.xml"].encode())
        decoded.append((strings, _resolved_styles(parts["xl/styles.xml"])))
    for name in sorted(a):
        if name in ("xl/sharedStrings.xml", "xl/styles.xml"):
            continue
        if name == "[Content_Types].xml":
            assert _content_types(a[name]) == _content_types(b[name])
        elif name.startswith("xl/worksheets/sheet"):
            fast_sheet, full_sheet = (_sheet(p[name], *d) for p, d in ((a, decoded[0]), (b, decoded[1])))
            for what, x, y in zip(("cells", "rows", "rest"), fast_sheet, full_sheet):
                if what == "cells":
                    for ref in sorted(set(x) | set(y)):
                        assert x.get(ref) == y.get(ref), (name, ref)
                assert x == y, (name, what)
        else:
            assert a[name] == b[name], name


# --------------------------------------------------------------------------------------------- the tests

@pytest.mark.parametrize("case", ["ward", "explained", "other period", "handmade", "odd name", "district"])
def test_fast_feedback_is_the_full_build(made, case):
    _, fast, full = made[case]
    assert fast != full  # really patched: the texts are inline strings there
    _compare(fast, full)


@pytest.mark.parametrize("case", ["ward", "explained", "other period", "handmade", "odd name", "district"])
def test_fast_feedback_reads_back_as_the_full_build(made, case, tmp_path):
    report, fast, full = made[case]
    again = []
    for name, data in (("fast", fast), ("full", full)):
        path = tmp_path / f"{name}.xlsx"
        path.write_bytes(data)
        again.append(check_file(path))
    a, b = again
    assert a.status == b.status and a.unit == b.unit and a.period == b.period
    assert a.submission.values == b.submission.values and a.submission.notes == b.submission.notes
    assert a.submission.texts == b.submission.texts
    assert [(i.severity, i.rule, i.indicator, i.message) for i in a.issues] == \
        [(i.severity, i.rule, i.indicator, i.message) for i in b.issues]
    assert a.submission.template == b.submission.template
    assert a.submission.template["feedback_for"] == report.sha256
    if case == "ward":
        assert a.status == "feedback_unchanged"


def test_what_the_fast_path_leaves_to_the_full_build(tmp_path):
    # A unit name holding what looks like an OOXML escape is not written by plain escaping: built in full.
    report = check_file(_ward(tmp_path, unit=Unit("X1", "Xã _x0041_ thử", "xa")))
    assert report.unit["name"] == "Xã _x0041_ thử"
    assert fast_feedback(make_plan(report), password=None, generated_at=WHEN) is None
    assert feedback_bytes(report, generated_at=WHEN) == feedback_bytes(report, generated_at=WHEN, fast=False)
    # A known unit without a period: the forms' unit line is a formula whose cached text names the unit,
    # in the sheets' XML, where the base's tokens are not replaced.
    report = check_file(_ward(tmp_path, period=None, name="khong-ky.xlsx"))
    assert report.unit["name"] == WARD.name and report.period is None and needs_feedback(report)
    assert fast_feedback(make_plan(report), password=None, generated_at=WHEN) is None
    assert feedback_bytes(report, generated_at=WHEN) == feedback_bytes(report, generated_at=WHEN, fast=False)


def test_a_changed_xlsxwriter_costs_speed_not_the_feedback(tmp_path, monkeypatch):
    # The fast path uses private xlsxwriter methods (`Format._get_xf_index`, `Worksheet._prepare_vml_objects`,
    # `_assemble_xml_file`); a release that renames them raises AttributeError there: the full build follows.
    from cchc_excel.check import feedback_fast
    from cchc_excel.template.patched import FilledCopies

    def renamed(*args, **kwargs):
        raise AttributeError("'Worksheet' object has no attribute '_prepare_vml_objects'")

    report = check_file(_ward(tmp_path, name="doi-phien-ban.xlsx"))
    full = feedback_bytes(report, generated_at=WHEN, fast=False)
    feedback_fast._BASES.clear()
    monkeypatch.setattr(FilledCopies, "_comment_parts", renamed)
    with pytest.raises(AttributeError):
        fast_feedback(make_plan(report), password=None, generated_at=WHEN)
    assert feedback_bytes(report, generated_at=WHEN) == full
    feedback_fast._BASES.clear()


def test_a_base_that_cannot_be_built_is_tried_once(tmp_path, monkeypatch):
    from cchc_excel.check import feedback_fast

    tries = []

    def renamed(self, *args, **kwargs):
        tries.append(1)
        raise AttributeError("'Format' object has no attribute '_get_xf_index'")

    report = check_file(_ward(tmp_path, name="mot-lan.xlsx"))
    full = feedback_bytes(report, generated_at=WHEN, fast=False)
    feedback_fast._BASES.clear()
    monkeypatch.setattr(feedback_fast._FeedbackBase, "__init__", renamed)
    assert [feedback_bytes(report, generated_at=WHEN) for _ in range(3)] == [full] * 3
    assert tries == [1]
    feedback_fast._BASES.clear()


def test_one_base_serves_every_unit_of_a_level(tmp_path):
    from cchc_excel.check import feedback_fast

    feedback_fast._BASES.clear()
    for i in range(3):
        unit = Unit(f"X{i}", f"UBND xã Số {i}", "xa")
        report = check_file(_ward(tmp_path, unit=unit, name=f"x{i}.xlsx"))
        data = feedback_bytes(report, generated_at=WHEN)
        rows = CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_name(FEEDBACK_SHEET).to_python()
        assert f"Đơn vị: UBND xã Số {i} (mã X{i})" in rows[1][0]
    assert len(feedback_fast._BASES) == 1


@pytest.mark.libreoffice
def test_libreoffice_opens_the_fast_feedback(made, tmp_path):
    _, fast, _ = made["ward"]
    path = tmp_path / "nhanh.xlsx"
    path.write_bytes(fast)
    saved = lo.convert(path, lo.XLSX, tmp_path / "lo")  # opened without repair and saved
    book = CalamineWorkbook.from_path(str(saved))
    form1 = book.get_sheet_by_name("Biểu mẫu 1").to_python()
    assert form1[11][3] == 30 and form1[8][4] == NOTES["BM1-1"]
    assert book.get_sheet_by_name("Biểu mẫu 3").to_python()[22][3] == "khoảng 20"
    with zipfile.ZipFile(saved) as z:
        names = z.namelist()
        comments = "".join(z.read(n).decode() for n in names if re.match(r"xl/comments\d*\.xml$", n))
        styles = z.read("xl/styles.xml").decode()
    assert "Số nhiệm vụ đã hoàn thành (30) lớn hơn Số nhiệm vụ đề ra trong kế hoạch (25)." in comments
    assert "FFC7CE" in styles.upper()  # the highlighted cells' fill survives
    pages = lo.pdf_text(lo.convert(path, "pdf", tmp_path)).split("\f")
    assert "PHẢN HỒI KẾT QUẢ KIỂM TRA" in pages[0] and "khoảng 20" in " ".join(pages[1:])
    assert check_file(saved).status == "feedback_unchanged"


def test_zip_members_from_segments_and_added_members():
    from cchc_excel.ooxml.patch import Segment, ZipParts

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("a.xml", "<a/>")
    parts = ZipParts(buffer.getvalue())
    head, tail = Segment(b"<x>" + b"fixed " * 500), Segment(b"</x>")
    data = parts.build({"a.xml": [head, "thay đổi".encode(), tail]}, add={"b/c.xml": [b"<c/>"], "d.xml": b"<d/>"})
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert z.testzip() is None
        assert z.read("a.xml") == b"<x>" + b"fixed " * 500 + "thay đổi".encode() + b"</x>"
        assert z.namelist() == ["a.xml", "b/c.xml", "d.xml"] and z.read("b/c.xml") == b"<c/>"
    with pytest.raises(KeyError):
        parts.build(add={"a.xml": b""})
