"""The words of a merged report, from its totals: the one short Ghi chú line of each total, the footnote
under each form, and the rows the parent must still fill (how each total was made, for the detail sheets,
is `totals.total_note`).

The official forms stay as printed: Ghi chú carries at most one short line ("14 đơn vị"); what a reader
needs to know about how rows were merged goes into a few footnote lines under the form, and the long
story of every total into the detail sheets.
"""

from __future__ import annotations

from cchc_excel.merge.result import MergeResult
from cchc_excel.merge.totals import Total, choice_counts


def short_note(total: Total) -> str:
    """The Ghi chú of a total in the merged form: the units behind it ("" for none); for a flag, the units
    answering 1 out of those answering."""
    if not total.units:
        return ""
    if total.how == "flag":
        return f"{total.value}/{total.answered} đơn vị"
    return f"{total.units} đơn vị"


def merged_notes(result: MergeResult) -> dict:
    """{indicator id: Ghi chú} of the merged form."""
    notes = {ind_id: short_note(total) for ind_id, total in result.totals.items()}
    return {ind_id: note for ind_id, note in notes.items() if note}


def _chosen(total: Total, ind) -> str:
    label = dict(ind.choices).get(total.report_value, "")
    why = "gộp các lựa chọn của các đơn vị" if total.combined is not None else "lựa chọn của nhiều đơn vị nhất"
    return f"{label} ({why})" if label else "để trống"


def form_footnotes(result: MergeResult, detail_sheet) -> dict:
    """{form number: footnote lines} under each merged form: what Ghi chú counts, which rows take the
    maximum or a mean, and the counts behind flags and choices. `detail_sheet(form)` names the form's
    detail sheet."""
    out = {}
    for form in result.spec.forms:
        rows = [(ind, result.totals[ind.id]) for ind in form.indicators if ind.id in result.totals]
        rows = [(ind, t) for ind, t in rows if t.units]
        if not rows:
            continue
        lines = [f"Ghi chú: số đơn vị có số liệu của chỉ tiêu; số liệu từng đơn vị: trang “{detail_sheet(form)}”."]
        for how, text in (("max", "số thủ tục của danh mục dùng chung: lấy số lớn nhất của các đơn vị cùng cấp, "
                                  "không cộng"),
                          ("mean", "tỷ lệ trung bình của các đơn vị có số liệu (thấp nhất, cao nhất: trang "
                                   f"“{detail_sheet(form)}”)"),
                          ("flag", "Ghi chú là số đơn vị ghi 1 trên số đơn vị trả lời; báo cáo ghi 1 khi có đơn "
                                   "vị ghi 1")):
            codes = [ind.code for ind, t in rows if t.how == how]
            if codes:
                lines.append(f"Dòng {', '.join(codes)}: {text}.")
        for ind, t in rows:
            if t.how == "choice":
                lines.append(f"Dòng {ind.code} ({ind.label}): {choice_counts(t, ind)}; "
                             f"báo cáo ghi {_chosen(t, ind)}.")
        out[form.number] = lines
    return out


def blank_own_rows(result: MergeResult) -> list:
    """The rows of the merged report's own level (no level below reports them) still blank: the parent
    unit fills them itself (with `--own`, from its own return)."""
    below = set(result.reported_levels) - {result.level}
    return [ind for ind in result.spec.value_indicators
            if ind.is_input and result.level in ind.levels and not ind.levels & below
            and result.totals[ind.id].value is None]
