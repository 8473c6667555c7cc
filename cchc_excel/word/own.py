"""One unit's own return as the merge of that unit alone, so that `write_report` drafts its report."""

from __future__ import annotations

from pathlib import Path

from cchc_excel.core.periods import Period
from cchc_excel.core.roster import Roster, Unit
from cchc_excel.errors import CchcError
from cchc_excel.merge.result import MergeResult
from cchc_excel.spec.loader import load_spec
from cchc_excel.spec.model import FormSpec

__all__ = ["own_result"]


def own_result(path: str | Path, spec: FormSpec | str | None = None, *, roster: Roster | None = None,
               unit_code: str | None = None, period: Period | str | None = None) -> MergeResult:
    """Read and check one return (a workbook or a Word report) and merge it alone, as its own unit's.

    Its numbers are taken even when it has errors: the draft is the unit's own, to finish by hand.

    Raises:
        CchcError: the file cannot be read, or whose it is (or its level) cannot be told.
    """
    from cchc_excel.check.run import check_file
    from cchc_excel.merge.run import aggregate_paths

    spec = spec if isinstance(spec, FormSpec) else load_spec(spec)
    checked = check_file(path, spec, roster=roster, unit_code=unit_code, period=period, keep_submission=False)
    if checked.status == "unreadable":
        raise CchcError(checked.issues[0].message)
    found = checked.unit or {}
    unit = roster.get(found["code"]) if roster is not None and found.get("code") in roster else None
    if unit is None:
        if not found.get("code") or found.get("level") not in spec.levels:
            raise CchcError(f"{Path(path).name}: không xác định được đơn vị gửi báo cáo hoặc cấp của đơn vị; "
                            "hãy chỉ rõ --roster (và --unit).")
        unit = Unit(found["code"], found["name"], found["level"])
    alone = Roster(units={unit.code: Unit(unit.code, unit.name, unit.level)}, source=str(path),
                   levels=roster.levels if roster is not None else {})
    return aggregate_paths([path], spec, roster=alone, unit_code=unit.code, period=period or checked.period,
                           include_errors=True, jobs=1)
