"""Roster codes that Excel changed: normalised where unambiguous, else an error naming the line; never kept
in a form that matches no return."""

from datetime import date

import pytest
import xlsxwriter

from cchc_excel.core.roster import Unit, find_unit, load_roster, unit_code
from cchc_excel.errors import RosterError
from cchc_excel.read.reader import read_workbook
from cchc_excel.spec.loader import load_spec
from cchc_excel.template.build import write_template

HEAD = "ma_don_vi,ten_don_vi,cap,don_vi_cha\n"


def roster_csv(tmp_path, lines: str):
    path = tmp_path / "don-vi.csv"
    path.write_text(HEAD + lines, encoding="utf-8")
    return path


def test_a_code_written_as_a_float_is_the_code(tmp_path):
    roster = load_roster(roster_csv(tmp_path, "540.0,Thị xã Hoài Nhơn,huyen,\n22202.0,Phường Bồng Sơn,xa,540.0\n"))
    assert list(roster.units) == ["540", "22202"]
    assert roster.get("22202").parent == "540"
    assert find_unit(roster, "540.0").code == "540"  # an option copied from a spreadsheet


@pytest.mark.parametrize("shown", ["05/01/2023", "1/5/23", "2023-01-05", "5-Jan", "Jan-05", "2.2202E+04",
                                   "1.23457E+11"])
def test_a_code_excel_made_into_a_date_or_cut_is_an_error_naming_the_line(tmp_path, shown):
    path = roster_csv(tmp_path, f"540,Thị xã Hoài Nhơn,huyen,\n{shown},Phường Bồng Sơn,xa,540\n")
    with pytest.raises(RosterError, match=r"don-vi\.csv, dòng 3, cột ma_don_vi: mã .* Văn bản"):
        load_roster(path)


def test_a_parent_code_is_read_the_same_way(tmp_path):
    with pytest.raises(RosterError, match="dòng 3, cột don_vi_cha: .*ngày tháng"):
        load_roster(roster_csv(tmp_path, "540,Thị xã Hoài Nhơn,huyen,\n22202,Phường Bồng Sơn,xa,05/01/2023\n"))


def test_codes_that_only_look_numeric_are_kept():
    for code in ("22202", "HN-TQB", "000.00.12.H10", "540-01", "12.5", "01234", "1-2-3"):
        assert unit_code(code) == code


def test_xlsx_roster_with_a_date_and_a_long_number(tmp_path):
    def write(code):
        path = tmp_path / "don-vi.xlsx"
        wb = xlsxwriter.Workbook(str(path))
        ws = wb.add_worksheet()
        ws.write_row(0, 0, ["ma_don_vi", "ten_don_vi", "cap"])
        ws.write_row(1, 0, ["540", "Thị xã Hoài Nhơn", "huyen"])
        if isinstance(code, date):
            ws.write_datetime(2, 0, code, wb.add_format({"num_format": "dd/mm/yyyy"}))
        else:
            ws.write_number(2, 0, code)
        ws.write_row(2, 1, ["Phường Bồng Sơn", "xa"])
        wb.close()
        return path

    assert list(load_roster(write(22202)))[1].code == "22202"
    with pytest.raises(RosterError, match="dòng 3, cột ma_don_vi: .*ngày tháng"):
        load_roster(write(date(2023, 1, 5)))
    with pytest.raises(RosterError, match="dòng 3, cột ma_don_vi: .*mất chữ số"):
        load_roster(write(1234567890123456789))


def test_a_return_whose_code_excel_changed_finds_its_unit(tmp_path):
    """A template made from a roster saved with `22202.0` is the unit `22202` of the roster fixed since."""
    roster = load_roster(roster_csv(tmp_path, "540,Thị xã Hoài Nhơn,huyen,\n22202,Phường Bồng Sơn,xa,540\n"))
    ward = Unit("22202.0", "Phường Bồng Sơn", "xa")
    path = write_template(tmp_path / "bs.xlsx", load_spec(), level="xa", unit=ward, period="2023-Q2")
    assert read_workbook(path, roster=roster).unit == roster.get("22202")
    assert read_workbook(path, roster=roster, unit_code="22202.0").unit == roster.get("22202")
