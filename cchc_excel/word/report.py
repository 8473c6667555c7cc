"""The narrative report of a merge as a Word document a person finishes (DESIGN §9): the heading blocks of
Nghị định 30/2020, the sections with each area's paragraph built from the merged totals (the spec's
`report:` sentences), `Nơi nhận:` and the signature, then Phụ lục I with the merged values.
"""

from __future__ import annotations

from datetime import date as Date, datetime, timezone
from pathlib import Path

from docx.opc.packuri import PackURI
from docx.opc.part import Part
from docx.shared import Mm, Pt

from cchc_excel.core.atomic import atomic_file
from cchc_excel.errors import SpecError
from cchc_excel.merge.result import MergeResult
from cchc_excel.ooxml import custom
from cchc_excel.ooxml.custom import custom_properties_xml
from cchc_excel.template import metadata
from cchc_excel.template.build import template_metadata
from cchc_excel.word import layout as L
from cchc_excel.word.appendix import write_appendix
from cchc_excel.word.text import ReportContext, fill, paragraph, plain, unit_kind

ROMAN = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X")
HEAD_LEFT, HEAD_RIGHT = Mm(62), L.TEXT_WIDTH - Mm(62)
SIGN_LEFT, SIGN_RIGHT = Mm(80), L.TEXT_WIDTH - Mm(80)


def write_report(result: MergeResult, path: str | Path, *, date: Date | None = None) -> Path:
    """Write the report draft of `result` to `path` (.docx), atomically.

    Args:
        result: the merge (its spec must have `report:` sentences).
        path: where to write.
        date: the date written under the motto; None leaves the day for a person (`ngày […] tháng 6`).

    Raises:
        SpecError: the spec has no `report:` key.
    """
    text = result.spec.report
    if text is None:
        raise SpecError(f"{result.spec.source or result.spec.id}: report: bộ biểu mẫu không có câu mẫu "
                        "cho báo cáo (khóa report)")
    ctx = ReportContext(result)
    doc = L.new_document()
    L.page_numbers_from_page_two(doc.sections[0])
    title = plain(fill(text.title, ctx))
    doc.core_properties.title = f"{text.kind} {title}"
    doc.core_properties.author = ctx.issuer
    _heading_block(doc, ctx, text, date)
    _title(doc, text.kind, title)
    for i, section in enumerate(text.sections):
        _section(doc, ctx, section, ROMAN[i] if i < len(ROMAN) else str(i + 1))
    L.paragraph(doc, fill(text.closing, ctx), first_line=L.FIRST_LINE)
    _closing_blocks(doc, ctx, text)
    L.page_break(doc)
    write_appendix(doc, result)
    _metadata(doc, result)
    with atomic_file(Path(path)) as out:
        doc.save(out)
    return Path(path)


def _metadata(doc, result: MergeResult) -> None:
    """Our templates' metadata as custom properties, so that the level above reads the report back as the
    merged return it is (its level, the row levels it covers, the units behind it)."""
    now = datetime.now(timezone.utc)
    meta = template_metadata(result.spec, result.level, result.reported_levels, result.root, result.period, now,
                             result.merged_units)
    # python-docx's blank document says it was made and saved in 2013: the reader takes "saved" for the
    # return's time (latest wins), so say when this one was
    doc.core_properties.created = doc.core_properties.modified = now.replace(tzinfo=None)
    blob = custom_properties_xml({metadata.PROPERTY_PREFIX + key: value for key, value in meta.items()})
    package = doc.part.package
    package.relate_to(Part(PackURI("/" + custom.PART), custom.CONTENT_TYPE, blob, package), custom.RELATIONSHIP)


def _issuer_lines(ctx: ReportContext) -> list[str]:
    kind, rest = unit_kind(ctx.name)
    if kind in ("Sở", "Ban") or not kind:
        return [ctx.name.upper()]
    return ["ỦY BAN NHÂN DÂN", f"{kind} {rest}".upper()]


def date_line(place: str, day: Date | None, month: int, year: int) -> list:
    """`Hoài Nhơn, ngày 05 tháng 6 năm 2023` (a zero before days under 10 and months 1–2); the day left
    as a gap without a date."""
    if day is not None:
        month, year = day.month, day.year
    mm = f"{month:02d}" if month <= 2 else str(month)
    if day is None:
        return [(f"{place}, ngày ", False), ("[…]", True), (f" tháng {mm} năm {year}", False)]
    return [(f"{place}, ngày {day.day:02d} tháng {mm} năm {year}", False)]


def _heading_block(doc, ctx: ReportContext, text, day: Date | None) -> None:
    """Issuing body and number at left; quốc hiệu, tiêu ngữ with its rule, place and date at right."""
    t = L.table(doc, [HEAD_LEFT, HEAD_RIGHT], rows=1, grid=False)
    L.set_widths(t.rows[0], [HEAD_LEFT, HEAD_RIGHT])
    left, right = t.rows[0].cells
    left._tc.remove(left.paragraphs[0]._p)
    right._tc.remove(right.paragraphs[0]._p)
    lines = _issuer_lines(ctx)
    for line in lines:
        L.paragraph(left, line, align=L.CENTER, size=13, bold=True, single=True)
    longest = max(L.text_width(line, 13, bold=True) for line in lines)
    L.rule(left, int(longest * 0.4), HEAD_LEFT, before=4, after=6)
    L.paragraph(left, text.number, align=L.CENTER, size=13, single=True)
    L.paragraph(right, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", align=L.CENTER, size=12, bold=True, single=True)
    motto = "Độc lập - Tự do - Hạnh phúc"
    L.paragraph(right, motto, align=L.CENTER, size=13, bold=True, single=True)
    L.rule(right, L.text_width(motto, 13, bold=True), HEAD_RIGHT, before=3, after=6)
    place = unit_kind(ctx.name)[1]
    last_month = ctx.result.period.last_month
    L.paragraph(right, date_line(place, day, last_month, ctx.result.period.year), align=L.CENTER,
                size=13, italic=True, single=True)


def _title(doc, kind: str, title: str) -> None:
    L.paragraph(doc, kind, align=L.CENTER, bold=True, before=18, after=0, keep_next=True)
    L.paragraph(doc, title, align=L.CENTER, bold=True, after=0, keep_next=True)
    L.rule(doc, int(L.text_width(title, L.BODY_SIZE, bold=True) / 3), L.TEXT_WIDTH, before=3, after=12)


def _heading(doc, text: str) -> None:
    # left-aligned: a justified heading that wraps spreads its first line's words across the page
    L.paragraph(doc, text, align=L.LEFT, bold=True, first_line=L.FIRST_LINE, before=6, keep_next=True)


def _paragraphs(doc, ctx: ReportContext, paragraphs) -> int:
    """Write the paragraphs that have something to say; how many were written."""
    written = 0
    for sentences in paragraphs:
        segments = paragraph(sentences, ctx)
        if segments:
            L.paragraph(doc, segments, first_line=L.FIRST_LINE)
            written += 1
    return written


def _section(doc, ctx: ReportContext, section, number: str) -> None:
    """A numbered section: its paragraphs, its areas (numbered when several), its parts."""
    _heading(doc, f"{number}. {section.heading}")
    written = _paragraphs(doc, ctx, section.paragraphs)
    numbered = len(section.forms) + len(section.parts) > 1
    subs = [ctx.result.spec.report.areas[n] for n in section.forms] + list(section.parts)
    for i, (heading, paragraphs) in enumerate(subs, start=1):
        if numbered:
            _heading(doc, f"{i}. {heading}")
        if not _paragraphs(doc, ctx, paragraphs) and (numbered or not written):
            L.paragraph(doc, [("[…]", True)], first_line=L.FIRST_LINE)


def _closing_blocks(doc, ctx: ReportContext, text) -> None:
    """`Nơi nhận:` at left (12 bold italic, entries 11); the signature block at right (13–14 bold)."""
    t = L.table(doc, [SIGN_LEFT, SIGN_RIGHT], rows=1, grid=False)
    L.set_widths(t.rows[0], [SIGN_LEFT, SIGN_RIGHT])
    left, right = t.rows[0].cells
    left._tc.remove(left.paragraphs[0]._p)
    right._tc.remove(right.paragraphs[0]._p)
    L.paragraph(left, "Nơi nhận:", align=L.LEFT, size=12, bold=True, italic=True, single=True, before=6)
    level = ctx.result.level
    for entry in text.for_level(text.recipients, level):
        L.paragraph(left, [("- ", False)] + fill(entry, ctx), align=L.LEFT, size=11, single=True)
    lines = text.for_level(text.signature, level)
    for i, line in enumerate(lines):
        L.paragraph(right, line, align=L.CENTER, bold=True, single=True, before=6 if i == 0 else 0)
    L.paragraph(right, "", align=L.CENTER, before=60, single=True)  # room for the signature and the seal
    L.paragraph(right, [(text.signer, True)], align=L.CENTER, bold=True, single=True)
    doc.add_paragraph().paragraph_format.space_after = Pt(0)
