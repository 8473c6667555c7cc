"""A roster CSV that the csv module cannot read says so in one line, naming the file and the line."""

import pytest
from click.testing import CliRunner

from cchc_excel.cli import cli
from cchc_excel.core.roster import load_roster
from cchc_excel.errors import RosterError

HEAD = "ma_don_vi,ten_don_vi,cap,don_vi_cha,email\n540,Thị xã Hoài Nhơn,huyen,,\n"


def test_a_field_over_the_csv_size_limit(tmp_path):
    path = tmp_path / "don-vi.csv"
    # A quote never closed: the rest of the file becomes one field, past csv's 131,072 characters.
    path.write_text(HEAD + '22240,"Phường Tam Quan Bắc,xa,540,\n' + "22245,Xã Hoài Sơn,xa,540,\n" * 6000,
                    encoding="utf-8")
    with pytest.raises(RosterError) as err:
        load_roster(path)
    assert str(err.value) == ('don-vi.csv, dòng 3: một ô dài quá 131.072 ký tự (có thể thiếu dấu ngoặc kép " '
                              'đóng).')


def test_the_command_says_it_in_one_line(tmp_path):
    path = tmp_path / "don-vi.csv"
    path.write_text(HEAD + '22240,"' + "x" * 200_000 + "\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["check", str(tmp_path), "--roster", str(path)], catch_exceptions=False)
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "một ô dài quá 131.072 ký tự" in result.output
