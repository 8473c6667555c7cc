"""What a merge takes: checked files (`CheckedFile`, which `check.FileReport` is), read once into typed
`Entry`s, and the part of the roster merged (`Scope`)."""

from __future__ import annotations

import os
import sys
from array import array
from dataclasses import dataclass, replace
from functools import lru_cache
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable, Mapping, Protocol

from cchc_excel.core.findings import Issue
from cchc_excel.core.periods import Period, parse_period
from cchc_excel.core.roster import Roster, Unit
from cchc_excel.errors import PeriodError, RosterError
from cchc_excel.read.archive import outer_file


class CheckedFile(Protocol):
    """A checked file as the merge reads it: `check.FileReport`, or anything with these attributes.

    `unit` is {"code", "name", "level"} or a `Unit`; `reported_levels` and `merged_units` come from our
    template's metadata (empty / None for a unit's own return).
    """

    path: str | Path
    status: str
    unit: Mapping | Unit | None
    period: str | None
    values: dict
    issues: list
    sha256: str
    saved_at: datetime | None
    reported_levels: frozenset | None
    merged_units: int | None


@dataclass(frozen=True, eq=False, slots=True)  # compared by identity: each entry is one file
class Entry:
    """One checked file, as the merge uses it."""

    path: Path
    unit: Unit | None
    period: Period | None
    period_text: str | None
    check_status: str
    issues: tuple
    values: dict
    saved_at: datetime | None
    received: datetime | None
    time: datetime | None  # what "latest" compares
    sha256: str
    reported_levels: frozenset
    merged_units: int
    own: bool = False  # the merged unit's own return (`--own`): its own part, never late

    @property
    def name(self) -> str:
        return self.path.name

    def count(self, severity: str) -> int:
        return sum(1 for issue in self.issues if issue.severity == severity)

    @property
    def errors(self) -> int:
        return self.count("error")

    @property
    def warnings(self) -> int:
        return self.count("warning")

    def first_error(self) -> str:
        return next((i.message for i in self.issues if i.severity == "error"), "")


def read_entries(reports: Iterable[CheckedFile], roster: Roster | None, received: Mapping) -> list[Entry]:
    """One `Entry` per checked file, in path order; `received` is {path: datetime received}."""
    received = {str(k): v for k, v in received.items()}
    return [_entry(rep, roster, received) for rep in sorted(reports, key=lambda r: str(r.path))]


def _entry(rep: CheckedFile, roster: Roster | None, received: dict) -> Entry:
    path = Path(rep.path)
    period = _period(rep.period) if rep.period else None
    saved = _utc(rep.saved_at)
    disk = Path(outer_file(path))  # a member of a zip (`archive.zip!inner.xlsx`) arrived with its archive
    got = None
    if received:
        got = _utc(_received(received, path) or (_received(received, disk) if disk != path else None))
    issues: tuple[Issue, ...] = tuple(rep.issues or ())
    return Entry(
        path=path, unit=_unit_of(rep.unit, roster), period=period,
        period_text=_period_text(period) if period else rep.period, check_status=rep.status, issues=issues,
        values=rep.values or {}, saved_at=saved, received=got, time=saved or got or _mtime(disk),
        sha256=rep.sha256 or "", reported_levels=frozenset(rep.reported_levels or ()),
        merged_units=int(rep.merged_units or 0),
    )


def compact(report, spec, roster: Roster | None = None) -> "CompactReport":
    """`report` holding only what a merge needs of it (`CompactReport`): the non-blank values of the
    spec's value rows (`PackedValues`), no `Submission`, the texts every report repeats (status, period,
    levels) shared, and a unit of `roster` as the roster's `Unit` (the merge takes the roster's word for
    it anyway). What the merge makes of it is unchanged: a blank value and an absent one are the same to
    it."""
    unit = report.unit
    if roster is not None and unit and not isinstance(unit, Unit):
        code = str(unit.get("code") or "")
        if code in roster:
            unit = roster.get(code)
    levels = report.reported_levels
    if isinstance(levels, frozenset):
        levels = _LEVELS.setdefault(levels, levels)
    return CompactReport(
        path=report.path, status=_shared(report.status), unit=unit, period=_shared(report.period),
        values=PackedValues.of(report.values or {}, spec), issues=tuple(report.issues or ()),
        sha256=report.sha256, saved_at=report.saved_at, reported_levels=levels, merged_units=report.merged_units)


class CompactReport:
    """A checked file as a merge reads it (the attributes of `CheckedFile`), in little memory."""

    __slots__ = ("path", "status", "unit", "period", "values", "issues", "sha256", "saved_at", "reported_levels",
                 "merged_units")
    submission = None  # never kept

    def __init__(self, **fields):
        for name in self.__slots__:
            setattr(self, name, fields[name])

    def __repr__(self) -> str:
        return f"CompactReport({self.path!r}, {self.status!r})"


def _shared(text):
    return sys.intern(text) if type(text) is str else text


def pack_values(spec, report) -> None:
    """An `after` for `check.run.iter_checked`: the report's values packed (`PackedValues`) in the worker
    that checked it, so that what it sends back, and what the main process keeps, is small."""
    report.values = PackedValues.of(report.values or {}, spec)


_LEVELS: dict = {}  # the few distinct sets of row levels, one object each (bounded by the spec's levels)
_EXACT = 2.0 ** 53  # a whole number up to this is exact as a float


class PackedValues(Mapping):
    """A file's non-blank values of the spec's value rows, read-only, in the spec's row order.

    Numbers are kept as one `array('d')` (NaN for blank) with a bit per position holding an int, so that
    they read back exactly as given (3 stays int 3, 2.5 float 2.5); values of any other type as a tuple.
    A dict per file of 10,000, each with its own keys and float objects, made aggregate's memory grow
    with the returns. The ids are shared by every file of a spec, also across pickling.
    """

    __slots__ = ("_ids", "_index", "_data", "_ints")

    def __init__(self, ids: tuple, index: dict, data, ints: int | None):
        self._ids, self._index, self._data, self._ints = ids, index, data, ints

    @classmethod
    def of(cls, values: Mapping, spec) -> "PackedValues":
        ids, index = value_ids(spec)
        if isinstance(values, PackedValues) and values._ids == ids:
            return values
        items = [values.get(i) for i in ids]
        ints = 0
        for n, v in enumerate(items):
            t = type(v)
            if t is int and -_EXACT <= v <= _EXACT:
                ints |= 1 << n
            elif v is not None and (t is not float or v != v):  # NaN would read back as blank
                return cls(ids, index, tuple(items), None)
        return cls(ids, index, array("d", [_NAN if v is None else v for v in items]), ints)

    def get(self, key, default=None):
        at = self._index.get(key)
        if at is None:
            return default
        value = self._data[at]
        if self._ints is None:
            return default if value is None else value
        if value != value:
            return default
        return int(value) if self._ints >> at & 1 else value

    def floats(self, ids: tuple):
        """The values in the order of `ids` as a float numpy array (NaN for blank), when they are all
        numbers held in that order; else None."""
        if self._ints is None or (ids is not self._ids and ids != self._ids):
            return None
        import numpy as np

        return np.frombuffer(self._data, dtype=float)

    def __getitem__(self, key):
        value = self.get(key)
        if value is None:
            raise KeyError(key)
        return value

    def __iter__(self):
        if self._ints is None:
            return (i for i, v in zip(self._ids, self._data) if v is not None)
        return (i for i, v in zip(self._ids, self._data) if v == v)

    def __len__(self) -> int:
        if self._ints is None:
            return sum(1 for v in self._data if v is not None)
        return sum(1 for v in self._data if v == v)

    def __reduce__(self):
        return _restored, (self._ids, self._data, self._ints)


_NAN = float("nan")


def _restored(ids: tuple, data, ints) -> PackedValues:
    """A pickled `PackedValues`, its ids shared with the other files' of the same spec."""
    ids, index = _shared_ids(ids)
    return PackedValues(ids, index, data, ints)


@lru_cache(maxsize=8)
def _shared_ids(ids: tuple) -> tuple[tuple, dict]:
    """`ids` and {id: position}, the first of equal tuples kept: every file's `PackedValues` shares them."""
    return ids, {i: n for n, i in enumerate(ids)}


@lru_cache(maxsize=8)
def value_ids(spec) -> tuple[tuple, dict]:
    """The ids of the spec's value rows and {id: position}, shared by every file's `PackedValues`."""
    return _shared_ids(tuple(ind.id for ind in spec.value_indicators))


@lru_cache(maxsize=256)  # a Period per distinct text, not one per file
def _period(text: str) -> Period | None:
    try:
        return parse_period(text)
    except PeriodError:
        return None


_period_text = lru_cache(maxsize=256)(str)  # one text per period too


def _received(received: dict, path: Path) -> datetime | None:
    return received.get(str(path.resolve())) or received.get(str(path)) or received.get(path.name)


def own_entries(reports: Iterable[CheckedFile], scope: "Scope", spec) -> list[Entry]:
    """The merged unit's own return(s) (`--own`): the root's, also when the file does not say whose it is,
    covering the rows of the root's level when the file does not say which.

    Raises:
        RosterError: there is no root to merge for, or a file is the return of another unit.
    """
    reports = sorted(reports, key=lambda r: str(r.path))
    if reports and scope.root is None:
        raise RosterError("Cần đơn vị tổng hợp (--unit) để ghép báo cáo riêng của đơn vị (--own).")
    out = []
    for rep in reports:
        e = _entry(rep, scope.roster, {})
        known = e.unit is not None and (scope.roster is None or e.unit.code in scope.roster)
        if known and e.unit.code != scope.root.code:
            raise RosterError(f"{e.path.name}: là báo cáo của {e.unit.name} ({e.unit.code}), không phải báo cáo "
                              f"riêng của {scope.root.name} (--own).")
        levels = e.reported_levels or spec.reported_levels(scope.root.level)
        out.append(replace(e, unit=scope.root, received=None, own=True, reported_levels=frozenset(levels)))
    return out


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    if moment.tzinfo is None:  # docProps/core.xml and our manifests write UTC
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def _mtime(path: Path) -> datetime | None:
    try:
        return datetime.fromtimestamp(os.stat(path).st_mtime, timezone.utc)
    except OSError:
        return None


def _unit_of(info: Mapping | Unit | None, roster: Roster | None) -> Unit | None:
    if not info:
        return None
    if isinstance(info, Unit):
        code, name, level = info.code, info.name, info.level
    else:
        code, name, level = str(info.get("code") or ""), info.get("name") or "", info.get("level")
    if not code:
        return None
    if roster is not None and code in roster:
        return roster.get(code)
    return Unit(code, name or code, level or "")


@dataclass(frozen=True)
class Scope:
    """The units merged: the root (the unit whose report this is, or None) and the codes under it (None
    without a roster: every unit seen)."""

    roster: Roster | None
    root: Unit | None
    codes: frozenset | None

    def __contains__(self, code: str) -> bool:
        return self.codes is None or code in self.codes


def scope_of(roster: Roster | None, unit_code: str | None) -> Scope:
    """The subtree under `unit_code`; without one the roster's only root's, else the whole roster."""
    if roster is None:
        if unit_code:
            raise RosterError(f"Cần danh sách đơn vị (--roster) để tổng hợp theo đơn vị {unit_code}.")
        return Scope(None, None, None)
    if unit_code:
        if unit_code not in roster:
            raise RosterError(f"{roster.source}: không có đơn vị mã {unit_code!r} trong danh sách.")
        return Scope(roster, roster.get(unit_code), frozenset(u.code for u in roster.subtree(unit_code)))
    roots = roster.roots()
    if len(roots) == 1:
        return Scope(roster, roots[0], frozenset(u.code for u in roster.subtree(roots[0].code)))
    return Scope(roster, None, frozenset(u.code for u in roster))
