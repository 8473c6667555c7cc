"""What a merge takes: checked files (`CheckedFile`, which `check.FileReport` is), read once into typed
`Entry`s, and the part of the roster merged (`Scope`)."""

from __future__ import annotations

import os
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


@dataclass(frozen=True, eq=False)  # compared by identity: each entry is one file
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
    try:
        period = parse_period(rep.period) if rep.period else None
    except PeriodError:
        period = None
    saved = _utc(rep.saved_at)
    disk = Path(outer_file(path))  # a member of a zip (`archive.zip!inner.xlsx`) arrived with its archive
    got = None
    if received:
        got = _utc(_received(received, path) or (_received(received, disk) if disk != path else None))
    issues: tuple[Issue, ...] = tuple(rep.issues or ())
    return Entry(
        path=path, unit=_unit_of(rep.unit, roster), period=period,
        period_text=str(period) if period else rep.period, check_status=rep.status, issues=issues,
        values=rep.values or {}, saved_at=saved, received=got, time=saved or got or _mtime(disk),
        sha256=rep.sha256 or "", reported_levels=frozenset(rep.reported_levels or ()),
        merged_units=int(rep.merged_units or 0),
    )


def compact(report, spec) -> "CheckedFile":
    """`report` holding only what a merge needs of it: the non-blank values of the spec's value rows
    (`PackedValues`) and no `Submission`. What the merge makes of it is unchanged: a blank value and an
    absent one are the same to it."""
    changes = {"values": PackedValues.of(report.values or {}, spec)}
    if getattr(report, "submission", None) is not None:
        changes["submission"] = None
    return replace(report, **changes)


class PackedValues(Mapping):
    """A file's non-blank values of the spec's value rows, read-only, as one tuple in the spec's row
    order (a dict per file of 10,000, each with its own copy of the keys, is what made aggregate's memory
    grow with the returns)."""

    __slots__ = ("_ids", "_index", "_data")

    def __init__(self, ids: tuple, index: dict, data: tuple):
        self._ids, self._index, self._data = ids, index, data

    @classmethod
    def of(cls, values: Mapping, spec) -> "PackedValues":
        ids, index = _value_ids(spec)
        return cls(ids, index, tuple(values.get(i) for i in ids))

    def get(self, key, default=None):
        at = self._index.get(key)
        value = None if at is None else self._data[at]
        return default if value is None else value

    def __getitem__(self, key):
        value = self.get(key)
        if value is None:
            raise KeyError(key)
        return value

    def __iter__(self):
        return (i for i, v in zip(self._ids, self._data) if v is not None)

    def __len__(self) -> int:
        return sum(1 for v in self._data if v is not None)


@lru_cache(maxsize=8)
def _value_ids(spec) -> tuple[tuple, dict]:
    """The ids of the spec's value rows and {id: position}, shared by every file's `PackedValues`."""
    ids = tuple(ind.id for ind in spec.value_indicators)
    return ids, {i: n for n, i in enumerate(ids)}


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
