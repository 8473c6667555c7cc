"""core.text: folding, name keys, slugs, clean text, Vietnamese numbers and dates."""

from datetime import date, datetime

import pytest

from cchc_excel.core.text import (SPREADSHEET_SUFFIXES, clean_text, drop_ubnd, fold, name_key, slugify, vn_date,
                                  vn_datetime, vn_number)


@pytest.mark.parametrize("text, folded", [
    ("Phường Tam Quan Bắc", "phuong tam quan bac"), ("ĐỒNG  XUÂN ", "dong xuan"), ("Uỷ ban", "uy ban"),
    ("Ủy ban\tnhân dân", "uy ban nhan dan"), ("", ""), (22240, "22240"),
    ("Pho\u0302\u0300ng", "phong"),  # decomposed input folds like composed
])
def test_fold(text, folded):
    assert fold(text) == folded


@pytest.mark.parametrize("text, without", [
    ("ubnd phuong x", "phuong x"), ("uy ban nhan dan xa y", "xa y"), ("ubnd-phuong-x", "phuong-x"),
    ("uy-ban-nhan-dan-xa-y", "xa-y"), ("ubnd", "ubnd"), ("ubnd-", "ubnd-"), ("ubndx", "ubndx"),
    ("phuong ubnd x", "phuong ubnd x"),
])
def test_drop_ubnd(text, without):
    assert drop_ubnd(text) == without


@pytest.mark.parametrize("name, key", [
    ("UBND phường Tam Quan Bắc", "tam quan bac"), ("Tam Quan Bac", "tam quan bac"),
    ("Ủy ban nhân dân thị xã Hoài Nhơn", "hoai nhon"), ("Xã Hoài Châu Bắc", "hoai chau bac"),
    ("UBND", "ubnd"), ("Sở Nội vụ", "so noi vu"), ("Phường", "phuong"), ("UBND-Phường Hoài Hảo", "hoai hao"),
])
def test_name_key(name, key):
    assert name_key(name) == key


@pytest.mark.parametrize("text, slug", [
    ("Phường Tam Quan Bắc", "phuong-tam-quan-bac"), ("Đồng Xuân", "dong-xuan"), ("  --  ", "don-vi"),
    ("UBND xã Hoài Mỹ (mới)", "ubnd-xa-hoai-my-moi"), ("Sở Nội vụ / CCHC", "so-noi-vu-cchc"),
])
def test_slugify(text, slug):
    assert slugify(text) == slug


@pytest.mark.parametrize("text, cleaned", [
    ("  Báo\x00cáo\u202equý II ", "Báo cáo quý II"), ("a\r\n\tb", "a b"), ("Ho\u0300a", "Hòa"), ("", ""),
])
def test_clean_text(text, cleaned):
    assert clean_text(text) == cleaned


@pytest.mark.parametrize("value, options, text", [
    (1234, {}, "1.234"), (1234567, {}, "1.234.567"), (16.2, {}, "16,2"), (1234.5, {}, "1.234,5"),
    (-1234.5, {}, "-1.234,5"), (60.6557, {"percent": True}, "60,66"), (100.0, {"percent": True}, "100"),
    (0.123456, {}, "0,1235"), (-0.00001, {}, "0"), (True, {}, "1"), (None, {}, "để trống"),
    (float("inf"), {}, "inf"), (0.1 + 0.2, {}, "0,3"),
    (2.0, {"places": 1, "fixed": True}, "2,0"), (1536.25, {"places": 1, "fixed": True}, "1.536,2"),
    (61.54, {"places": 1, "fixed": True}, "61,5"), (7, {"places": 1, "fixed": True}, "7,0"),
    (1.234, {"group": False}, "1,234"), (1234, {"group": False}, "1234"), (-1234.5, {"group": False}, "-1234,5"),
    (0.483333, {"places": 6}, "0,483333"),
])
def test_vn_number(value, options, text):
    assert vn_number(value, **options) == text


@pytest.mark.parametrize("moment, text", [
    (date(2023, 6, 20), "20/06/2023"), (datetime(2023, 1, 5, 7, 3), "05/01/2023"),
])
def test_vn_date(moment, text):
    assert vn_date(moment) == text


def test_vn_datetime():
    assert vn_datetime(datetime(2023, 6, 20, 14, 5)) == "20/06/2023 14:05"


def test_spreadsheet_suffixes():
    assert SPREADSHEET_SUFFIXES == (".xlsx", ".xlsm", ".xls", ".ods")
    assert "bc_quy_ii.XLSX".lower().endswith(SPREADSHEET_SUFFIXES)
