"""Reading a form spec: `forms/<id>.yaml` (or any YAML file) into a validated `FormSpec`.

Every mistake in a spec is a `SpecError` naming the file and the place ("Biểu mẫu 3, dòng 1.1: ...").
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from cchc_excel.core.findings import SEVERITIES
from cchc_excel.core.kinds import CODED_KINDS, KINDS, PERCENT_KINDS, QUANTITY_KINDS
from cchc_excel.core.levels import Level, row_levels as core_row_levels
from cchc_excel.errors import SpecError
from cchc_excel.spec.model import Check, Form, FormSpec, Indicator, Rule, indicator_id

FORMS_DIR = Path(__file__).parent / "forms"
DEFAULT_SPEC = "cv371-2022"

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
_LEVEL_RE = re.compile(r"^[a-z][a-z0-9_]*$")  # as a roster's `cap` column is read: folded to lower ASCII


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
    from cchc_excel.spec import cache

    path = Path(path_str)
    if not path.is_file():
        known = ", ".join(available_specs())
        raise SpecError(f"Không tìm thấy bộ biểu mẫu {path.name!r} (có sẵn: {known}).")
    raw = path.read_bytes()
    key = path.name.encode("utf-8") + b"\0" + raw  # the name is the spec's `source`, in its messages
    spec = cache.load(key, FormSpec)  # parsed and validated by an earlier run (spec/cache.py)
    if spec is None:
        spec = _parse_yaml(raw, path.name)
        cache.store(key, spec)
    return replace(spec, origin=path_str)


def _parse_yaml(raw: bytes, name: str) -> FormSpec:
    import yaml  # lazy: a spec found in the cache needs no YAML

    text = raw.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")  # as read_text() reads it
    try:
        data = _safe_load(text)
    except yaml.YAMLError as e:
        raise SpecError(f"{name}: tệp YAML không hợp lệ: {e}") from e
    return parse_spec(data, source=name)


def _safe_load(text: str):
    import yaml

    # libyaml's C parser reads the bundled spec about 8x faster than the pure-Python one; same documents.
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


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


def nfc(text: Any) -> str:
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
    forms, indicators = _parse_forms(data["forms"], levels, fail)
    checks = _parse_checks(_mapping(data.get("checks"), "checks", fail), fail)
    rules = tuple(_parse_rule(_mapping(r, f"rules, mục thứ {n}", fail), indicators, fail)
                  for n, r in enumerate(as_list(data.get("rules"), "rules", fail), start=1))
    if len({r.id for r in rules}) != len(rules):
        fail("rules", "mã quy tắc bị trùng")
    from cchc_excel.spec.report_text import parse_report_text  # it uses this module's YAML helpers
    from cchc_excel.spec.outliers import parse_outliers

    charts = tuple(as_list(data.get("charts"), "charts", fail))
    for ind_id in charts:
        if ind_id not in indicators or indicators[ind_id].kind not in PERCENT_KINDS:
            fail(f"charts.{ind_id}", "biểu đồ chỉ vẽ được cho dòng tỷ lệ (%) có trong biểu mẫu")

    return FormSpec(
        id=nfc(data["id"]),
        version=nfc(data["version"]),
        appendix=nfc(data.get("appendix")),
        title=nfc(data.get("title")),
        issued_with=nfc(data.get("issued_with")),
        column_note=nfc(data.get("column_note")),
        forms=forms,
        checks=checks,
        rules=rules,
        levels=levels,
        cutoff_day=cutoff_day,
        deadline_day=deadline_day,
        charts=charts,
        report=parse_report_text(data.get("report"), indicators, levels, fail),
        outliers=parse_outliers(data.get("outliers"), fail),
        source=source,
        indicators=indicators,
    )


def _parse_forms(data, levels: dict, fail) -> tuple[tuple, dict]:
    """The forms and every row by id, linked to their parents and children."""
    row_levels = core_row_levels(levels)
    indicators: dict[str, Indicator] = {}
    forms = []
    seen_forms = set()
    for i, form_data in enumerate(as_list(data, "forms", fail), start=1):
        form_data = _mapping(form_data, f"forms, mục thứ {i}", fail)
        number = form_data.get("number")
        if not isinstance(number, int) or number in seen_forms:
            fail(f"biểu mẫu {number!r}", "số thứ tự biểu mẫu phải là số nguyên và không trùng")
        seen_forms.add(number)
        rows = as_list(form_data.get("rows"), f"Biểu mẫu {number}", fail)
        if not rows:
            fail(f"Biểu mẫu {number}", "không có dòng nào")
        form_inds = [_parse_row(number, _mapping(row, f"Biểu mẫu {number}, dòng thứ {n}", fail), levels,
                                row_levels, fail)
                     for n, row in enumerate(rows, start=1)]
        for ind in form_inds:
            if ind.id in indicators:
                fail(ind.id, "mã dòng bị trùng")
            indicators[ind.id] = ind
        forms.append((number, nfc(form_data.get("title")), nfc(form_data.get("footnote")), form_inds))

    if not forms:
        fail("forms", "không có biểu mẫu nào")
    indicators = _link_rows(indicators, fail)
    built = tuple(Form(number, title, tuple(indicators[ind.id] for ind in inds), footnote)
                  for number, title, footnote, inds in forms)
    return built, indicators


def _mapping(value, where: str, fail) -> dict:
    """`value` as a YAML mapping (absent: empty)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        fail(where, "phải là một bảng (mapping) YAML, dạng khóa: giá trị")
    return value


def as_list(value, where: str, fail) -> list:
    """`value` as a YAML list (absent: empty)."""
    if value is None:
        return []
    if not isinstance(value, list):
        fail(where, "phải là một danh sách YAML, dạng [a, b] hoặc các dòng bắt đầu bằng -")
    return value


def _one_of(value, allowed: tuple, where: str, noun: str, fail):
    if value not in allowed:
        fail(where, f"{noun} {value!r} không hợp lệ (chỉ nhận {', '.join(allowed)})")
    return value


def _required_text(data: dict, key: str, where: str, noun: str, fail) -> str:
    text = nfc(data.get(key))
    if not text:
        fail(where, f"thiếu {noun} ({key})")
    return text


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
    """The `levels:` block, from the top down: code -> Level. A spec without one has the default spec's."""
    data = data or _default_levels()
    if not data:
        fail("levels", "thiếu danh sách các cấp báo cáo")
    blocks = {}
    for code, info in data.items():
        if not isinstance(code, str) or not _LEVEL_RE.match(code):
            fail(f"levels.{code}", "mã cấp phải viết thường, không dấu, không khoảng trắng (ví dụ: xa, huyen)")
        blocks[code] = _mapping(info, f"levels.{code}", fail)
    levels = {}
    for code, info in blocks.items():
        reports = tuple(as_list(info.get("reports"), f"levels.{code}.reports", fail) or [code])
        for lv in reports:
            if not isinstance(lv, str) or lv not in blocks:
                fail(f"levels.{code}", f"cấp {lv!r} không hợp lệ (chỉ nhận {', '.join(blocks)})")
        levels[code] = Level(code, nfc(info.get("name") or code), reports)
    return levels


@lru_cache(maxsize=1)
def _default_levels() -> dict:
    data = _safe_load((FORMS_DIR / f"{DEFAULT_SPEC}.yaml").read_text(encoding="utf-8"))
    return (data or {}).get("levels") or {}


def _parse_row(form: int, row: dict, levels: dict, row_levels: tuple, fail) -> Indicator:
    where = f"Biểu mẫu {form}, dòng {row.get('code') or '?'}"
    code = _code(row.get("code"), where, fail)
    where = f"Biểu mẫu {form}, dòng {code or '?'}"
    if not _CODE_RE.match(code):
        fail(where, f"mã STT {row.get('code')!r} không hợp lệ (ví dụ hợp lệ: \"3.1.2\")")
    kind = _one_of(row.get("kind"), KINDS, where, "loại", fail)
    label = _required_text(row, "label", where, "tên chỉ tiêu", fail)
    own_levels = as_list(row.get("levels"), f"{where}: levels", fail) or row_levels
    for lv in own_levels:
        if lv not in levels:
            fail(where, f"cấp {lv!r} không hợp lệ (chỉ nhận {', '.join(levels)})")
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
        choices = tuple((k, nfc(v)) for k, v in raw.items())
        if kind == "flag" and sorted(c for c, _ in choices) != [0, 1]:
            fail(where, "dòng Có/Không phải có đúng hai giá trị 0 và 1")
    combine = _combine(row.get("combine"), kind, choices, where, fail)
    numerator = denominator = None
    if kind == "ratio":
        of = row.get("of")
        if not isinstance(of, (list, tuple)) or len(of) != 2:
            fail(where, "dòng tỷ lệ phải có of: [tử số, mẫu số]")
        numerator, denominator = (indicator_id(form, _code(c, where, fail)) for c in of)
    return Indicator(
        id=indicator_id(form, code), form=form, code=code, label=label, note=nfc(row.get("note")),
        unit=nfc(row.get("unit")), kind=kind, levels=frozenset(own_levels), units=units, time=time,
        italic=bool(row.get("italic", False)), choices=choices, combine=combine,
        numerator=numerator, denominator=denominator,
    )


def _combine(raw, kind: str, choices: tuple, where: str, fail) -> tuple:
    """A choice row's `combine: {2: [0, 1]}` (code 2 stands for 0 and 1 together) as ((2, (0, 1)),)."""
    if not raw:
        return ()
    codes = {c for c, _ in choices}
    if kind != "choice" or not isinstance(raw, dict) or not all(
            k in codes and isinstance(v, list) and len(v) > 1 and set(v) <= codes - {k} for k, v in raw.items()):
        fail(where, "combine phải có dạng mã: [các mã gộp lại], ví dụ {2: [0, 1]}, với các mã trong choices")
    return tuple((k, tuple(v)) for k, v in raw.items())


def _link_rows(indicators: dict, fail) -> dict:
    """Fill in parents and children from the codes; check ratio operands exist and are numbers."""
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
        checks[check_id] = Check(check_id, _severity(info, f"checks.{check_id}", fail), nfc(info.get("message")))
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
    kind = _one_of(data.get("kind"), RULE_KINDS, where, "loại quy tắc", fail)
    message = _required_text(data, "message", where, "thông báo", fail)
    rule = Rule(
        id=rule_id, kind=kind, severity=_severity(data, where, fail), message=message,
        left=tuple(as_list(data.get("left"), f"{where}: left", fail)),
        right=tuple(as_list(data.get("right"), f"{where}: right", fail)),
        when=data.get("when"), equals=data.get("equals"), rows=tuple(as_list(data.get("rows"), f"{where}: rows", fail)),
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
