"""Reporting periods: quarters, 6 and 9 months, the year; their cut-off windows and deadlines.

Written `2023-Q2`, `2023-H1`, `2023-9M`, `2023`; officials write `Quý II/2023`, `6 tháng đầu năm 2023`,
`9 tháng năm 2023`, `năm 2023`, all accepted. Văn bản 581/BNV-CCHC cuts data off on the 14th of the
period's last month, counting from 15/12 of the year before (quarters after the first start on the 15th
of the month the previous quarter ended), and asks for reports by the 20th of the last month. The days are
the spec's data (`periods.cutoff_day`, `periods.deadline_day`).
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta, timezone

from cchc_excel.errors import PeriodError
from cchc_excel.core.text import fold

VIETNAM = timezone(timedelta(hours=7))  # the time deadlines and saving times are read in (no DST)

ROMAN = {"I": 1, "II": 2, "III": 3, "IV": 4}
ROMAN_OF = {v: k for k, v in ROMAN.items()}

def _day_of(year: int, month: int, day: int) -> date:
    """`day` of the month, or the month's last day when it has fewer days."""
    return date(year, month, min(day, calendar.monthrange(year, month)[1]))


# kind -> (first quarter, last quarter)
_SPAN = {"Q1": (1, 1), "Q2": (2, 2), "Q3": (3, 3), "Q4": (4, 4), "H1": (1, 2), "9M": (1, 3), "Y": (1, 4)}


@dataclass(frozen=True, order=True)
class Period:
    """A reporting period of one year: kind is `Q1`..`Q4`, `H1`, `9M` or `Y`."""

    year: int
    kind: str

    def __post_init__(self):
        if self.kind not in _SPAN:
            raise PeriodError(f"Loại kỳ báo cáo {self.kind!r} không hợp lệ.")

    def __str__(self) -> str:
        return str(self.year) if self.kind == "Y" else f"{self.year}-{self.kind}"

    @property
    def code(self) -> str:
        """`2023-Q2`, `2023-H1`, `2023-9M`, `2023`."""
        return str(self)

    @property
    def label(self) -> str:
        """Vietnamese: `Quý II/2023`, `6 tháng đầu năm 2023`, `9 tháng đầu năm 2023`, `Năm 2023`."""
        if self.kind.startswith("Q"):
            return f"Quý {ROMAN_OF[int(self.kind[1])]}/{self.year}"
        if self.kind == "H1":
            return f"6 tháng đầu năm {self.year}"
        if self.kind == "9M":
            return f"9 tháng đầu năm {self.year}"
        return f"Năm {self.year}"

    @property
    def in_sentence(self) -> str:
        """The label as written mid-sentence: `quý II/2023`, `6 tháng đầu năm 2023`, `năm 2023`."""
        return self.label[0].lower() + self.label[1:]

    @property
    def quarters(self) -> tuple:
        """The quarters this period spans, as Periods."""
        first, last = _SPAN[self.kind]
        return tuple(Period(self.year, f"Q{q}") for q in range(first, last + 1))

    @property
    def last_month(self) -> int:
        return _SPAN[self.kind][1] * 3

    def window(self, cutoff_day: int = 14) -> tuple[date, date]:
        """First and last day of the data this period counts (15/12 of last year to 14/06 for H1): from
        the day after the previous period's cut-off to this one's. A cut-off day past the end of a month
        is its last day (31: the calendar quarters, 01/04 to 30/06 for Q2)."""
        first_q = _SPAN[self.kind][0]
        end = _day_of(self.year, self.last_month, cutoff_day)
        if first_q == 1:
            before = _day_of(self.year - 1, 12, cutoff_day)
        else:
            before = _day_of(self.year, (first_q - 1) * 3, cutoff_day)
        return before + timedelta(days=1), end

    def deadline(self, deadline_day: int = 20) -> date:
        """The day the report is due (the last day of the month when the month is shorter)."""
        return _day_of(self.year, self.last_month, deadline_day)

    def previous(self) -> "Period | None":
        """The period just before, of the same length: the quarter before a quarter (`2023-Q1` before
        `2023-Q2`, `2022-Q4` before `2023-Q1`). None for 6 months, 9 months and the year: the period
        before them of the same length is not one the forms report (the year before is `year_before`)."""
        if not self.kind.startswith("Q"):
            return None
        q = int(self.kind[1])
        return Period(self.year, f"Q{q - 1}") if q > 1 else Period(self.year - 1, "Q4")

    def year_before(self) -> "Period":
        """The same period a year before (`2022-Q2` for `2023-Q2`)."""
        return Period(self.year - 1, self.kind)

    @property
    def is_quarter(self) -> bool:
        return self.kind.startswith("Q")

    def contains(self, other: "Period") -> bool:
        """Whether `other` lies within this period (same year, its quarters a subset)."""
        return other.year == self.year and set(other.quarters) <= set(self.quarters)


_CODE_RE = re.compile(r"^(\d{4})(?:-(Q[1-4]|H1|9M|Y))?$", re.I)
_QUARTER_RE = re.compile(r"\bquy\s*(iv|iii|ii|i|[1-4])\s*(?:/|-|nam|\s)\s*(?:nam\s*)?(\d{4})\b")
_MONTHS_RE = re.compile(r"\b(6|9|sau|chin)\s*thang(?:\s*dau)?\s*(?:nam\s*)?(\d{4})\b")
_YEAR_RE = re.compile(r"\bnam\s*(\d{4})\b")


def parse_period(text: str | Period) -> Period:
    """Parse `2023-Q2`, `2023-H1`, `2023-9M`, `2023`, `Quý II/2023`, `6 tháng đầu năm 2023`, `Năm 2023`.

    Raises:
        PeriodError: with a Vietnamese message listing the accepted forms.
    """
    if isinstance(text, Period):
        return text
    raw = str(text).strip()
    m = _CODE_RE.match(raw)
    if m:
        return Period(int(m.group(1)), (m.group(2) or "Y").upper())
    found = find_period(raw)
    if found and fold(raw) == found[1]:
        return found[0]
    raise PeriodError(
        f"Không hiểu kỳ báo cáo {raw!r}. Hãy ghi theo dạng 2023-Q2 (quý), 2023-H1 (6 tháng), "
        f"2023-9M (9 tháng), 2023 (năm) hoặc \"Quý II/2023\"."
    )


def find_period(text: str) -> tuple[Period, str] | None:
    """Find a period written in free text ("BÁO CÁO CẢI CÁCH HÀNH CHÍNH QUÝ II/2023").

    Returns the period and the folded text it was found in, or None.
    """
    folded = fold(str(text))
    m = _QUARTER_RE.search(folded)
    if m:
        q = m.group(1).upper()
        quarter = ROMAN.get(q) or int(q)
        return Period(int(m.group(2)), f"Q{quarter}"), m.group(0)
    m = _MONTHS_RE.search(folded)
    if m:
        kind = "H1" if m.group(1) in ("6", "sau") else "9M"
        return Period(int(m.group(2)), kind), m.group(0)
    m = _YEAR_RE.search(folded)
    if m:
        return Period(int(m.group(1)), "Y"), m.group(0)
    return None
