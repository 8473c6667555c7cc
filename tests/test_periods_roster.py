"""Periods (codes, Vietnamese labels, cut-off windows) and the roster (columns, errors, tree)."""

from datetime import date

import pytest

from cchc_excel.errors import PeriodError, RosterError
from cchc_excel.core.periods import Period, find_period, parse_period
from cchc_excel.core.roster import load_roster
from cchc_excel.core.text import name_key, slugify
from cchc_excel.spec.loader import load_spec

LEVELS = load_spec().levels


@pytest.mark.parametrize(
    "text, code, label",
    [
        ("2023-Q2", "2023-Q2", "Quý II/2023"),
        ("2023-q1", "2023-Q1", "Quý I/2023"),
        ("2023-H1", "2023-H1", "6 tháng đầu năm 2023"),
        ("2023-9M", "2023-9M", "9 tháng đầu năm 2023"),
        ("2023", "2023", "Năm 2023"),
        ("Quý II/2023", "2023-Q2", "Quý II/2023"),
        ("quý IV/2023", "2023-Q4", "Quý IV/2023"),
        ("Quý 3 năm 2024", "2024-Q3", "Quý III/2024"),
        ("6 tháng đầu năm 2023", "2023-H1", "6 tháng đầu năm 2023"),
        ("Năm 2023", "2023", "Năm 2023"),
    ],
)
def test_parse_period(text, code, label):
    p = parse_period(text)
    assert (p.code, p.label) == (code, label)


@pytest.mark.parametrize("text", ["2023-Q5", "Q2", "quý hai", "", "2023-H2"])
def test_bad_period_says_what_is_accepted(text):
    with pytest.raises(PeriodError, match="2023-Q2"):
        parse_period(text)


@pytest.mark.parametrize(
    "code, start, end, deadline",
    [
        ("2023-Q1", date(2022, 12, 15), date(2023, 3, 14), date(2023, 3, 20)),
        ("2023-Q2", date(2023, 3, 15), date(2023, 6, 14), date(2023, 6, 20)),
        ("2023-Q3", date(2023, 6, 15), date(2023, 9, 14), date(2023, 9, 20)),
        ("2023-H1", date(2022, 12, 15), date(2023, 6, 14), date(2023, 6, 20)),
        ("2023", date(2022, 12, 15), date(2023, 12, 14), date(2023, 12, 20)),
    ],
)
def test_window_and_deadline(code, start, end, deadline):
    p = parse_period(code)
    assert p.window() == (start, end)
    assert p.deadline() == deadline


def test_a_cut_off_at_the_end_of_the_month_gives_calendar_quarters():
    # Provinces that count calendar quarters put the cut-off on the 31st: June and September have 30 days.
    assert parse_period("2023-Q1").window(31) == (date(2023, 1, 1), date(2023, 3, 31))
    assert parse_period("2023-Q3").window(31) == (date(2023, 7, 1), date(2023, 9, 30))
    assert parse_period("2023-H1").window(30) == (date(2022, 12, 31), date(2023, 6, 30))
    assert parse_period("2023-Q2").deadline(31) == date(2023, 6, 30)


def test_quarters_and_containment():
    year = Period(2023, "Y")
    assert [q.code for q in parse_period("2023-H1").quarters] == ["2023-Q1", "2023-Q2"]
    assert year.contains(parse_period("2023-H1")) and not parse_period("2023-H1").contains(year)
    assert not year.contains(Period(2024, "Q1"))


def test_find_period_in_free_text():
    found, _ = find_period("BÁO CÁO CẢI CÁCH HÀNH CHÍNH QUÝ II/2023")
    assert found == Period(2023, "Q2")
    assert find_period("Tam Quan Bắc, ngày tháng 6") is None


def write(tmp_path, text, name="ds.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8-sig")
    return path


ROSTER = """ma_don_vi,ten_don_vi,cap,don_vi_cha,email,ghi_chu
52,Tỉnh Bình Định,tinh,,,
540,Thị xã Hoài Nhơn,huyen,52,pnv@example.vn,
22240,Phường Tam Quan Bắc,xa,540,tqb@example.vn,x
22241,Xã Hoài Sơn,xa,540,,
"""


def test_roster_tree(tmp_path):
    roster = load_roster(write(tmp_path, ROSTER))
    assert len(roster) == 4 and roster.warnings == []
    assert roster.get("22240").email == "tqb@example.vn"
    assert [u.code for u in roster.children("540")] == ["22240", "22241"]
    assert [u.code for u in roster.subtree("540")] == ["540", "22240", "22241"]
    assert [u.code for u in roster.reporting_units("52")] == ["540", "22240", "22241"]
    assert roster.find_by_name("UBND PHƯỜNG TAM QUAN BAC").code == "22240"


def test_roster_xlsx_with_numeric_codes(tmp_path):
    import xlsxwriter

    path = tmp_path / "ds.xlsx"
    wb = xlsxwriter.Workbook(path)
    ws = wb.add_worksheet()
    for r, row in enumerate([["ma_don_vi", "ten_don_vi", "cap", "don_vi_cha"], [540, "Hoài Nhơn", "huyen", ""],
                             [22240, "Tam Quan Bắc", "xa", 540]]):
        ws.write_row(r, 0, row)
    wb.close()
    roster = load_roster(path)
    assert roster.get("22240").parent == "540"


@pytest.mark.parametrize(
    "text, message",
    [
        ("ma_don_vi,ten_don_vi\n1,A\n", "ds.csv, dòng 1: thiếu cột cap"),
        ("ma_don_vi,ten_don_vi,cap\n1,A,xa\n1,B,xa\n", "ds.csv, dòng 3: mã đơn vị '1' bị trùng"),
        ("ma_don_vi,ten_don_vi,cap\n1,A,phuong\n", "ds.csv, dòng 2: cấp 'phuong' của đơn vị 1 không hợp lệ"),
        ("ma_don_vi,ten_don_vi,cap\n,A,xa\n", "ds.csv, dòng 2: thiếu mã đơn vị"),
        ("", "ds.csv: tệp danh sách đơn vị rỗng"),
    ],
)
def test_roster_errors_name_the_line(tmp_path, text, message):
    with pytest.raises(RosterError) as e:
        load_roster(write(tmp_path, text), levels=LEVELS)
    assert message in str(e.value)


def test_the_levels_come_from_the_caller(tmp_path):
    text = "ma_don_vi,ten_don_vi,cap,don_vi_cha\nB,Bộ Nội vụ,bo,\nS,Sở Nội vụ,so,B\nX,Xã A,,S\n"
    with pytest.raises(RosterError, match="ds.csv, dòng 4: cấp '' của đơn vị X không hợp lệ.$"):
        load_roster(write(tmp_path, text))
    text = text.replace("Xã A,,", "Xã A,xa,")
    with pytest.raises(RosterError, match=r"cấp 'bo' của đơn vị B không hợp lệ \(chỉ nhận: tinh, so, huyen, xa\)"):
        load_roster(write(tmp_path, text), levels=LEVELS)
    roster = load_roster(write(tmp_path, text))  # without levels: any level as written
    assert [u.level for u in roster] == ["bo", "so", "xa"]
    assert [u.code for u in roster.reporting_units()] == ["B", "S", "X"]


def test_a_level_that_only_merges_files_no_return(tmp_path):
    roster = load_roster(write(tmp_path, ROSTER), levels=LEVELS)
    assert [u.code for u in roster.reporting_units()] == ["540", "22240", "22241"]  # not the province
    assert roster.name_patterns is roster.name_patterns  # computed once


def test_unknown_parent_is_a_warning_and_a_root(tmp_path):
    roster = load_roster(write(tmp_path, "ma_don_vi;ten_don_vi;cap;don_vi_cha\n22240;Tam Quan Bắc;xa;999\n"))
    assert roster.get("22240").parent is None
    assert "đơn vị cha '999'" in roster.warnings[0]


def test_names_and_slugs():
    assert slugify("Phường Tam Quan Bắc") == "phuong-tam-quan-bac"
    assert slugify("Đồng Xuân") == "dong-xuan"
    assert name_key("UBND phường Hoài Đức") == name_key("hoai duc")


def test_a_loop_of_parents_is_an_error(tmp_path):
    text = "ma_don_vi,ten_don_vi,cap,don_vi_cha\nT,Tỉnh,tinh,\nH,Huyện,huyen,X\nX,Xã,xa,H\n"
    with pytest.raises(RosterError, match="ds.csv: đơn vị cha lặp vòng: H → X → H"):
        load_roster(write(tmp_path, text))
