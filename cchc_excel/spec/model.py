"""The form spec: the Biểu mẫu of one issued version of the forms, loaded from YAML and validated.

The code knows nothing of one version of the forms: everything specific (rows, labels, kinds, levels,
rules, aggregation) lives in `forms/<id>.yaml`. A row is referred to as `BM<form>-<code>`, for example
`BM3-3.1.2`; codes are strings, never floats.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from cchc_excel.core.findings import SEVERITIES
from cchc_excel.core.kinds import CODED_KINDS, INPUT_KINDS, KINDS, PERCENT_KINDS, QUANTITY_KINDS, VALUE_KINDS
from cchc_excel.errors import SpecError

FORMS_DIR = Path(__file__).parent / "forms"
DEFAULT_SPEC = "cv371-2022"

LEVELS = ("tinh", "so", "huyen", "xa")
REPORTING_LEVELS = ("so", "huyen", "xa")
UNIT_AGGREGATIONS = ("sum", "max", "ratio", "mean", "flag", "choice", "none")
TIME_AGGREGATIONS = ("flow", "stock", "ratio", "mean", "any", "none")
RULE_KINDS = ("le", "eq", "ge", "blank_if")
CHECK_IDS = (
    "not-number", "negative", "not-whole", "percent-range", "not-choice", "wrong-level",
    "ratio", "ratio-no-denominator", "ratio-no-numerator", "formula-overwritten", "parent-blank",
)

# Aggregation over units and over time when a row does not say.
DEFAULT_UNITS = {"header": "none", "count": "sum", "amount": "sum", "ratio": "ratio", "rate": "mean",
                 "flag": "flag", "choice": "choice"}
DEFAULT_TIME = {"header": "none", "count": "flow", "amount": "flow", "ratio": "ratio", "rate": "mean",
                "flag": "any", "choice": "stock"}

_CODE_RE = re.compile(r"^\d+(\.\d+)*$")


def indicator_id(form: int, code: str) -> str:
    """`indicator_id(3, "3.1.2") == "BM3-3.1.2"`."""
    return f"BM{form}-{code}"


@dataclass(frozen=True)
class Indicator:
    """One row of a form ("chỉ tiêu thống kê")."""

    id: str
    form: int
    code: str
    label: str
    note: str
    unit: str
    kind: str
    levels: frozenset
    units: str
    time: str
    italic: bool = False
    choices: tuple = ()  # ((code, label), ...) in printed order
    combine: tuple = ()  # ((code, (part codes)), ...): a choice code standing for several others together
    numerator: str | None = None  # indicator ids, for ratio rows
    denominator: str | None = None
    parent: str | None = None
    children: tuple = ()

    @property
    def is_input(self) -> bool:
        """Typed by the unit (not a header, not a computed ratio)."""
        return self.kind in INPUT_KINDS

    @property
    def full_label(self) -> str:
        """Label and note as printed."""
        return f"{self.label} {self.note}" if self.note else self.label

    @property
    def choice_codes(self) -> tuple:
        return tuple(code for code, _ in self.choices)

    def concerns(self, level: str | None) -> bool:
        """Whether a unit of `level` reports this row (None: unknown level, so yes)."""
        return level is None or level == "tinh" or level in self.levels


@dataclass(frozen=True)
class Form:
    """One Biểu mẫu."""

    number: int
    title: str
    indicators: tuple
    footnote: str = ""

    @property
    def id(self) -> str:
        return f"BM{self.number}"

    @property
    def name(self) -> str:
        """`Biểu mẫu 3`: the printed heading and the sheet title."""
        return f"Biểu mẫu {self.number}"


@dataclass(frozen=True)
class Check:
    """A generic check run on every row of its kind; its message is a template."""

    id: str
    severity: str
    message: str


@dataclass(frozen=True)
class Rule:
    """A rule between rows: `le`, `eq`, `ge` compare sums of indicators; `blank_if` is a conditional."""

    id: str
    kind: str
    severity: str
    message: str
    left: tuple = ()
    right: tuple = ()
    when: str | None = None
    equals: float | None = None
    rows: tuple = ()

    @property
    def indicators(self) -> tuple:
        return self.left + self.right + self.rows + ((self.when,) if self.when else ())


@dataclass(frozen=True)
class LevelInfo:
    code: str
    name: str
    reports: tuple  # levels of the rows its report covers


@dataclass(frozen=True)
class FormSpec:
    """One issued version of the forms."""

    id: str
    version: str
    appendix: str
    title: str
    issued_with: str
    column_note: str
    forms: tuple
    checks: dict
    rules: tuple
    levels: dict
    cutoff_day: int = 14
    deadline_day: int = 20
    charts: tuple = ()  # % rows the merged workbook charts per unit (ids), in order
    source: str = ""
    indicators: dict = field(default_factory=dict, compare=False, repr=False)
    origin: str = field(default="", compare=False, repr=False)  # the file `load_spec` read it from

    def __getitem__(self, indicator_id: str) -> Indicator:
        return self.indicators[indicator_id]

    def form(self, number: int) -> Form:
        for form in self.forms:
            if form.number == number:
                return form
        raise KeyError(number)

    @property
    def value_indicators(self) -> list:
        """Every row that holds a value (all but headers), in order."""
        return [ind for ind in self.indicators.values() if ind.kind in VALUE_KINDS]

    def level_name(self, level: str) -> str:
        info = self.levels.get(level)
        return info.name if info else level

    def reported_levels(self, level: str) -> frozenset:
        """The row levels a report of `level` covers (tinh covers all)."""
        info = self.levels.get(level)
        return frozenset(info.reports) if info else frozenset({level})

    @property
    def fingerprint(self) -> str:
        """A short hash of the structure (forms, codes, kinds, ratio operands): changes when layout does."""
        shape = [
            (ind.id, ind.kind, ind.numerator, ind.denominator, sorted(ind.levels), ind.choice_codes)
            for ind in self.indicators.values()
        ]
        blob = json.dumps([self.id, self.version, shape], ensure_ascii=False, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


def available_specs() -> list[str]:
    """Ids of the specs shipped with the package."""
    return sorted(p.stem for p in FORMS_DIR.glob("*.yaml"))


def load_spec(ref: str | Path | None = None) -> FormSpec:
    """Load and validate a form spec, by id of a bundled spec (`cv371-2022`) or by path to a YAML file.

    Raises:
        SpecError: naming the file and the row, when the spec is missing or inconsistent.
    """
    if ref is None:
        ref = DEFAULT_SPEC
    path = Path(ref)
    if not path.suffix:
        path = FORMS_DIR / f"{ref}.yaml"
    return _load_spec_cached(str(path.resolve()))


@lru_cache(maxsize=8)
def _load_spec_cached(path_str: str) -> FormSpec:
    path = Path(path_str)
    if not path.is_file():
        known = ", ".join(available_specs())
        raise SpecError(f"Không tìm thấy bộ biểu mẫu {path.name!r} (có sẵn: {known}).")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise SpecError(f"{path.name}: tệp YAML không hợp lệ: {e}") from e
    return replace(parse_spec(data, source=path.name), origin=path_str)


def spec_ref(spec: FormSpec) -> str | None:
    """What `load_spec` takes to give back this spec (from its cache), or None when it cannot (a spec
    built in memory, or changed since it was loaded). Lets a return be pickled without its spec."""
    if not spec.origin:
        return None
    try:
        loaded = load_spec(spec.origin)
    except SpecError:
        return None
    return spec.origin if loaded is spec or loaded == spec else None


def _nfc(text: Any) -> str:
    return unicodedata.normalize("NFC", str(text)).strip() if text is not None else ""


def parse_spec(data: Any, source: str = "<spec>") -> FormSpec:
    """Build a validated `FormSpec` from already-parsed YAML data."""

    def fail(where: str, what: str):
        raise SpecError(f"{source}: {where}: {what}")

    if not isinstance(data, dict):
        fail("tệp", "phải là một bảng (mapping) YAML")
    for key in ("id", "version", "forms"):
        if key not in data:
            fail("tệp", f"thiếu khóa bắt buộc {key!r}")

    levels = _parse_levels(_mapping(data.get("levels"), "levels", fail), fail)
    periods = _mapping(data.get("periods"), "periods", fail)
    cutoff_day = _day(periods, "cutoff_day", 14, 29, fail)  # 15/06..14/09: day + 1 must exist in June
    deadline_day = _day(periods, "deadline_day", 20, 30, fail)

    indicators: dict[str, Indicator] = {}
    forms = []
    seen_forms = set()
    for i, form_data in enumerate(_list(data["forms"], "forms", fail), start=1):
        form_data = _mapping(form_data, f"forms, mục thứ {i}", fail)
        number = form_data.get("number")
        if not isinstance(number, int) or number in seen_forms:
            fail(f"biểu mẫu {number!r}", "số thứ tự biểu mẫu phải là số nguyên và không trùng")
        seen_forms.add(number)
        rows = _list(form_data.get("rows"), f"Biểu mẫu {number}", fail)
        if not rows:
            fail(f"Biểu mẫu {number}", "không có dòng nào")
        form_inds = [_parse_row(number, _mapping(row, f"Biểu mẫu {number}, dòng thứ {n}", fail), levels, fail)
                     for n, row in enumerate(rows, start=1)]
        for ind in form_inds:
            if ind.id in indicators:
                fail(ind.id, "mã dòng bị trùng")
            indicators[ind.id] = ind
        forms.append((number, _nfc(form_data.get("title")), _nfc(form_data.get("footnote")), form_inds))

    if not forms:
        fail("forms", "không có biểu mẫu nào")
    indicators = _link_rows(indicators, fail)
    built_forms = tuple(
        Form(number, title, tuple(indicators[ind.id] for ind in inds), footnote)
        for number, title, footnote, inds in forms
    )
    checks = _parse_checks(_mapping(data.get("checks"), "checks", fail), fail)
    rules = tuple(_parse_rule(_mapping(r, f"rules, mục thứ {n}", fail), indicators, fail)
                  for n, r in enumerate(_list(data.get("rules"), "rules", fail), start=1))
    if len({r.id for r in rules}) != len(rules):
        fail("rules", "mã quy tắc bị trùng")
    charts = tuple(_list(data.get("charts"), "charts", fail))
    for ind_id in charts:
        if ind_id not in indicators or indicators[ind_id].kind not in PERCENT_KINDS:
            fail(f"charts.{ind_id}", "biểu đồ chỉ vẽ được cho dòng tỷ lệ (%) có trong biểu mẫu")

    return FormSpec(
        id=_nfc(data["id"]),
        version=_nfc(data["version"]),
        appendix=_nfc(data.get("appendix")),
        title=_nfc(data.get("title")),
        issued_with=_nfc(data.get("issued_with")),
        column_note=_nfc(data.get("column_note")),
        forms=built_forms,
        checks=checks,
        rules=rules,
        levels=levels,
        cutoff_day=cutoff_day,
        deadline_day=deadline_day,
        charts=charts,
        source=source,
        indicators=indicators,
    )


def _mapping(value, where: str, fail) -> dict:
    """`value` as a YAML mapping (absent: empty)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        fail(where, "phải là một bảng (mapping) YAML, dạng khóa: giá trị")
    return value


def _list(value, where: str, fail) -> list:
    """`value` as a YAML list (absent: empty)."""
    if value is None:
        return []
    if not isinstance(value, list):
        fail(where, "phải là một danh sách YAML, dạng [a, b] hoặc các dòng bắt đầu bằng -")
    return value


def _day(periods: dict, key: str, default: int, last: int, fail) -> int:
    day = periods.get(key, default)
    if not isinstance(day, int) or isinstance(day, bool) or not 1 <= day <= last:
        fail(f"periods.{key}", f"phải là một ngày trong tháng, từ 1 đến {last} (nhận được {day!r})")
    return day


def _code(value, where: str, fail) -> str:
    """A row code as a string without its trailing dot. YAML reads `3.10` unquoted as the float 3.1: refused."""
    if isinstance(value, float):
        fail(where, f"mã STT {value!r} phải viết trong dấu ngoặc kép (\"{value}\"): không có ngoặc, YAML đọc "
                    "nó thành một số (3.10 thành 3.1)")
    return str(value if value is not None else "").strip().rstrip(".")


def _parse_levels(data, fail) -> dict:
    if not data:
        data = {"tinh": {"name": "Tỉnh", "reports": list(REPORTING_LEVELS)},
                **{lv: {"name": lv, "reports": [lv]} for lv in REPORTING_LEVELS}}
    levels = {}
    for code, info in data.items():
        info = _mapping(info, f"levels.{code}", fail)
        if code not in LEVELS:
            fail(f"levels.{code}", f"cấp không hợp lệ (chỉ nhận {', '.join(LEVELS)})")
        reports = tuple(info.get("reports") or [code])
        for lv in reports:
            if lv not in LEVELS:
                fail(f"levels.{code}", f"cấp {lv!r} không hợp lệ")
        levels[code] = LevelInfo(code, _nfc(info.get("name") or code), reports)
    return levels


def _parse_row(form: int, row: dict, levels: dict, fail) -> Indicator:
    where = f"Biểu mẫu {form}, dòng {row.get('code') or '?'}"
    code = _code(row.get("code"), where, fail)
    where = f"Biểu mẫu {form}, dòng {code or '?'}"
    if not _CODE_RE.match(code):
        fail(where, f"mã STT {row.get('code')!r} không hợp lệ (ví dụ hợp lệ: \"3.1.2\")")
    kind = row.get("kind")
    if kind not in KINDS:
        fail(where, f"loại {kind!r} không hợp lệ (chỉ nhận {', '.join(KINDS)})")
    label = _nfc(row.get("label"))
    if not label:
        fail(where, "thiếu tên chỉ tiêu (label)")
    row_levels = row.get("levels") or list(REPORTING_LEVELS)
    for lv in row_levels:
        if lv not in LEVELS:
            fail(where, f"cấp {lv!r} không hợp lệ")
    units = row.get("units", DEFAULT_UNITS[kind])
    time = row.get("time", DEFAULT_TIME[kind])
    if units not in UNIT_AGGREGATIONS:
        fail(where, f"cách tổng hợp theo đơn vị {units!r} không hợp lệ")
    if time not in TIME_AGGREGATIONS:
        fail(where, f"cách cộng dồn theo thời gian {time!r} không hợp lệ")
    choices = ()
    if kind in CODED_KINDS:
        raw = row.get("choices")
        if not raw:
            fail(where, "dòng Có/Không hoặc lựa chọn phải có danh sách choices")
        if not isinstance(raw, dict) or not all(isinstance(k, int) and not isinstance(k, bool) for k in raw):
            fail(where, "choices phải có dạng mã số: tên, ví dụ {1: Có, 0: Không}")
        choices = tuple((k, _nfc(v)) for k, v in raw.items())
        if kind == "flag" and sorted(c for c, _ in choices) != [0, 1]:
            fail(where, "dòng Có/Không phải có đúng hai giá trị 0 và 1")
    combine = row.get("combine") or {}
    codes = {c for c, _ in choices}
    if combine and (kind != "choice" or not isinstance(combine, dict) or not all(
            k in codes and isinstance(v, list) and len(v) > 1 and set(v) <= codes - {k} for k, v in combine.items())):
        fail(where, "combine phải có dạng mã: [các mã gộp lại], ví dụ {2: [0, 1]}, với các mã trong choices")
    combine = tuple((k, tuple(v)) for k, v in combine.items())
    numerator = denominator = None
    if kind == "ratio":
        of = row.get("of")
        if not isinstance(of, (list, tuple)) or len(of) != 2:
            fail(where, "dòng tỷ lệ phải có of: [tử số, mẫu số]")
        numerator, denominator = (indicator_id(form, _code(c, where, fail)) for c in of)
    return Indicator(
        id=indicator_id(form, code), form=form, code=code, label=label, note=_nfc(row.get("note")),
        unit=_nfc(row.get("unit")), kind=kind, levels=frozenset(row_levels), units=units, time=time,
        italic=bool(row.get("italic", False)), choices=choices, combine=combine,
        numerator=numerator, denominator=denominator,
    )


def _link_rows(indicators: dict, fail) -> dict:
    """Fill in parents and children from the codes; check ratio operands exist and are numbers."""
    from dataclasses import replace

    parents = {}
    for ind in indicators.values():
        if "." in ind.code:
            parent_id = indicator_id(ind.form, ind.code.rsplit(".", 1)[0])
            if parent_id not in indicators:
                fail(ind.id, f"không có dòng cha {parent_id}")
            parents[ind.id] = parent_id
    children: dict[str, list] = {}
    for child, parent in parents.items():
        children.setdefault(parent, []).append(child)
    linked = {}
    for ind in indicators.values():
        if ind.kind == "ratio":
            for operand in (ind.numerator, ind.denominator):
                if operand not in indicators:
                    fail(ind.id, f"tử số/mẫu số {operand} không tồn tại")
                if indicators[operand].kind not in QUANTITY_KINDS:
                    fail(ind.id, f"tử số/mẫu số {operand} phải là dòng số lượng")
        linked[ind.id] = replace(ind, parent=parents.get(ind.id), children=tuple(children.get(ind.id, ())))
    return linked


def _parse_checks(data: dict, fail) -> dict:
    checks = {}
    for check_id in CHECK_IDS:
        info = _mapping(data.get(check_id), f"checks.{check_id}", fail)
        if not info:
            fail(f"checks.{check_id}", "thiếu thông báo cho phép kiểm tra này")
        checks[check_id] = Check(check_id, _severity(info, f"checks.{check_id}", fail), _nfc(info.get("message")))
    for extra in set(data) - set(CHECK_IDS):
        fail(f"checks.{extra}", "phép kiểm tra không được hỗ trợ")
    return checks


def _severity(info: dict, where: str, fail) -> str:
    severity = info.get("severity")
    if severity not in SEVERITIES:
        fail(where, f"mức độ {severity!r} không hợp lệ (error, warning, info)")
    return severity


def _parse_rule(data: dict, indicators: dict, fail) -> Rule:
    rule_id = str(data.get("id") or "").strip()
    where = f"quy tắc {rule_id or '?'}"
    if not rule_id:
        fail(where, "thiếu mã quy tắc (id)")
    kind = data.get("kind")
    if kind not in RULE_KINDS:
        fail(where, f"loại quy tắc {kind!r} không hợp lệ (chỉ nhận {', '.join(RULE_KINDS)})")
    message = _nfc(data.get("message"))
    if not message:
        fail(where, "thiếu thông báo (message)")
    rule = Rule(
        id=rule_id, kind=kind, severity=_severity(data, where, fail), message=message,
        left=tuple(_list(data.get("left"), f"{where}: left", fail)),
        right=tuple(_list(data.get("right"), f"{where}: right", fail)),
        when=data.get("when"), equals=data.get("equals"), rows=tuple(_list(data.get("rows"), f"{where}: rows", fail)),
    )
    if kind == "blank_if" and (not rule.when or not rule.rows or rule.equals is None):
        fail(where, "quy tắc blank_if cần when, equals và rows")
    if rule.equals is not None and (not isinstance(rule.equals, (int, float)) or isinstance(rule.equals, bool)):
        fail(where, f"equals phải là một số (nhận được {rule.equals!r})")
    if kind != "blank_if" and (not rule.left or not rule.right):
        fail(where, "quy tắc so sánh cần left và right")
    for ind_id in rule.indicators:
        if ind_id not in indicators:
            fail(where, f"dòng {ind_id} không tồn tại")
        if indicators[ind_id].kind == "header":
            fail(where, f"dòng {ind_id} là dòng tiêu đề, không có số liệu")
    return rule
