"""The sentences of the narrative report (the spec's `report:` key), parsed and validated when the spec loads.

A template is text with fields in braces and placeholders for a person in brackets:

- `{BM3-3.1.1}`: the merged total of a row, written as Vietnamese write numbers (`16.634`, `98,67%`);
  `{BM3-3.1.1:units}` the units behind it (`14/17 đơn vị`); `{BM4-3.4:min}`, `{…:max}` for a rate;
  `{BM1-5:answered}` how many units answered a flag or a choice, `{BM1-5:label}` the answer's label
  (`Có`; for a merged choice the one most units gave), `{BM1-5.2:counts}` the count of each choice;
  the plain value of a flag is how many units answered 1; `{BM3-3.1.1:previous}` and
  `{…:year_before}` the change since the previous period and the same period a year before (`tăng 12%`,
  a percentage's in points: `giảm 3,5 điểm phần trăm`), with `{previous_period}`, `{year_before_period}`
  naming them (`aggregate --previous`; without a comparison they are missing).
- `{period}`, `{scope}`, … : the report's own fields (`GENERAL_FIELDS`).
- `[…]`, or `[a hint…]`: text a person must write, highlighted in the document.

A sentence may say what happens when one of its values is missing (`if_missing`: `placeholder`, the
default, writes a highlighted `[…]` for it; `skip` drops the sentence; any other text replaces the
sentence), be kept only when a row's total is above 0 (`only_if`), or only in a report merging several
units or only in a unit's own report (`for: merged | own`). A sentence with a row the report's level
does not have (a `so` row in a district's report) is left out. No `eval`: a field is a name looked up, never code. A field the forms do not
have is refused when the spec loads, naming the file and the key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from cchc_excel.spec.loader import as_list, nfc

# The report's own fields (not rows of the forms), filled in by the writer.
GENERAL_FIELDS = (
    "period",         # quý II/2023 (as written mid-sentence)
    "scope",          # toàn thị xã (a merged report) / UBND phường (a unit's own)
    "unit",           # Thị xã Hoài Nhơn
    "issuer",         # UBND thị xã Hoài Nhơn
    "reported",       # how many units' returns are merged (14)
    "expected",       # how many units should have reported (17)
    "missing_units",  # the units that sent nothing, named
    "error_units",    # the units whose returns have errors and were left out, named
    "late_units",     # the units that reported after the deadline, named
    "previous_period",     # quý I/2023: the period compared as the previous one (`--previous`)
    "year_before_period",  # quý II/2022: the same period a year before
)
# Modifiers of a row field, and the kinds of rows (spec.model.KINDS) they apply to.
MODIFIERS = {
    "": ("count", "amount", "ratio", "rate", "flag", "choice"),
    "units": ("count", "amount", "ratio", "rate", "flag", "choice"),
    "min": ("rate",),
    "max": ("rate",),
    "answered": ("flag", "choice"),
    "label": ("flag", "choice"),
    "counts": ("choice",),
    "previous": ("count", "amount", "ratio", "rate"),  # the change: `tăng 12%`, `giảm 3,5 điểm phần trăm`
    "year_before": ("count", "amount", "ratio", "rate"),
}
SENTENCE_KEYS = ("text", "if_missing", "only_if", "for")
AUDIENCES = ("all", "merged", "own")  # `for`: every report, a report merging units, a unit's own
SECTION_KEYS = ("heading", "paragraphs", "forms", "parts")
PLACEHOLDER = "[…]"

_FIELD_RE = re.compile(r"\{([^{}]*)\}")
_PLACEHOLDER_RE = re.compile(r"\[[^\[\]]*…\]")
_ROW_RE = re.compile(r"^BM\d+-\d+(\.\d+)*$")


@dataclass(frozen=True)
class Field:
    """`{name:modifier}` in a template: a row id (`BM3-3.1.1`) or a general field."""

    name: str
    modifier: str = ""

    @property
    def is_row(self) -> bool:
        return bool(_ROW_RE.match(self.name))


@dataclass(frozen=True)
class Gap:
    """Text for a person to write (`[…]`), shown highlighted."""

    text: str


@dataclass(frozen=True)
class Template:
    """Parsed text: literal strings, `Field`s and `Gap`s, in order."""

    source: str
    parts: tuple

    @property
    def fields(self) -> tuple:
        return tuple(p for p in self.parts if isinstance(p, Field))


@dataclass(frozen=True)
class Sentence:
    text: Template
    if_missing: str | Template = "placeholder"  # "placeholder", "skip" or a replacement Template
    only_if: str | None = None
    audience: str = "all"  # AUDIENCES


@dataclass(frozen=True)
class Section:
    """A numbered part of the report: its heading, its paragraphs (each a tuple of Sentences), the areas
    (forms) whose paragraphs go in it, and sub-parts (heading, paragraphs) left for a person."""

    heading: str
    paragraphs: tuple = ()
    forms: tuple = ()
    parts: tuple = ()


@dataclass(frozen=True)
class ReportText:
    """Everything the report says that is not layout: headings, sentence templates, closing blocks."""

    kind: str
    title: Template
    number: str
    sections: tuple
    areas: dict  # form number -> (heading, paragraphs)
    closing: Template
    recipients: dict = field(default_factory=dict)  # level (or "default") -> tuple of Templates
    signature: dict = field(default_factory=dict)  # level (or "default") -> tuple of str
    signer: str = "[Họ và tên người ký…]"

    def for_level(self, table: dict, level: str) -> tuple:
        """The entry of `recipients` or `signature` for `level`, else the default one."""
        return table.get(level) or table.get("default") or ()


def parse_template(text, where: str, indicators: dict, fail) -> Template:
    """Split `text` into literals, fields and gaps; refuse an unknown field or a modifier its row lacks."""
    if not isinstance(text, str) or not text.strip():
        fail(where, "phải là một câu (chuỗi ký tự) không rỗng")
    text = nfc(text)
    parts: list = []
    pos = 0
    for m in _FIELD_RE.finditer(text):
        parts.extend(_literal(text[pos:m.start()]))
        parts.append(_field(m.group(1).strip(), where, indicators, fail))
        pos = m.end()
    parts.extend(_literal(text[pos:]))
    if any("{" in p or "}" in p for p in parts if isinstance(p, str)):
        fail(where, f"dấu ngoặc nhọn không khớp trong {text!r}")
    return Template(text, tuple(parts))


def _literal(text: str) -> list:
    out: list = []
    pos = 0
    for m in _PLACEHOLDER_RE.finditer(text):
        if m.start() > pos:
            out.append(text[pos:m.start()])
        out.append(Gap(m.group(0)))
        pos = m.end()
    if pos < len(text):
        out.append(text[pos:])
    return out


def _field(body: str, where: str, indicators: dict, fail) -> Field:
    name, _, modifier = body.partition(":")
    f = Field(name.strip(), modifier.strip())
    if f.is_row:
        ind = indicators.get(f.name)
        if ind is None:
            fail(where, f"trường {{{body}}}: dòng {f.name} không có trong biểu mẫu")
        if f.modifier not in MODIFIERS:
            fail(where, f"trường {{{body}}}: không hiểu {f.modifier!r} (chỉ nhận {', '.join(m for m in MODIFIERS if m)})")
        if ind.kind not in MODIFIERS[f.modifier]:
            fail(where, f"trường {{{body}}}: dòng {f.name} loại {ind.kind} không có {f.modifier or 'giá trị'}")
    elif f.name not in GENERAL_FIELDS or f.modifier:
        fail(where, f"trường {{{body}}} không tồn tại (các trường chung: {', '.join(GENERAL_FIELDS)}; "
                    "hoặc một dòng của biểu mẫu như {BM3-3.1.1})")
    return f


def parse_report_text(data, indicators: dict, levels, fail) -> ReportText | None:
    """The spec's `report:` key as a `ReportText` (None when the spec has none).

    `fail(where, what)` raises the spec loader's SpecError, naming the file; `where` names the key.
    """
    if data is None:
        return None
    if not isinstance(data, dict):
        fail("report", "phải là một bảng (mapping) YAML")

    def tpl(value, where):
        return parse_template(value, where, indicators, fail)

    forms = {ind.form for ind in indicators.values()}
    areas = _areas(data.get("areas"), forms, tpl, fail)
    sections = tuple(_section(s, f"report.sections[{i}]", areas, tpl, fail)
                     for i, s in enumerate(as_list(data.get("sections"), "report.sections", fail)))
    if not sections:
        fail("report.sections", "báo cáo phải có ít nhất một phần")
    return ReportText(
        kind=_text(data.get("kind"), "report.kind", fail),
        title=tpl(data.get("title"), "report.title"),
        number=_text(data.get("number"), "report.number", fail),
        sections=sections,
        areas=areas,
        closing=tpl(data.get("closing"), "report.closing"),
        recipients=_by_level(data.get("recipients"), "report.recipients", levels, fail,
                             lambda v, w: tpl(v, w)),
        signature=_by_level(data.get("signature"), "report.signature", levels, fail,
                            lambda v, w: _text(v, w, fail)),
        signer=_text(data.get("signer", "[Họ và tên người ký…]"), "report.signer", fail),
    )


def _text(value, where: str, fail) -> str:
    if not isinstance(value, str) or not value.strip():
        fail(where, "thiếu nội dung (chuỗi ký tự)")
    return nfc(value)


def _areas(data, forms: set, tpl, fail) -> dict:
    if data is None:
        return {}
    if not isinstance(data, dict):
        fail("report.areas", "phải là một bảng: số biểu mẫu: {heading, paragraphs}")
    areas = {}
    for number, area in data.items():
        where = f"report.areas.{number}"
        if number not in forms:
            fail(where, f"không có Biểu mẫu {number}")
        if not isinstance(area, dict):
            fail(where, "phải có heading và paragraphs")
        unknown = set(area) - {"heading", "paragraphs"}
        if unknown:
            fail(where, f"khóa không được hỗ trợ: {', '.join(sorted(map(str, unknown)))}")
        areas[number] = (_text(area.get("heading"), f"{where}.heading", fail),
                         _paragraphs(area.get("paragraphs"), f"{where}.paragraphs", tpl, fail))
    return areas


def _section(data, where: str, areas: dict, tpl, fail) -> Section:
    if not isinstance(data, dict):
        fail(where, "phải có heading (và paragraphs, forms, parts)")
    unknown = set(data) - set(SECTION_KEYS)
    if unknown:
        fail(where, f"khóa không được hỗ trợ: {', '.join(sorted(map(str, unknown)))}")
    forms = tuple(as_list(data.get("forms"), f"{where}.forms", fail))
    for number in forms:
        if number not in areas:
            fail(f"{where}.forms", f"Biểu mẫu {number} chưa có câu mẫu trong report.areas")
    parts = []
    for i, part in enumerate(as_list(data.get("parts"), f"{where}.parts", fail)):
        if not isinstance(part, dict):
            fail(f"{where}.parts[{i}]", "phải có heading và paragraphs")
        parts.append((_text(part.get("heading"), f"{where}.parts[{i}].heading", fail),
                      _paragraphs(part.get("paragraphs"), f"{where}.parts[{i}].paragraphs", tpl, fail)))
    return Section(_text(data.get("heading"), f"{where}.heading", fail),
                   _paragraphs(data.get("paragraphs"), f"{where}.paragraphs", tpl, fail), forms, tuple(parts))


def _paragraphs(data, where: str, tpl, fail) -> tuple:
    """A list of paragraphs; each one sentence (text or mapping) or a list of sentences."""
    out = []
    for i, para in enumerate(as_list(data, where, fail)):
        sentences = para if isinstance(para, list) else [para]
        out.append(tuple(_sentence(s, f"{where}[{i}]" + (f"[{j}]" if isinstance(para, list) else ""), tpl, fail)
                         for j, s in enumerate(sentences)))
    return tuple(out)


def _sentence(data, where: str, tpl, fail) -> Sentence:
    if isinstance(data, str):
        return Sentence(tpl(data, where))
    if not isinstance(data, dict):
        fail(where, "phải là một câu hoặc một bảng {text, if_missing, only_if, for}")
    unknown = set(data) - set(SENTENCE_KEYS)
    if unknown:
        fail(where, f"khóa không được hỗ trợ: {', '.join(sorted(map(str, unknown)))}")
    if_missing = data.get("if_missing", "placeholder")
    if if_missing not in ("placeholder", "skip"):
        if_missing = tpl(if_missing, f"{where}.if_missing")
    only_if = data.get("only_if")
    if only_if is not None:
        only_if = _row_id(only_if, f"{where}.only_if", tpl, fail)
    audience = data.get("for", "all")
    if audience not in AUDIENCES:
        fail(f"{where}.for", f"chỉ nhận {', '.join(AUDIENCES)} (nhận được {audience!r})")
    return Sentence(tpl(data.get("text"), f"{where}.text"), if_missing, only_if, audience)


def _row_id(value, where: str, tpl, fail) -> str:
    """A row id that must exist (checked by parsing it as a field)."""
    (f,) = tpl("{" + str(value) + "}", where).fields
    if not f.is_row:
        fail(where, f"{value!r} không phải là một dòng của biểu mẫu")
    return f.name


def _by_level(data, where: str, levels, fail, item) -> dict:
    if data is None:
        return {}
    if not isinstance(data, dict):
        fail(where, "phải là một bảng: cấp (hoặc default): danh sách")
    out = {}
    for level, lines in data.items():
        if level != "default" and level not in levels:
            fail(f"{where}.{level}", "cấp không hợp lệ")
        out[level] = tuple(item(v, f"{where}.{level}[{i}]")
                           for i, v in enumerate(as_list(lines, f"{where}.{level}", fail)))
    return out
