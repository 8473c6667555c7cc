"""Templates: the locked workbook a unit fills for one period, made from a form spec with xlsxwriter.

Sheets, in order: any `before_sheets`, `Thông tin chung` (cover), `Hướng dẫn` (guide), one sheet per form
(`Biểu mẫu 1` …), any `after_sheets`, and the very hidden `_cchc` (metadata for the reader, see
`metadata.py`). Input cells are unlocked and pale yellow, with data validation; ratios are formulas with
correct cached results; rows of other levels are grey and locked; live checks show beside each row and are
counted on the cover; every sheet is protected and the workbook structure is locked.

Per-unit templates of a roster differ only in the unit's name and code, which live in the shared-strings
table and the custom properties: `write_roster_templates` builds one workbook per level with placeholders
and makes each unit's copy by rewriting those two zip members (see `xlsx_patch.ZipParts`). Filled copies
(feedback workbooks) are made the same way, their cells patched too (`patched.FilledCopies`).
"""

from __future__ import annotations

import io
import os
import re
import unicodedata
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from pathlib import Path

import xlsxwriter

from cchc_excel.template import metadata
from cchc_excel.errors import CchcError, RosterError
from cchc_excel.core.periods import Period, parse_period
from cchc_excel.core.roster import Roster, Unit
from cchc_excel.core.text import drop_ubnd, vn_date
from cchc_excel.spec.loader import load_spec
from cchc_excel.spec.model import FormSpec
from cchc_excel.template.checks import build_checks, is_number, row_results
from cchc_excel.template.cover import CoverInfo, cover_cell, write_cover, write_guide
from cchc_excel.template.signature import Signature
from cchc_excel.template.forms import FormContext, layout, ratio_value, write_form
from cchc_excel.template.styles import FONT, FONT_SIZE, Styles
from cchc_excel.core.atomic import write_bytes_atomic
from cchc_excel.ooxml.patch import ZipParts, lock_structure
from cchc_excel.ooxml.xmltext import escape, plain

SheetHook = Callable[[object, Styles], None]

# Placeholders for the fast per-unit copies: private-use characters no real name contains.
_TOKEN_NAME = "\ue000cchc-unit-name\ue001"
_TOKEN_CODE = "\ue000cchc-unit-code\ue001"
PER_UNIT_PARTS = ("xl/sharedStrings.xml", "docProps/custom.xml")


def template_bytes(spec: FormSpec | str | Path | None = None, *, level: str, unit: Unit | None = None,
                   period: Period | str | None = None, password: str | None = None, values: dict | None = None,
                   notes: dict | None = None, comments: dict | None = None,
                   reported_levels: frozenset | None = None, merged_units: int | None = None,
                   before_sheets: SheetHook | Iterable[SheetHook] | None = None,
                   after_sheets: SheetHook | Iterable[SheetHook] | None = None,
                   generated_at: datetime | None = None, footnotes: dict | None = None,
                   signature: bool = False, feedback: dict | None = None) -> bytes:
    """The template as the bytes of an .xlsx file; the arguments are those of `write_template`, and for a
    report sent upward `footnotes` ({form number: [lines]} printed under the forms) and `signature` (the
    signature block under each form); for a feedback workbook `feedback`, its `metadata.FEEDBACK_KEYS`."""
    spec = _spec(spec)
    if level not in spec.levels:
        raise CchcError(f"Cấp {level!r} không hợp lệ (chỉ nhận: {', '.join(spec.levels)}).")
    period = parse_period(period) if period is not None else None
    reported = frozenset(reported_levels) if reported_levels else spec.reported_levels(level)
    generated_at = _utc(generated_at)
    ctx = _form_context(spec, reported, spec.level_name(level), unit, period, password,
                        values=values, notes=notes, comments=comments, footnotes=footnotes, signature=signature)
    level_name = spec.level_name(level)
    if merged_units is not None:
        level_name += f" (báo cáo tổng hợp {merged_units} đơn vị)"

    output = io.BytesIO()
    workbook = _Workbook(output, {
        "in_memory": True,
        "default_format_properties": {"font_name": FONT, "font_size": FONT_SIZE},
        "default_column_width": 72,
        "default_row_height": 21,
        "strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False,
    })
    styles = Styles(workbook)
    for hook in _hooks(before_sheets):
        hook(workbook, styles)
    info = _cover_info(spec, unit, period, level_name)
    write_cover(workbook, styles, spec, info, ctx, password)
    write_guide(workbook, styles, spec, info, password)
    for form in spec.forms:
        write_form(workbook, styles, form, ctx)
    for hook in _hooks(after_sheets):
        hook(workbook, styles)
    meta = template_metadata(spec, level, reported, unit, period, generated_at, merged_units)
    meta.update({key: str(feedback[key]) for key in metadata.FEEDBACK_KEYS if feedback and key in feedback})
    _write_metadata(workbook, meta, ctx.cells, password)
    _set_properties(workbook, spec, period, generated_at, meta)
    workbook.close()
    return lock_structure(output.getvalue(), password)


class _Worksheet(xlsxwriter.worksheet.Worksheet):
    """xlsxwriter's worksheet, its formula preparation remembered: it runs some 45 regular expressions
    over every formula, and every template of a level writes the same few thousand formulas (a quarter
    of a template's build time)."""

    _prepared: dict = {}

    def _prepare_formula(self, formula, expand_future_functions=False):
        key = (formula, expand_future_functions, self.use_future_functions)
        prepared = self._prepared.get(key)
        if prepared is None:
            if len(self._prepared) >= 50_000:
                self._prepared.clear()
            prepared = self._prepared[key] = super()._prepare_formula(formula, expand_future_functions)
        return prepared


class _Workbook(xlsxwriter.Workbook):
    worksheet_class = _Worksheet


def _form_context(spec: FormSpec, reported: frozenset, level_name: str, unit: Unit | None,
                  period: Period | None, password: str | None, *, values, notes, comments, footnotes=None,
                  signature: bool = False) -> FormContext:
    """What the form sheets share: cells, typed and computed values, notes, comments and live checks, and
    for a report sent upward the footnotes and the signature block under each form."""
    values = _typed_values(spec, values or {})
    notes = _by_indicator(spec, notes or {}, "notes")
    comments = _by_indicator(spec, comments or {}, "comments")
    checks = build_checks(spec, reported, level_name)
    computed = _with_ratios(spec, values, reported)
    ctx = FormContext(spec=spec, reported_levels=reported, cells=layout(spec), values=computed, notes=notes,
                      comments=comments, checks=checks, unit_line=_unit_line(unit, period), password=password,
                      footnotes=dict(footnotes or {}),
                      signature=Signature.of(unit and unit.name) if signature else None)
    ctx.results = {i: row_results(checks.get(i, []), computed) for i in spec.indicators}
    return ctx


def _set_properties(workbook, spec: FormSpec, period: Period | None, generated_at: datetime, meta: dict) -> None:
    """The document properties, and the metadata again as custom properties (read without opening sheets)."""
    workbook.set_properties({
        "title": "Biểu mẫu thống kê CCHC" + (f" {period.label}" if period else ""),
        "subject": spec.title, "author": metadata.GENERATOR, "created": generated_at.replace(tzinfo=None),
        "comments": f"{spec.id} {spec.version}",
    })
    for key in metadata.KEYS + metadata.FEEDBACK_KEYS:
        if key in meta:
            workbook.set_custom_property(metadata.PROPERTY_PREFIX + key, meta[key], "text")


def write_template(path: str | Path, spec: FormSpec | str | Path | None = None, *, level: str,
                   unit: Unit | None = None, period: Period | str | None = None, password: str | None = None,
                   values: dict | None = None, notes: dict | None = None, comments: dict | None = None,
                   reported_levels: frozenset | None = None, merged_units: int | None = None,
                   before_sheets: SheetHook | Iterable[SheetHook] | None = None,
                   after_sheets: SheetHook | Iterable[SheetHook] | None = None,
                   generated_at: datetime | None = None) -> Path:
    """Write a template (or a filled copy of one) to `path`, atomically.

    Args:
        path: the .xlsx file to write; its folder must exist.
        spec: a `FormSpec`, the id or path of a spec (default: the bundled one).
        level: the level of the unit it is for, one of the spec's (`xa`, `huyen`, `so` or `tinh` in the
            2022 forms).
        unit: the unit; its name and code are pre-filled and locked. None: the unit types them.
        period: a `Period` or its text (`2023-Q2`); None: the unit types it.
        password: for sheet and workbook protection (optional; protection prevents accidents only).
        values: indicator id -> number pre-filled into input cells (feedback, merged reports); a text is
            written as text. Ratio rows are always formulas, their cached results computed from these.
        notes: indicator id -> text for the Ghi chú column.
        comments: indicator id -> text, written as a comment on the value cell, which is highlighted.
        reported_levels: row levels to enable (default `spec.reported_levels(level)`; a merged district
            report covers {"huyen", "xa"}).
        merged_units: number of units behind a merged report (metadata `merged=1`, also for 0); None for a
            unit's own return.
        before_sheets, after_sheets: callables `f(workbook, styles)` (or lists of them) that add sheets
            before the cover / after the forms; `styles` is the workbook's `Styles`.
        generated_at: the generation time recorded in the metadata (default: now, UTC).

    Returns:
        The path written.
    """
    data = template_bytes(spec, level=level, unit=unit, period=period, password=password, values=values,
                          notes=notes, comments=comments, reported_levels=reported_levels,
                          merged_units=merged_units, before_sheets=before_sheets, after_sheets=after_sheets,
                          generated_at=generated_at)
    return write_bytes_atomic(path, data)


def template_filename(unit: Unit, period: Period | str) -> str:
    """`22240_phuong-tam-quan-bac_2023-Q2.xlsx` for UBND phường Tam Quan Bắc: the code first, so that the
    files sort and match by code; the name folded to ASCII without the "UBND" prefix."""
    code = re.sub(r"[^A-Za-z0-9._-]+", "-", unit.code).strip("-.") or "don-vi"
    slug = drop_ubnd(unit.slug)
    return f"{code}_{slug}_{parse_period(period).code}.xlsx"


def template_path(output: str | Path, spec: FormSpec, level: str, unit: Unit | None = None,
                  period: Period | None = None) -> Path:
    """Where a template asked for as `output` goes: `output` itself, or, when `output` names a folder (an
    existing one, or written with a slash at the end even before it exists), a file in it named
    `template_filename` for a unit with a code and a period, else `<spec>_<level>[_<period>].xlsx`."""
    text = str(output)
    if not (text.endswith(("/", os.sep)) or os.path.isdir(text)):
        return Path(output)
    if unit is not None and unit.code and period is not None:
        return Path(output) / template_filename(unit, period)
    return Path(output) / f"{spec.id}_{level}{'_' + period.code if period else ''}.xlsx"


def write_roster_templates(roster: Roster, period: Period | str, out_dir: str | Path,
                           spec: FormSpec | str | Path | None = None, *, password: str | None = None,
                           levels: Iterable[str] | None = None, generated_at: datetime | None = None,
                           unit_code: str | None = None) -> list[Path]:
    """One template per reporting unit of `roster` (`Roster.reporting_units`: not the province, which only
    merges; with `unit_code`, the units under that one), in `out_dir` (created if needed).

    Each file is named by `template_filename`. The workbook is built once per level and copied per unit
    by rewriting only the members that name the unit, so a roster of 1,000 units takes about a second.

    Args:
        levels: only the units of these levels (default: all).

    Raises:
        RosterError: when two units would get the same file name.
    """
    spec = _spec(spec)
    period = parse_period(period)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    wanted = set(levels) if levels else None
    units = [u for u in roster.reporting_units(unit_code) if wanted is None or u.level in wanted]
    generated_at = _utc(generated_at)
    copies = UnitCopies(spec, period, password=password, generated_at=generated_at)
    seen: dict[str, str] = {}
    paths = []
    for unit in units:
        name = template_filename(unit, period)
        if name in seen:
            raise RosterError(f"{roster.source}: đơn vị {seen[name]} và {unit.code} cho cùng một tên tệp {name}.")
        seen[name] = unit.code
        paths.append(write_bytes_atomic(out_dir / name, copies.copy(unit)))
    return paths


class UnitCopies:
    """Per-unit templates of one spec and period, made from one build per level.

    `copy(unit)` gives the same workbook as `template_bytes(spec, level=unit.level, unit=unit, ...)`
    (tested part by part), at a fraction of the cost.
    """

    def __init__(self, spec: FormSpec, period: Period, *, password: str | None = None,
                 generated_at: datetime | None = None):
        self.spec = spec
        self.period = period
        self.password = password
        self.generated_at = _utc(generated_at)
        self._bases: dict = {}

    def _base(self, level: str):
        if level not in self._bases:
            placeholder = Unit(_TOKEN_CODE, _TOKEN_NAME, level)
            data = template_bytes(self.spec, level=level, unit=placeholder, period=self.period,
                                  password=self.password, generated_at=self.generated_at)
            parts = ZipParts(data)
            variable = {}
            for name in parts.names():
                text = parts.read(name)
                if _TOKEN_NAME.encode() in text or _TOKEN_CODE.encode() in text:
                    variable[name] = text.decode("utf-8")
            # Only parts whose escaping we reproduce may vary; otherwise build each unit in full.
            usable = set(variable) <= set(PER_UNIT_PARTS)
            self._bases[level] = (parts, variable if usable else None)
        return self._bases[level]

    def copy(self, unit: Unit) -> bytes:
        parts, variable = self._base(unit.level)
        if variable is None or not (plain(unit.name) and plain(unit.code)):
            return template_bytes(self.spec, level=unit.level, unit=unit, period=self.period,
                                  password=self.password, generated_at=self.generated_at)
        name, code = escape(unit.name), escape(unit.code)
        return parts.build({part: text.replace(_TOKEN_NAME, name).replace(_TOKEN_CODE, code).encode("utf-8")
                            for part, text in variable.items()})

    @property
    def fast(self) -> bool:
        """Whether copies are made by rewriting parts (True) or by full builds."""
        return all(variable is not None for _, variable in self._bases.values())


def _utc(moment: datetime | None) -> datetime:
    """`moment` (default now) in UTC, to the second; a naive datetime is taken as UTC. The workbook's
    properties store UTC (`2023-06-16T01:30:00Z`), which the reader turns back into the saving time."""
    moment = moment or datetime.now(timezone.utc)
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc)
    return moment.replace(microsecond=0, tzinfo=timezone.utc)


def _spec(spec) -> FormSpec:
    return spec if isinstance(spec, FormSpec) else load_spec(spec)


def _hooks(hooks) -> list:
    if hooks is None:
        return []
    if callable(hooks):
        return [hooks]
    return list(hooks)


def _typed_values(spec: FormSpec, values: dict) -> dict:
    out = {}
    for ind_id, value in _by_indicator(spec, values, "values").items():
        if value is None or (isinstance(value, str) and not value.strip()) or value != value:  # NaN: blank
            continue
        if isinstance(value, bool):
            value = int(value)
        if not (is_number(value) or isinstance(value, str)):
            value = float(value)  # Decimal, numpy numbers
        out[ind_id] = unicodedata.normalize("NFC", value) if isinstance(value, str) else value
    return out


def _with_ratios(spec: FormSpec, values: dict, reported: frozenset) -> dict:
    """`values` with the ratio rows of the reported levels computed (the formulas' cached results)."""
    computed = dict(values)
    for ind in spec.indicators.values():
        if ind.kind == "ratio" and ind.levels & reported:
            computed[ind.id] = ratio_value(values, ind)
    return computed


def _by_indicator(spec: FormSpec, data: dict, what: str) -> dict:
    unknown = [k for k in data if k not in spec.indicators]
    if unknown:
        raise CchcError(f"{what}: không có chỉ tiêu {', '.join(map(str, unknown))} trong bộ biểu mẫu {spec.id}.")
    return dict(data)


def _unit_line(unit: Unit | None, period: Period | None) -> tuple:
    """The line under a form's title: text when unit and period are known, else a formula on the cover."""
    if unit is not None and unit.name and period is not None:
        return ("text", f"Đơn vị báo cáo: {unit.name} — Kỳ báo cáo: {period.label}")
    name, per = cover_cell("unit_name"), cover_cell("period")
    dots = "…………………………"
    formula = (f'="Đơn vị báo cáo: "&IF({name}="","{dots}",{name})&" — Kỳ báo cáo: "'
               f'&IF({per}="","{dots}",{per})')
    cached = (f"Đơn vị báo cáo: {unit.name if unit and unit.name else dots} — "
              f"Kỳ báo cáo: {period.label if period else dots}")
    return ("formula", formula, cached)


def _cover_info(spec: FormSpec, unit: Unit | None, period: Period | None, level_name: str) -> CoverInfo:
    if period is not None:
        start, end = period.window(spec.cutoff_day)
        window = f"từ ngày {vn_date(start)} đến ngày {vn_date(end)}"
        deadline = vn_date(period.deadline(spec.deadline_day))
    else:
        window = (f"từ ngày {spec.cutoff_day + 1} tháng cuối kỳ báo cáo trước đến ngày {spec.cutoff_day} "
                  f"tháng cuối kỳ báo cáo")
        deadline = f"ngày {spec.deadline_day} tháng cuối kỳ báo cáo"
    return CoverInfo(
        unit_name=unit.name if unit is not None and unit.name else None,
        unit_code=unit.code if unit is not None and unit.code else None,
        level_name=level_name,
        period_label=period.label if period else None,
        window=window,
        deadline=deadline,
        spec_text=f"{spec.id} (phiên bản {spec.version})",
    )


def _version() -> str:
    try:
        from importlib.metadata import version
        return version("cchc_excel")
    except Exception:  # not installed: running from a checkout
        return "0"


def template_metadata(spec, level, reported, unit, period, generated_at, merged_units) -> dict:
    """The metadata pairs (`metadata.KEYS`) of a template, or of a merged report (`merged_units` not None)."""
    meta = {
        "generator": f"{metadata.GENERATOR} {_version()}",
        "spec_id": spec.id,
        "spec_version": spec.version,
        "fingerprint": spec.fingerprint,
        "level": level,
        "reported_levels": ",".join(spec.ordered_levels(reported)),
        "unit_code": unit.code if unit else "",
        "unit_name": unit.name if unit else "",
        "period": period.code if period else "",
        "generated_at": generated_at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        # A merged report of no unit is still a merged report: read as the unit's own return, one level
        # up it would count as a return received.
        "merged": "0" if merged_units is None else "1",
        "units_merged": "" if merged_units is None else str(merged_units),
    }
    assert set(meta) == set(metadata.KEYS)
    return meta


def _write_metadata(workbook, meta: dict, cells: dict, password: str | None) -> None:
    ws = workbook.add_worksheet(metadata.SHEET)
    for row, key in enumerate(k for k in metadata.KEYS + metadata.FEEDBACK_KEYS if k in meta):
        ws.write_string(row, 0, key)
        ws.write_string(row, 1, meta[key])
    header = metadata.LAYOUT_ROW - 1
    for col, text in enumerate(metadata.LAYOUT_HEADER):
        ws.write_string(header, col, text)
    for i, (ind_id, (sheet, row)) in enumerate(cells.items(), start=1):
        ws.write_string(header + i, 0, ind_id)
        ws.write_string(header + i, 1, sheet)
        ws.write_string(header + i, 2, f"D{row + 1}")
    ws.very_hidden()
    ws.protect(password or "")
