"""The Vietnamese pages: Kỳ báo cáo, Nhận báo cáo, Tình hình (and a unit's page), Tổng hợp."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from cchc_excel.errors import CchcError
from cchc_excel.merge.result import UNIT_STATUS_LABELS
from cchc_excel.web.app import period_or_404, read_uploads, workspace
from cchc_excel.workspace import views

bp = Blueprint("pages", __name__)

# The merge's labels, and the workspace's two more states (views.UNIT_STATES).
STATE_LABELS = {"missing": UNIT_STATUS_LABELS["missing"], "empty": "Biểu trống", "errors": UNIT_STATUS_LABELS["errors"],
                "explained": "Đã giải trình", "merged": UNIT_STATUS_LABELS["merged"]}
FILE_LABELS = {"ok": "Đạt", "warnings": "Có cảnh báo", "errors": "Có lỗi", "unreadable": "Không đọc được"}
SEVERITY_LABELS = {"error": "Lỗi", "warning": "Cảnh báo"}


def periods() -> list[str]:
    rows = workspace().conn.execute("SELECT code FROM periods ORDER BY code DESC").fetchall()
    return [r["code"] for r in rows]


def file_id(path) -> int:
    """The id in a workspace report's path, `<id>/<name>`."""
    return int(str(path).split("/", 1)[0])


def file_name(path) -> str:
    return str(path).split("/", 1)[-1]


@bp.app_context_processor
def labels():
    return {"STATE_LABELS": STATE_LABELS, "FILE_LABELS": FILE_LABELS, "SEVERITY_LABELS": SEVERITY_LABELS,
            "file_id": file_id, "file_name": file_name}


@bp.get("/")
def home():
    return render_template("home.html", periods=periods(), roster=workspace().roster())


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
    period = period_or_404(code)
    result = None
    if request.method == "POST":
        files = read_uploads("files")
        if not files:
            flash("Chưa chọn tệp nào.", "error")
        else:
            result = workspace().receive(period, files, source="upload")
    return render_template("receive.html", period=period, result=result, roster=workspace().roster())


@bp.get("/periods/<code>/status")
def status(code: str):
    period = period_or_404(code)
    ws = workspace()
    if ws.roster() is None:
        flash("Chưa có danh sách đơn vị: hãy tải lên danh sách trước.", "error")
        return redirect(url_for("pages.home"))
    states = views.status(ws, period)["statuses"]
    result = views.merge(ws, period)
    wanted = request.args.get("status", "")
    rows = [u for u in result.units if not wanted or states[u.unit.code]["status"] == wanted
            or (wanted == "late" and u.late)]
    files: dict = {}
    for f in result.files:
        files.setdefault(f.unit, []).append(f)
    return render_template("status.html", period=period, rows=rows, states=states, wanted=wanted,
                           files=files, counts=_counts(states))


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
    return render_template("unit.html", period=period, code=unit, unit=found, reports=reports,
                           explained=explained)


@bp.get("/periods/<code>/merged")
def merged(code: str):
    period = period_or_404(code)
    ws = workspace()
    unit = request.args.get("unit") or None
    summary = views.status(ws, period, unit)
    roster = ws.roster()
    parents = [u for u in roster if roster.children(u.code)] if roster is not None else []
    return render_template("merged.html", period=period, unit=unit, summary=summary, parents=parents)
