"""The JSON API for scripts (documented in the README): the roster, received files, status, downloads."""

from __future__ import annotations

from flask import Blueprint, Response, abort, jsonify, request

from cchc_excel.web.app import period_or_404, read_uploads, unit_arg, workspace
from cchc_excel.workspace import views

bp = Blueprint("api", __name__, url_prefix="/api")

DOWNLOADS = {
    "merged.xlsx": (views.merged_xlsx, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    "report.docx": (views.report_docx, "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    "tidy.csv": (views.tidy_csv, "text/csv; charset=utf-8"),
}
XLSX = DOWNLOADS["merged.xlsx"][1]


def attachment(data: bytes, mimetype: str, name: str) -> Response:
    return Response(data, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{name}"'})


def download_name(period, what: str, unit: str | None) -> str:
    stem, ext = what.rsplit(".", 1)
    return f"{stem}_{period.code}{'_' + unit if unit else ''}.{ext}"


@bp.put("/roster")
def put_roster():
    files = read_uploads("file")
    if len(files) != 1:
        abort(400, "Cần đúng một tệp danh sách đơn vị (.csv hoặc .xlsx) trong trường `file`.")
    name, data = files[0]
    return jsonify(workspace().put_roster(data, name))


@bp.post("/periods/<code>/files")
def post_files(code: str):
    period = period_or_404(code)
    files = read_uploads("files")
    if not files:
        abort(400, "Không có tệp nào trong trường `files`.")
    return jsonify(workspace().receive(period, files, source="upload"))


@bp.post("/periods/<code>/folder")
def post_folder(code: str):
    """Scan a folder of this computer (`path`, form or JSON field): NDJSON lines, one per file checked."""
    from flask import stream_with_context

    from cchc_excel.web.scan import scan_or_abort, stream_lines

    period = period_or_404(code)
    body = request.get_json(silent=True) if request.is_json else None
    path = (body or {}).get("path", "") if isinstance(body, dict) else request.form.get("path", "")
    scan = scan_or_abort(path if isinstance(path, str) else "")
    lines = stream_with_context(stream_lines(workspace(), period, scan))
    return Response(lines, mimetype="application/x-ndjson")


@bp.get("/periods/<code>/status")
def get_status(code: str):
    """The summary of the subtree `?unit=CODE` (default: the workspace's own unit; `?unit=*`: all)."""
    return jsonify(views.status(workspace(), period_or_404(code), unit_arg()))


@bp.get("/periods/<code>/<any('merged.xlsx', 'report.docx', 'tidy.csv'):what>")
def get_download(code: str, what: str):
    period = period_or_404(code)
    unit = unit_arg()
    make, mimetype = DOWNLOADS[what]
    named = unit if request.args.get("unit") else None  # the file of the page's own unit: no code in its name
    return attachment(make(workspace(), period, unit), mimetype, download_name(period, what, named))


@bp.get("/files/<int:file_id>/feedback.xlsx")
def get_feedback(file_id: int):
    from cchc_excel.errors import CchcError

    try:
        data = views.feedback_xlsx(workspace(), file_id)
    except CchcError as e:
        abort(404, str(e))
    return attachment(data, XLSX, f"phan-hoi_tep-{file_id}.xlsx")
