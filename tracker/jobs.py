"""The periodic jobs. Each is idempotent: running it twice, or late, does no harm.

The scheduler calls them on a timer, `send-due` calls them once; both inside an app
context. The database decides what is due, so a run after downtime simply catches up.
"""

import logging
import threading
from datetime import date, datetime
from email.message import EmailMessage
from zoneinfo import ZoneInfo

from sqlalchemy import exists, func, select
from sqlalchemy.dialects import postgresql, sqlite

from . import agenda, pending_imports
from .clock import utcnow
from .db import db, reading
from .mail import compose, outbox
from .mail.sender import DispatchReport, dispatch
from .models import FollowUp, FollowUpStatus, JobRun, Outbox, User

log = logging.getLogger(__name__)


def digest_key(user_id: int, local_date: date) -> str:
    return f"digest:{user_id}:{local_date.isoformat()}"


def compose_digest(user: User, today: date, now: datetime) -> EmailMessage | None:
    """The user's digest for their local `today`, or None when nothing is due or overdue.

    Everything overdue is in it, so after downtime one digest catches up.
    """
    due = agenda.due_for_digest(user, today)
    if not due:
        return None
    return compose.digest(user, agenda.describe(due, today), today, now)


def enqueue_digest(
    user: User, today: date, now: datetime, message: EmailMessage | None = None
) -> bool:
    """Queue the user's digest (`message`, or composed now) unless nothing is due.

    An older digest still waiting is expired, because this one carries its items.
    """
    message = message or compose_digest(user, today, now)
    if message is None:
        return False
    queued = outbox.enqueue(user, digest_key(user.id, today), "digest", message, today, now)
    if queued:
        outbox.expire_past_digests(now, user_id=user.id)
    return queued


def plan_digests(now: datetime | None = None) -> int:
    """Queue a digest for every user whose local digest hour has come today; returns how many.

    One query finds candidates: digest on, something open due by tomorrow in UTC (no local
    date is later), and the date of their latest digest, so users already served are
    skipped without touching their follow-ups.
    """
    now = now or utcnow()
    horizon = (now.astimezone(ZoneInfo("Etc/GMT-14"))).date()
    latest = (
        select(Outbox.user_id, func.max(Outbox.local_date).label("last"))
        .where(Outbox.kind == "digest")
        .group_by(Outbox.user_id)
        .subquery()
    )
    has_due = exists().where(
        FollowUp.user_id == User.id,
        FollowUp.status == FollowUpStatus.OPEN,
        FollowUp.due_on <= horizon,
    )
    with reading():
        candidates = db.session.execute(
            select(User.id, User.timezone, User.digest_hour, latest.c.last)
            .outerjoin(latest, latest.c.user_id == User.id)
            .where(User.digest_enabled.is_(True), has_due)
            .order_by(User.id)
        ).all()
    db.session.commit()
    queued = 0
    for user_id, zone, hour, last in candidates:
        local = now.astimezone(ZoneInfo(zone))
        if local.hour < hour or (last is not None and last >= local.date()):
            continue
        # Composing takes a while: it reads in a transaction of its own, which on SQLite
        # holds no write lock, and the write that stores the digest is kept short.
        with reading():
            user = db.session.get(User, user_id)
            wanted = user is not None and user.digest_enabled
            message = compose_digest(user, local.date(), now) if wanted else None
        db.session.commit()
        if message is not None and enqueue_digest(user, local.date(), now, message):
            queued += 1
        db.session.commit()
    return queued


def dispatch_outbox(now: datetime | None = None, stop: threading.Event | None = None) -> str:
    """Send what is due in the outbox; `stop` ends the pass after the current message."""
    report: DispatchReport = dispatch(now, stop)
    return str(report)


def reap_leases(now: datetime | None = None) -> int:
    """Give back rows whose sender's lease ran out (it crashed or hung)."""
    count = outbox.reap_leases(now or utcnow())
    db.session.commit()
    return count


def housekeeping(now: datetime | None = None) -> dict[str, int]:
    """Expire digests of local days that are over; forget old emails and stale uploads."""
    now = now or utcnow()
    result = {
        "expired": outbox.expire_past_digests(now),
        "deleted": outbox.delete_old(now),
        "uploads_forgotten": pending_imports.forget_old(),
    }
    db.session.commit()
    return result


def record_run(name: str, started: datetime, error: str = "") -> None:
    """Upsert the job's JobRun row: the delivery page shows when the scheduler last ran."""
    dialect = db.session.get_bind().dialect.name
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(JobRun)
    values = {"last_run_at": started, "last_error": error}
    if not error:
        values["last_success_at"] = started
    statement = insert.values(name=name, **values).on_conflict_do_update(
        index_elements=["name"], set_=values
    )
    db.session.execute(statement)
    db.session.commit()
