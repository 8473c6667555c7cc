"""Tests of cchc_excel.core.values: one cell value as officials type it."""

import datetime as dt

import pytest

from cchc_excel.core.values import Parsed, is_blank, parse_value, scale_fraction

NBSP = "\u00a0"
ALL_KINDS = ["count", "amount", "ratio", "rate", "flag", "choice"]

# (raw, kind, expected value, ok, note expected?)
CASES = [
    # numbers from calamine: whole floats become int
    (369.0, "count", 369, True, False),
    (369, "count", 369, True, False),
    (12.5, "amount", 12.5, True, False),
    (0.0, "count", 0, True, False),
    (-3.0, "count", -3, True, False),  # negatives parse; the rules engine reports them
    (2.5, "count", 2.5, True, False),  # a fraction in a count parses; the rules report it
    (0.48, "rate", 0.48, True, False),  # no percent format: left as is
    (1.0, "ratio", 1, True, False),
    (60.65, "ratio", 60.65, True, False),
    # blanks
    (None, "count", None, True, False),
    ("", "count", None, True, False),
    ("   ", "amount", None, True, False),
    (NBSP + " ", "rate", None, True, False),
    ("\u200b", "count", None, True, False),
    ("x", "count", None, True, True),
    ("X", "amount", None, True, True),
    ("-", "count", None, True, True),
    (" - ", "rate", None, True, True),
    ("\u2013", "count", None, True, True),  # en dash
    ("\u2014", "count", None, True, True),  # em dash
    ("/", "count", None, True, True),
    ("không có", "count", None, True, True),
    ("Không có", "flag", None, True, True),
    # numbers stored as text
    ("369", "count", 369, True, False),
    (" 369" + NBSP, "count", 369, True, False),
    ("02", "count", 2, True, False),  # leading zero (the seed writes 02): harmless, no note
    ("0", "flag", 0, True, False),
    ("2", "choice", 2, True, False),
    ("-5", "count", -5, True, False),
    ("- 5", "count", -5, True, False),
    ("+5", "count", 5, True, False),
    ("\u22125", "count", -5, True, False),  # Unicode minus sign
    # decimal comma / dot
    ("16,2", "amount", 16.2, True, False),
    ("16,2", "rate", 16.2, True, False),
    ("16.2", "rate", 16.2, True, False),
    ("0,5", "amount", 0.5, True, False),
    ("0,234", "amount", 0.234, True, False),  # first group 0: cannot be thousands
    (",5", "amount", 0.5, True, False),
    ("1234,5", "amount", 1234.5, True, False),
    ("369,0", "count", 369, True, False),
    ("2,5", "count", 2.5, True, False),
    # thousands separators
    ("1.234", "count", 1234, True, True),
    ("1.234", "amount", 1234, True, True),  # Vietnamese: dot = thousands
    ("1.234", "flag", 1234, True, True),
    ("1.234", "choice", 1234, True, True),
    ("1.234", "rate", 1.234, True, True),  # a percent never has a thousands group
    ("1.234", "ratio", 1.234, True, True),
    ("1.000", "rate", 1, True, True),
    ("1,234", "count", 1234, True, True),  # ambiguous; a count is whole
    ("1,234", "amount", 1.234, True, True),  # Vietnamese: comma = decimal
    ("1,234", "rate", 1.234, True, True),
    ("1,234", "ratio", 1.234, True, True),
    ("-1.234", "count", -1234, True, True),
    ("1.234.567", "count", 1234567, True, False),
    ("1,234,567", "count", 1234567, True, False),
    ("1.234,5", "amount", 1234.5, True, False),
    ("1,234.5", "amount", 1234.5, True, False),
    ("1.234.567,89", "amount", 1234567.89, True, False),
    ("1 234", "count", 1234, True, False),
    ("1" + NBSP + "234 567", "count", 1234567, True, False),
    ("1 234,5", "amount", 1234.5, True, False),
    # percent sign
    ("48%", "rate", 48, True, False),
    ("48 %", "ratio", 48, True, False),
    ("48" + NBSP + "%", "rate", 48, True, False),
    ("48,5%", "rate", 48.5, True, False),
    ("48%", "count", "48%", False, False),  # a percentage is not a count
    ("48%", "amount", "48%", False, False),
    # flag words
    ("Có", "flag", 1, True, True),
    ("có", "flag", 1, True, True),
    ("Không", "flag", 0, True, True),
    ("không", "flag", 0, True, True),
    ("Hoàn thành", "flag", 1, True, True),
    ("Chưa hoàn thành", "flag", 0, True, True),
    ("co", "flag", 1, True, True),
    ("Co\u0301", "flag", 1, True, True),  # decomposed Unicode from some keyboards
    ("Có", "count", "Có", False, False),
    ("Kết hợp", "choice", "Kết hợp", False, False),  # choice labels are not known here
    # bool cells
    (True, "flag", 1, True, False),
    (False, "flag", 0, True, False),
    (True, "count", 1, True, True),
    (False, "amount", 0, True, True),
    # not numbers
    ("khoảng 20", "count", "khoảng 20", False, False),
    ("abc", "amount", "abc", False, False),
    ("1.2.3", "count", "1.2.3", False, False),
    ("1.234.5", "count", "1.234.5", False, False),
    ("12 34", "count", "12 34", False, False),
    ("5,", "count", "5,", False, False),
    ("--5", "count", "--5", False, False),
    ("#DIV/0!", "ratio", "#DIV/0!", False, True),
    (float("nan"), "count", "nan", False, False),
    ("9" * 65, "count", "9" * 65, False, False),  # too long to be a number (int() refuses 4,300 digits)
    ("9" * 5000, "amount", "9" * 5000, False, False),
]


@pytest.mark.parametrize("raw,kind,value,ok,has_note", CASES)
def test_parse_value(raw, kind, value, ok, has_note):
    p = parse_value(raw, kind)
    assert p.value == value
    assert type(p.value) is type(value)  # int when whole, float otherwise, str for bad text
    assert p.ok is ok
    assert (p.note is not None) is has_note, p.note
    assert p.raw is raw


@pytest.mark.parametrize("raw,kind,note", [
    ("1.234", "count", "Đã hiểu '1.234' là 1234 (dấu chấm phân cách hàng nghìn)."),
    ("1,234", "count", "Đã hiểu '1,234' là 1234 (dấu phẩy phân cách hàng nghìn), vì chỉ tiêu này là số nguyên."),
    ("1,234", "amount", "Đã hiểu '1,234' là 1,234 (dấu phẩy thập phân), không phải 1234."),
    ("1.234", "rate", "Đã hiểu '1.234' là 1,234 (dấu chấm thập phân), không phải 1234."),
    ("-1.234", "count", "Đã hiểu '-1.234' là -1234 (dấu chấm phân cách hàng nghìn)."),
    ("x", "count", "Đã hiểu 'x' là để trống (không có số liệu), không phải số 0."),
    (" - ", "count", "Đã hiểu '-' là để trống (không có số liệu), không phải số 0."),
    ("Hoàn thành", "flag", "Đã hiểu 'Hoàn thành' là 1."),
    (True, "count", "Ô chứa giá trị logic TRUE; đã hiểu là 1."),
])
def test_note_text(raw, kind, note):
    assert parse_value(raw, kind).note == note


@pytest.mark.parametrize("raw,kind,value", [
    (0.48, "rate", 48),  # 0.48 * 100 = 48.00000000000001 without rounding
    (0.48, "ratio", 48),
    (0.07, "ratio", 7),
    (0.29, "rate", 29),
    (0.5551, "ratio", 55.51),
    (0.6065, "ratio", 60.65),
    (1.0, "rate", 100),
    (1, "rate", 100),
    (0.0, "ratio", 0),
    (1.5, "rate", 150),  # over 100: parsed, the rules report it
    (0.48, "count", 0.48),  # percent format only matters for ratio and rate
    (3.0, "amount", 3),
    ("48%", "rate", 48),  # text is not scaled: the official typed the percent
    ("0,48", "rate", 0.48),
])
def test_percent_format(raw, kind, value):
    p = parse_value(raw, kind, percent_format=True)
    assert p.value == value and type(p.value) is type(value)
    assert p.ok and p.note is None


@pytest.mark.parametrize("value,expected", [(0.48, 48.0), (0.07, 7.0), (0.29, 29.0), (0.5551, 55.51), (1, 100.0),
                                            (0.333333333333, 33.3333333333)])
def test_scale_fraction(value, expected):
    assert scale_fraction(value) == expected
    assert isinstance(scale_fraction(value), float)


@pytest.mark.parametrize("raw,text", [
    (dt.date(2024, 2, 1), "01/02/2024"),  # what Excel makes of "1/2"
    (dt.datetime(2024, 2, 1), "01/02/2024"),
    (dt.datetime(2024, 2, 1, 8, 30), "01/02/2024 08:30"),
    (dt.time(1, 30), "01:30"),
    (dt.timedelta(hours=30), "1 day, 6:00:00"),
])
@pytest.mark.parametrize("kind", ["count", "amount", "rate", "flag"])
def test_dates_are_not_numbers(raw, text, kind):
    p = parse_value(raw, kind)
    assert p.ok is False and p.value == text and p.raw is raw
    assert "'1/2'" in p.note and text in p.note


@pytest.mark.parametrize("raw", [None, "", "x", 3.0, "abc", True, dt.date(2024, 1, 1)])
def test_header_is_always_none(raw):
    assert parse_value(raw, "header") == Parsed(None, True, None, raw)


@pytest.mark.parametrize("raw", [1.0, "1", None])
def test_unknown_kind_raises(raw):
    with pytest.raises(ValueError):
        parse_value(raw, "percent")


@pytest.mark.parametrize("raw,blank", [
    (None, True), ("", True), ("  ", True), (NBSP, True), ("x", True), ("X", True), ("-", True), ("\u2014", True),
    ("/", True), ("không có", True), ("Không có", True),
    (0.0, False), (0, False), ("0", False), ("02", False), (False, False), ("abc", False), (dt.date(2024, 1, 1), False),
])
def test_is_blank(raw, blank):
    assert is_blank(raw) is blank


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_blank_agrees_with_is_blank(kind):
    for raw in ["", " ", "x", "-", "không có", None]:
        assert is_blank(raw) and parse_value(raw, kind).value is None and parse_value(raw, kind).ok


def test_parsed_is_frozen():
    p = parse_value(1.0, "count")
    with pytest.raises(AttributeError):
        p.value = 2  # type: ignore[misc]
