"""Import and export pages: upload and preview contact files, downloads, backup and restore."""

import functools
import json
from collections.abc import Callable, Iterator

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_login import current_user, login_required
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import RequestEntityTooLarge

from .. import backup, csrf, exports, importing, pending_imports
from ..clock import local_today
from ..db import db
from ..imports import FIELDS, Action, ImportProblem
from ..models import PendingImport
from . import page_number

bp = Blueprint("transfer", __name__)
MB = 1024 * 1024
# The whole request may be larger than the app's limit here, so that a file over the
# file limit still arrives and gets a plain message instead of a bare 413.
LIMITS = {
    "IMPORT_MAX_BYTES": 20 * MB,
    "BACKUP_MAX_BYTES": 50 * MB,
    "UPLOAD_REQUEST_MAX_BYTES": 60 * MB,
}
PER_PAGE = 100
SHOWN = ("all", *Action)


def _limit(name: str) -> int:
    """IMPORT_MAX_BYTES, BACKUP_MAX_BYTES or UPLOAD_REQUEST_MAX_BYTES: config or default."""
    return current_app.config.get(name, LIMITS[name])


def _too_large(limit: int) -> str:
    size = f"{limit / MB:g} MB" if limit >= MB else f"{limit / 1024:g} KB"
    return f"The file is too large: the most Keepwarm reads is {size}."


def large_upload(view: Callable) -> Callable:
    """Allow a large body on this view, then check the CSRF token (which reads the body)."""

    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        request.max_content_length = _limit("UPLOAD_REQUEST_MAX_BYTES")
        if current_app.config.get("WTF_CSRF_ENABLED", True):
            csrf.protect()  # before login_required, as CSRFProtect does on every other POST
        return view(*args, **kwargs)

    return csrf.exempt(wrapped)


def _upload(limit: int) -> tuple[bytes, str]:
    """The uploaded file's bytes and name; ImportProblem if missing or too large."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise ImportProblem("Choose a file.")
    data = upload.stream.read(limit + 1)
    if len(data) > limit:
        raise ImportProblem(_too_large(limit))
    return data, upload.filename


@bp.errorhandler(RequestEntityTooLarge)
def too_large(error):
    if request.endpoint == "transfer.restore":
        message = _too_large(_limit("BACKUP_MAX_BYTES"))
        return render_template("transfer/restore.html", error=message, empty=True), 413
    message = _too_large(_limit("IMPORT_MAX_BYTES"))
    return render_template("transfer/import.html", error=message), 413


@bp.get("/import/")
@login_required
def start():
    return render_template("transfer/import.html", error=None)


@bp.post("/import/")
@large_upload
@login_required
def upload():
    try:
        data, filename = _upload(_limit("IMPORT_MAX_BYTES"))
        pending = pending_imports.receive(current_user.id, filename, data)
    except ImportProblem as problem:
        return render_template("transfer/import.html", error=str(problem)), 400
    db.session.commit()
    return redirect(url_for("transfer.show", token=pending.id))


def _pending(token: str) -> PendingImport:
    """The user's pending import with that random id; 404 for anyone else's or none."""
    pending = db.session.get(PendingImport, token) if len(token) <= 32 else None
    if pending is None or pending.user_id != current_user.id:
        abort(404)
    return pending


def _preview_page(pending: PendingImport, error: str | None = None, status: int = 200):
    found = pending_imports.preview(pending)
    shown = request.args.get("show", "all")
    shown = shown if shown in SHOWN else "all"
    rows = [d for d in found.decisions if shown == "all" or d.action == shown]
    pages = max(1, -(-len(rows) // PER_PAGE))
    page = min(page_number(request.args.get("page")), pages)
    table = found.table
    return render_template(
        "transfer/preview.html",
        pending=pending,
        found=found,
        counts={action: found.count(action) for action in Action},
        rows=rows[(page - 1) * PER_PAGE : page * PER_PAGE],
        shown=shown,
        page=page,
        pages=pages,
        columns=table.columns,
        examples=pending_imports.examples(table),
        chosen={column: name for name, column in pending_imports.mapping_of(pending).items()},
        fields=FIELDS,
        noun=table.noun,
        error=error,
    ), status


@bp.get("/import/<token>")
@login_required
def show(token: str):
    pending = _pending(token)
    if pending.status == "done":
        return render_template("transfer/done.html", pending=pending, **json.loads(pending.result))
    return _preview_page(pending)


@bp.post("/import/<token>/columns")
@login_required
def columns(token: str):
    pending = _pending(token)
    if pending.status != "pending":
        return redirect(url_for("transfer.show", token=token))
    count = len(pending_imports.table_of(pending).columns)
    choices = [request.form.get(f"column-{index}", "") for index in range(count)]
    problem = pending_imports.choose_columns(pending, choices)
    if problem:
        db.session.rollback()
        return _preview_page(pending, error=problem, status=400)
    db.session.commit()
    return redirect(url_for("transfer.show", token=token))


@bp.post("/import/<token>/confirm")
@login_required
def confirm(token: str):
    pending = _pending(token)
    on_match = request.form.get("on_match", "merge")
    if on_match not in ("merge", "skip"):
        abort(400)
    try:
        result = importing.run(current_user, pending, merge=on_match == "merge")
        db.session.commit()
    except ImportProblem as problem:
        db.session.rollback()
        flash(str(problem), "info")
        return redirect(url_for("transfer.show", token=token))
    except SQLAlchemyError:
        db.session.rollback()
        current_app.logger.exception("import %s failed", token)
        message = "The import failed, so nothing was saved. Please try again."
        return _preview_page(pending, error=message, status=500)
    flash(f"Import finished: {result.created:,} added, {result.merged:,} merged.", "success")
    return redirect(url_for("transfer.show", token=token))


@bp.post("/import/<token>/discard")
@login_required
def discard(token: str):
    db.session.delete(_pending(token))
    db.session.commit()
    flash("The file was discarded; nothing was imported.", "info")
    return redirect(url_for("transfer.start"))


@bp.get("/import/restore")
@login_required
def restore_start():
    empty = backup.is_empty(current_user.id)
    return render_template("transfer/restore.html", error=None, empty=empty)


@bp.post("/import/restore")
@large_upload
@login_required
def restore():
    try:
        data, _ = _upload(_limit("BACKUP_MAX_BYTES"))
        counts = backup.restore(current_user.record(), data)
    except (ImportProblem, backup.BackupProblem) as problem:
        db.session.rollback()
        empty = backup.is_empty(current_user.id)
        return render_template("transfer/restore.html", error=str(problem), empty=empty), 400
    db.session.commit()
    flash(
        f"Backup restored: {counts['contact']:,} contacts, {counts['interview']:,} interviews "
        f"and {counts['follow_up']:,} follow-ups.",
        "success",
    )
    return redirect(url_for("home.index"))


@bp.get("/export/")
@login_required
def export():
    return render_template("transfer/export.html")


def _download(chunks: Iterator, name: str, content_type: str) -> Response:
    """A streamed attachment named keepwarm-<name>-<date>: never cached, with a charset."""
    stem, extension = name.split(".")
    today = local_today(current_user.timezone).isoformat()
    filename = f"keepwarm-{stem}-{today}.{extension}"
    response = Response(stream_with_context(chunks), content_type=content_type)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/export/contacts.csv")
@login_required
def contacts_csv():
    chunks = exports.contacts_csv(current_user.id)
    return _download(chunks, "contacts.csv", "text/csv; charset=utf-8")


@bp.get("/export/contacts.vcf")
@login_required
def contacts_vcard():
    chunks = exports.contacts_vcard(current_user.id, current_app.config["BASE_URL"])
    return _download(chunks, "contacts.vcf", "text/vcard; charset=utf-8")


@bp.get("/export/follow-ups.ics")
@login_required
def follow_ups_ics():
    today = local_today(current_user.timezone)
    chunks = exports.follow_ups_ics(current_user.id, current_app.config["BASE_URL"], today)
    return _download(chunks, "follow-ups.ics", "text/calendar; charset=utf-8")


@bp.get("/export/backup.json")
@login_required
def backup_json():
    chunks = backup.dump(current_user.record())
    return _download(chunks, "backup.json", "application/json; charset=utf-8")
