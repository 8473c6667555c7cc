"""The Vietnamese pages: Kỳ báo cáo, Nhận báo cáo, Tình hình (and a unit's page), Tổng hợp."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from cchc_excel.errors import CchcError
from cchc_excel.merge.result import UNIT_STATUS_LABELS
from cchc_excel.web.app import ALL_UNITS, from_this_computer, period_or_404, read_uploads, unit_arg, workspace
from cchc_excel.workspace import views
from cchc_excel.workspace.space import OWN_UNIT, file_id, file_name, gathered

bp = Blueprint("pages", __name__)

# The merge's labels, and the workspace's two more states (views.UNIT_STATES).
STATE_LABELS = {"missing": UNIT_STATUS_LABELS["missing"], "empty": "Biểu trống", "errors": UNIT_STATUS_LABELS["errors"],
                "explained": "Đã giải trình", "merged": UNIT_STATUS_LABELS["merged"]}
FILE_LABELS = {"ok": "Đạt", "warnings": "Có cảnh báo", "errors": "Có lỗi", "unreadable": "Không đọc được"}
SEVERITY_LABELS = {"error": "Lỗi", "warning": "Cảnh báo"}


def periods() -> list[str]:
    rows = workspace().conn.execute("SELECT code FROM periods ORDER BY code DESC").fetchall()
    return [r["code"] for r in rows]


def local_time(moment, missing: str = "—") -> str:
    """A time (a datetime, or the ISO text the workspace recorded) as `20/06/2023 14:05` in this
    computer's time zone; `missing` when there is none."""
    from datetime import datetime

    from cchc_excel.core.text import vn_datetime

    if not moment:
        return missing
    try:
        return vn_datetime((datetime.fromisoformat(moment) if isinstance(moment, str) else moment).astimezone())
    except ValueError:
        return moment


@bp.app_context_processor
def labels():
    return {"local_time": local_time, "STATE_LABELS": STATE_LABELS, "FILE_LABELS": FILE_LABELS, "SEVERITY_LABELS": SEVERITY_LABELS,
            "file_id": file_id, "file_name": file_name}


@bp.get("/")
def home():
    ws = workspace()
    roster = ws.roster()
    return render_template("home.html", periods=periods(), roster=roster, own=ws.own_unit(),
                           chosen=ws.setting(OWN_UNIT), parents=parent_units(roster))


def parent_units(roster) -> list:
    """The units with units under them, in roster order: those a workspace may be the workspace of."""
    if roster is None:
        return []
    parents = {u.parent for u in roster if u.parent}
    return [u for u in roster if u.code in parents]


@bp.post("/own-unit")
def own_unit():
    try:
        workspace().set_own_unit(request.form.get("unit", ""))
        own = workspace().own_unit()
        unit = workspace().roster().get(own) if own else None
        flash(f"Đơn vị của trang này: {unit.code} {unit.name}." if unit else
              "Đơn vị của trang này: toàn bộ danh sách.", "ok")
    except CchcError as e:
        flash(str(e), "error")
    return redirect(url_for("pages.home"))


@bp.post("/periods")
def start_period():
    code = request.form.get("period", "")
    try:
        from cchc_excel.core.periods import parse_period

        period = parse_period(code)
    except CchcError as e:
        flash(str(e), "error")
        return redirect(url_for("pages.home"))
    return redirect(url_for("pages.receive", code=period.code))


@bp.post("/roster")
def roster_upload():
    files = read_uploads("file")
    if len(files) != 1:
        flash("Hãy chọn một tệp danh sách đơn vị (.csv hoặc .xlsx).", "error")
    else:
        try:
            got = workspace().put_roster(files[0][1], files[0][0])
            flash(f"Đã nhận danh sách đơn vị: {got['units']} đơn vị.", "ok")
        except CchcError as e:
            flash(str(e), "error")
    return redirect(request.form.get("next") or url_for("pages.home"))


@bp.route("/periods/<code>/receive", methods=["GET", "POST"])
def receive(code: str):
    """The drop zone (each file on its own through the API, with `drop.js`) and the folder scan; without
    JavaScript the forms post here and the results show at once."""
    period = period_or_404(code)
    result = None
    if request.method == "POST" and "folder" in request.form:
        result = _scan_form(period)
    elif request.method == "POST":
        files = read_uploads("files")
        if not files:
            flash("Chưa chọn tệp nào.", "error")
        else:
            result = workspace().receive(period, files, source="upload")
    return render_template("receive.html", period=period, result=result, roster=workspace().roster(),
                           can_scan=from_this_computer(), folder=request.form.get("folder", ""))


def _scan_form(period):
    from cchc_excel.web.scan import scan_or_abort

    scan = scan_or_abort(request.form.get("folder", ""))
    return gathered(workspace().receive_iter(period, scan))


@bp.get("/periods/<code>/status")
def status(code: str):
    period = period_or_404(code)
    ws = workspace()
    roster = ws.roster()
    if roster is None:
        flash("Chưa có danh sách đơn vị: hãy tải lên danh sách trước.", "error")
        return redirect(url_for("pages.home"))
    unit = unit_arg()
    result = views.merge(ws, period, unit)
    states = views.unit_states(ws, result)
    wanted = request.args.get("status", "")
    rows = [u for u in result.units if not wanted or states[u.unit.code]["status"] == wanted
            or (wanted == "late" and u.late)]
    files: dict = {}
    for f in result.files:
        files.setdefault(f.unit, []).append(f)
    return render_template("status.html", period=period, rows=rows, states=states, wanted=wanted,
                           files=files, counts=_counts(states), root=result.root,
                           unit_query=request.args.get("unit", ""))


def _counts(states: dict) -> dict:
    counts = {key: 0 for key in STATE_LABELS}
    for s in states.values():
        counts[s["status"]] += 1
    counts["late"] = sum(1 for s in states.values() if s["late"])
    return counts


@bp.get("/periods/<code>/units/<unit>")
def unit_page(code: str, unit: str):
    period = period_or_404(code)
    ws = workspace()
    roster = ws.roster()
    found = roster.get(unit) if roster is not None else None
    reports = [r for r in ws.file_reports(period) if (r.unit or {}).get("code") == unit]
    if found is None and not reports:
        abort(404, f"Không có đơn vị mã {unit} trong danh sách đơn vị.")
    explained = ws.explained(period).get(unit, [])
    sent = ws.sent(period, unit)
    return render_template("unit.html", period=period, code=unit, unit=found, reports=reports,
                           explained=explained, explanation=_explanations(explained), sent=sent)


def _explanations(explained: list[dict]):
    """A finding's explanation: the return's Ghi chú beside its row, and what the workspace recorded for
    its row (`Workspace.explain`), one after the other."""
    recorded: dict = {}
    for e in explained:
        if e["indicator"]:
            recorded.setdefault(e["indicator"], []).append(e["text"])

    def explanation(issue) -> str:
        return " · ".join([t for t in (issue.explanation, *recorded.get(issue.indicator, ())) if t])

    return explanation


@bp.get("/periods/<code>/merged")
def merged(code: str):
    period = period_or_404(code)
    ws = workspace()
    unit = unit_arg()
    summary = views.status(ws, period, unit)
    return render_template("merged.html", period=period, unit=unit or ALL_UNITS, summary=summary,
                           parents=parent_units(ws.roster()), ALL_UNITS=ALL_UNITS)
