"""The periodic jobs. Each is idempotent: running it twice, or late, does no harm.

The scheduler calls them on a timer, `send-due` calls them once; both inside an app
context. The database decides what is due, so a run after downtime simply catches up.
"""

import logging
import threading
from collections import defaultdict
from collections.abc import Sequence
from concurrent.futures.process import BrokenProcessPool
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import exists, func, select
from sqlalchemy.dialects import postgresql, sqlite

from . import agenda, pending_imports, sweeper
from .clock import utcnow
from .db import db, reading
from .mail import compose, outbox
from .mail.sender import SWEEPS, DispatchReport, dispatch
from .models import FollowUp, FollowUpStatus, JobRun, Outbox, User

log = logging.getLogger(__name__)


# Users whose digests are read and composed in one transaction and stored in the next.
SWEEP_BATCH = 100


def digest_key(user_id: int, local_date: date) -> str:
    return f"digest:{user_id}:{local_date.isoformat()}"


def compose_digests(
    wanted: Sequence[tuple[User, date]], now: datetime
) -> dict[int, compose.Composed]:
    """The digests of these users for their local dates, by user id; a user with nothing
    due or overdue gets none. Everything overdue counts, so after downtime one digest
    catches up; it lists the oldest agenda.DIGEST_ROWS.

    A few queries for all of them, whatever their number or how much each has due.
    """
    users = {user.id: user for user, _ in wanted}
    by_day: dict[date, list[int]] = defaultdict(list)
    for user, local_date in wanted:
        by_day[local_date].append(user.id)
    composed = {}
    for local_date, user_ids in by_day.items():
        due = agenda.due_for_digests(user_ids, local_date)
        listed = [f for found in due.values() for f in found.follow_ups]
        items = {item.follow_up.id: item for item in agenda.describe(listed, local_date)}
        for user_id, found in due.items():
            composed[user_id] = compose.digest(
                users[user_id],
                [items[f.id] for f in found.follow_ups],
                local_date,
                now,
                due=found.count,
                overdue=found.overdue,
            )
    return composed


def plan_digests(now: datetime | None = None) -> int:
    """Queue a digest for every user whose local digest hour has come today; returns how many.

    One query finds candidates: digest on, something open due by tomorrow in UTC (no local
    date is later), and the date of their latest digest, so users already served are
    skipped without touching their follow-ups. Then SWEEP_BATCH users at a time: read and
    compose in a transaction that only reads (on SQLite it holds no write lock), then one
    short write stores their digests and expires any older ones still waiting (today's
    digest carries their items). A sender running beside the sweep in this process (the
    worker's) sends each batch as it is stored; a large sweep composes in a child process
    so that the sender keeps a core of its own (tracker/sweeper.py).
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
    due_now = {}
    for user_id, zone, hour, last in candidates:
        local = now.astimezone(ZoneInfo(zone))
        if local.hour >= hour and (last is None or last < local.date()):
            due_now[user_id] = local.date()
    batches = [list(due_now)[i : i + SWEEP_BATCH] for i in range(0, len(due_now), SWEEP_BATCH)]
    with SWEEPS.sweeping():  # a sender in this process sends each batch as it is stored
        if len(due_now) >= sweeper.CHILD_FROM_USERS:
            try:
                return sweeper.store_in_child(batches, due_now, now, SWEEPS.stored)
            except BrokenProcessPool:
                # What the child stored stays stored (the outbox keeps one per key).
                log.exception("the sweep's child process failed: composing here instead")
        return sum(_stored_here(batch, due_now, now) for batch in batches)


def _stored_here(batch: list[int], due_now: dict[int, date], now: datetime) -> int:
    count = store_digests(batch, due_now, now)
    if count:
        SWEEPS.stored()
    return count


def store_digests(batch: list[int], due_now: dict[int, date], now: datetime) -> int:
    """Compose and store the digests of one batch of users; how many were stored."""
    with reading():
        users = db.session.execute(
            select(User).where(User.id.in_(batch), User.digest_enabled.is_(True))
        ).scalars()
        wanted = [(user, due_now[user.id]) for user in users]
        messages = compose_digests(wanted, now)
        rows = [
            outbox.Queued(
                user.id, user.email, digest_key(user.id, day), "digest", messages[user.id], day
            )
            for user, day in wanted
            if user.id in messages
        ]
    db.session.commit()
    stored = outbox.enqueue_many(rows, now)
    if stored:
        served = [row for row in rows if row.key in stored]
        latest = max(row.local_date for row in served)
        outbox.expire_past_digests(now, {row.user_id for row in served}, before=latest)
    db.session.commit()
    return len(stored)


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
