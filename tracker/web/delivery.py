"""Email delivery: when the scheduler last ran, what goes out next, every email and its fate."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from email.parser import Parser
from email.policy import default as default_policy
from pathlib import Path
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, render_template, request
from flask_login import current_user, login_required

from .. import agenda
from ..clock import utcnow
from ..dates import clock_time, short_date
from ..db import db
from ..models import JobRun, Outbox, OutboxStatus, User
from . import owned_or_404, page_number, paginate

bp = Blueprint("delivery", __name__, url_prefix="/delivery")
SHOWN_HEADERS = ("From", "To", "Date", "Subject", "Message-ID")
# The jobs of tracker.scheduler, by their fixed ids, in the words of the page.
JOB_LABELS = {
    "plan-digests": "Plan the daily digests",
    "dispatch-outbox": "Send emails",
    "reap-leases": "Recover interrupted sends",
    "housekeeping": "Housekeeping",
}


def ago(moment: datetime, now: datetime) -> str:
    """ "just now", "2 minutes ago", "in 3 hours", "5 days ago"."""
    seconds = (now - moment).total_seconds()
    if abs(seconds) < 60:
        return "just now"
    for size, unit in ((86400, "day"), (3600, "hour"), (60, "minute")):
        if abs(seconds) >= size:
            count = int(abs(seconds) // size)
            words = f"{count} {unit}{'' if count == 1 else 's'}"
            return f"{words} ago" if seconds > 0 else f"in {words}"
    return "just now"  # pragma: no cover - the loop always answers


def when(moment: datetime | None, zone: str, now: datetime) -> str:
    """ "3 Dec 14:05 (2 minutes ago)" on the user's wall clock; "never" for None."""
    if moment is None:
        return "never"
    local = moment.astimezone(ZoneInfo(zone))
    today = now.astimezone(ZoneInfo(zone)).date()
    return f"{short_date(local.date(), today)} {clock_time(local.time())} ({ago(moment, now)})"


@dataclass(frozen=True)
class JobLine:
    name: str
    last_run: str
    last_success: str
    failing: bool


@dataclass(frozen=True)
class LogLine:
    id: int
    created: str
    subject: str
    status: str
    failed: bool
    attempts: int
    last_error: str
    sent: str
    next_attempt: str
    file: str


def status_words(row: Outbox) -> str:
    """The outbox status in the words of the page: a pending row that failed is retrying."""
    if row.status is OutboxStatus.PENDING and row.attempts:
        return "retrying"
    return row.status.value


def job_lines(zone: str, now: datetime) -> list[JobLine]:
    """Every scheduled job; its error text stays in the server log (it may name others)."""
    runs = db.session.execute(db.select(JobRun).order_by(JobRun.name)).scalars()
    return [
        JobLine(
            name=JOB_LABELS.get(run.name, run.name),
            last_run=when(run.last_run_at, zone, now),
            last_success=when(run.last_success_at, zone, now),
            failing=bool(run.last_error),  # cleared by the next successful run
        )
        for run in runs
    ]


def next_digest(user: User, now: datetime) -> str:
    """What the digest job will do next for this user, in one sentence."""
    if not user.digest_enabled:
        return "The daily digest is off."
    local = now.astimezone(ZoneInfo(user.timezone))
    today = local.date()
    sent_today = db.session.execute(
        db.select(Outbox.id).where(
            Outbox.user_id == user.id, Outbox.kind == "digest", Outbox.local_date == today
        )
    ).first()
    day = today + timedelta(days=1) if sent_today else today
    due = agenda.due_count(user, day)
    on = _day_words(day, today)
    if not due:
        return f"No follow-ups due {on} — no digest will be sent."
    items = f"{due} follow-up{'' if due == 1 else 's'}"
    if day == today and local.hour >= user.digest_hour:
        return f"Next digest: now, at the scheduler's next run, with {items}."
    return f"Next digest: {on} at {user.digest_hour:02d}:00 ({user.timezone}), with {items}."


def _day_words(day: date, today: date) -> str:
    return "today" if day == today else f"tomorrow, {short_date(day, today)}"


def eml_file(row: Outbox) -> str:
    """The name of the `.eml` file written for this row without SMTP, or "" if there is none.

    FileTransport (tracker/mail/transport.py) names it `<created, UTC>-<outbox id>.eml`.
    """
    name = f"{row.created_at:%Y%m%d-%H%M%S}-{row.id}.eml"
    return name if (Path(current_app.instance_path) / "mail" / name).is_file() else ""


def log_lines(rows: list[Outbox], zone: str, now: datetime, files: bool) -> list[LogLine]:
    return [
        LogLine(
            id=row.id,
            created=when(row.created_at, zone, now),
            subject=row.subject,
            status=status_words(row),
            failed=row.status is OutboxStatus.FAILED,
            attempts=row.attempts,
            last_error=row.last_error,
            sent=when(row.sent_at, zone, now) if row.sent_at else "",
            next_attempt=when(row.next_attempt_at, zone, now)
            if row.status is OutboxStatus.PENDING and row.attempts
            else "",
            file=eml_file(row) if files else "",
        )
        for row in rows
    ]


@bp.get("/")
@login_required
def index():
    now, zone = utcnow(), current_user.timezone
    page = paginate(
        db.select(Outbox)
        .where(Outbox.user_id == current_user.id)
        .order_by(Outbox.created_at.desc(), Outbox.id.desc()),
        page_number(request.args.get("page")),
        current_app.config["PER_PAGE"],
    )
    files_only = not current_app.config.get("SMTP_HOST")
    return render_template(
        "delivery/index.html",
        jobs=job_lines(zone, now),
        next_digest=next_digest(current_user, now),
        page=page,
        lines=log_lines(page.items, zone, now, files=files_only),
        files_only=files_only,
    )


def _parse(message: str) -> EmailMessage:
    return Parser(policy=default_policy).parsestr(message)


@bp.get("/<int:outbox_id>")
@login_required
def show(outbox_id: int):
    row = owned_or_404(Outbox, outbox_id)
    message = _parse(row.message)
    body = message.get_body(preferencelist=("plain",))
    text = body.get_content() if body is not None else ""
    if row.kind == "reset":
        # The link sets a new password without the current one: a stolen session must
        # not be able to ask for one and read it here.
        text = "This email holds a link to choose a new password; it is shown only in the email."
    return render_template(
        "delivery/show.html",
        row=row,
        status=status_words(row),
        file=eml_file(row),
        headers=[(name, str(message[name])) for name in SHOWN_HEADERS if message[name]],
        text=text,
        attachments=[part.get_filename() or "attachment" for part in message.iter_attachments()],
    )
