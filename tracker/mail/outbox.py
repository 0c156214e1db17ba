"""The outbox: every email is a row first, and a row's status says what became of it.

pending -> sending (claimed, with a lease) -> sent | pending again (retry) | failed;
pending -> cancelled (the user turned the digest off) | expired (a past day's digest).

A row is claimed by one atomic statement; every later change is guarded by the status and
the attempt number it was claimed with, so a sender whose lease ran out and was re-claimed
by another can no longer change the row. Functions here flush; their callers commit.
Claiming and recording run on `db.session`, or with `on=`, on the one connection that a
sending pass keeps for all its transactions (sender.py).
"""

import random
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from email.parser import Parser
from email.policy import default as default_policy
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import Connection, and_, bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, scoped_session

from ..clock import utcnow
from ..db import db
from ..models import Outbox, OutboxStatus, User
from . import compose

PENDING, SENDING, SENT = OutboxStatus.PENDING, OutboxStatus.SENDING, OutboxStatus.SENT
FAILED, CANCELLED, EXPIRED = OutboxStatus.FAILED, OutboxStatus.CANCELLED, OutboxStatus.EXPIRED
# Kinds whose body holds a live secret (a password-reset link). Once the message is sent or
# given up on, only its headers are kept, so a copy of the database holds no working link.
SECRET_BODIES = ("reset",)
SCRUBBED_BODY = "The body held a link to choose a new password; only the headers are kept.\n"


@dataclass(frozen=True)
class Claim:
    """A row reserved for one sender until `lease_until`; `attempts` counts this one."""

    id: int
    user_id: int
    kind: str
    local_date: date | None
    recipient: str
    message: str
    message_id: str
    attempts: int
    created_at: datetime


Executor = Connection | Session | scoped_session


def _dialect(on: Executor) -> str:
    return on.dialect.name if isinstance(on, Connection) else on.get_bind().dialect.name


def _insert() -> postgresql.Insert | sqlite.Insert:
    """The dialect's INSERT, which knows ON CONFLICT DO NOTHING."""
    dialect = db.session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(Outbox)


@dataclass(frozen=True)
class Queued:
    """A composed message to store under its idempotency key."""

    user_id: int
    recipient: str
    key: str
    kind: str
    message: compose.Composed
    local_date: date | None = None


def enqueue_many(queued: Sequence[Queued], now: datetime | None = None) -> set[str]:
    """Store many messages in one statement; returns the keys that were new (a key used
    already keeps its first message)."""
    if not queued:
        return set()
    now = now or utcnow()
    rows = [
        {
            "user_id": q.user_id,
            "key": q.key,
            "kind": q.kind,
            "local_date": q.local_date,
            "recipient": q.recipient,
            "subject": q.message.subject,
            "message": q.message.text,
            "message_id": q.message.message_id,
            "status": PENDING,
            "attempts": 0,
            "next_attempt_at": now,
            "last_error": "",
            "created_at": now,
        }
        for q in queued
    ]
    # Rows come back only for keys that were inserted. (Not rowcount: on PostgreSQL the
    # ORM adds its own RETURNING to an INSERT, and rowcount is then -1.)
    statement = _insert().on_conflict_do_nothing(index_elements=["key"]).returning(Outbox.key)
    return set(db.session.execute(statement, rows).scalars())


def enqueue(
    user: User,
    key: str,
    kind: str,
    message: EmailMessage | compose.Composed,
    local_date: date | None = None,
    now: datetime | None = None,
) -> bool:
    """Store a composed message under an idempotency key; False if the key was used already."""
    queued = Queued(user.id, user.email, key, kind, compose.stored(message), local_date)
    return bool(enqueue_many([queued], now))


def enqueue_test_email(user: User) -> str:
    """Queue a test email to the user (the settings page's button); returns its key."""
    now = utcnow()
    key = f"test:{user.id}:{uuid.uuid4()}"
    enqueue(user, key, "test", compose.delivery_check(user, now), now=now)
    return key


def claim(now: datetime, limit: int = 1, *, on: Executor | None = None) -> list[Claim]:
    """Reserve up to `limit` due rows for this sender, atomically.

    PostgreSQL: the SELECT in the WITH clause locks rows FOR UPDATE SKIP LOCKED, so
    concurrent senders take different rows. SQLite drops FOR UPDATE, but the transaction
    began IMMEDIATE and holds the write lock, and the UPDATE repeats the condition: one
    statement, one winner.
    """
    on = on or db.session
    lease = timedelta(seconds=current_app.config["OUTBOX_LEASE_SECONDS"])
    due = and_(Outbox.status == PENDING, Outbox.next_attempt_at <= now)
    pick = (
        select(Outbox.id)
        .where(due)
        .order_by(Outbox.next_attempt_at, Outbox.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .cte("picked")
    )
    if _dialect(on) == "postgresql":
        # Evaluated once: as a plain IN subquery PostgreSQL may re-run it per row, and a
        # re-run skips the rows this statement just locked and picks more than `limit`.
        # The rows it returns are locked and were due when locked, so the UPDATE finds
        # them by id alone: a plan that holds even with the statistics of an emptier table
        # (a sweep has just filled it).
        mine = Outbox.id.in_(select(pick.prefix_with("MATERIALIZED").c.id))
    else:
        # No row locks on SQLite: the UPDATE checks again that each row is due.
        mine = and_(Outbox.id.in_(select(pick.c.id)), due)
    statement = (
        update(Outbox)
        .where(mine)
        .values(status=SENDING, lease_until=utcnow() + lease, attempts=Outbox.attempts + 1)
        .returning(
            Outbox.id,
            Outbox.user_id,
            Outbox.kind,
            Outbox.local_date,
            Outbox.recipient,
            Outbox.message,
            Outbox.message_id,
            Outbox.attempts,
            Outbox.created_at,
        )
    )
    rows = on.execute(statement, execution_options={"synchronize_session": False})
    return sorted((Claim(*row) for row in rows), key=lambda c: c.id)


def _without_body(message: str) -> str:
    """The stored message with its body replaced by SCRUBBED_BODY, headers unchanged."""
    parsed = Parser(policy=default_policy).parsestr(message)
    parsed.set_content(SCRUBBED_BODY)
    return compose.serialise(parsed)


# Change a row we claimed, only if it is still ours (same status and attempt). Built
# once: one of these runs per message sent. The columns to SET come from the parameters
# each execution passes, so one statement serves every outcome.
_table = Outbox.__table__
_FINISH = _table.update().where(
    _table.c.id == bindparam("claimed_id"),
    _table.c.status == SENDING,
    _table.c.attempts == bindparam("claimed_attempts"),
)


def _finish(claimed: Claim, on: Executor | None, **values: object) -> bool:
    """Change a row we claimed, only if it is still ours (same status and attempt)."""
    if claimed.kind in SECRET_BODIES and values.get("status") in (SENT, FAILED):
        values["message"] = _without_body(claimed.message)
    parameters = {
        "claimed_id": claimed.id,
        "claimed_attempts": claimed.attempts,
        "lease_until": None,
        **values,
    }
    return (on or db.session).execute(_FINISH, parameters).rowcount == 1


def mark_sent(claimed: Claim, now: datetime, *, on: Executor | None = None) -> bool:
    return _finish(claimed, on, status=SENT, sent_at=now, last_error="")


def cancel(claimed: Claim, reason: str, *, on: Executor | None = None) -> bool:
    return _finish(claimed, on, status=CANCELLED, last_error=reason)


def expire(claimed: Claim, reason: str, *, on: Executor | None = None) -> bool:
    return _finish(claimed, on, status=EXPIRED, last_error=reason)


def release(claims: Sequence[Claim], *, on: Executor | None = None) -> int:
    """Give back rows claimed but never tried (the sender was asked to stop first): due
    again at once, and the claim not counted as an attempt."""
    return sum(
        _finish(claimed, on, status=PENDING, attempts=claimed.attempts - 1) for claimed in claims
    )


def backoff(attempts: int) -> timedelta:
    """Exponential from OUTBOX_BACKOFF_SECONDS, capped, with jitter so retries spread out."""
    config = current_app.config
    ceiling = min(
        config["OUTBOX_BACKOFF_MAX_SECONDS"],
        config["OUTBOX_BACKOFF_SECONDS"] * 2 ** max(attempts - 1, 0),
    )
    # "Equal jitter": at least half the wait, so a retry never comes straight back.
    return timedelta(seconds=ceiling / 2 + random.uniform(0, ceiling / 2))  # noqa: S311


def record_failure(
    claimed: Claim, error: str, temporary: bool, now: datetime, *, on: Executor | None = None
) -> OutboxStatus:
    """Retry later (temporary, attempts left) or fail for good; the error stays visible."""
    if temporary and claimed.attempts < current_app.config["OUTBOX_MAX_ATTEMPTS"]:
        retry_at = now + backoff(claimed.attempts)
        _finish(claimed, on, status=PENDING, next_attempt_at=retry_at, last_error=error)
        return PENDING
    if temporary:
        error = f"{error} (gave up after {claimed.attempts} attempts)"
    _finish(claimed, on, status=FAILED, last_error=error)
    return FAILED


def reap_leases(now: datetime) -> int:
    """Rows whose sender vanished mid-send go back to pending (or fail, attempts used up)."""
    limit = current_app.config["OUTBOX_MAX_ATTEMPTS"]
    stale = and_(Outbox.status == SENDING, Outbox.lease_until <= now)
    options = {"synchronize_session": False}
    retried = db.session.execute(
        update(Outbox)
        .where(stale, Outbox.attempts < limit)
        .values(
            status=PENDING,
            lease_until=None,
            next_attempt_at=now,
            last_error="The sender stopped while sending; sending again.",
        ),
        execution_options=options,
    ).rowcount
    failed = db.session.execute(
        update(Outbox)
        .where(stale, Outbox.attempts >= limit)
        .values(
            status=FAILED,
            lease_until=None,
            last_error=f"The sender stopped while sending, {limit} times; given up.",
        ),
        execution_options=options,
    ).rowcount
    return retried + failed


def expire_past_digests(
    now: datetime, user_ids: Collection[int] | None = None, before: date | None = None
) -> int:
    """Pending digests for a local day that is over: today's digest carries their items.

    Every user's, or those of `user_ids`. `before` may narrow the search to days before
    it: a sweep passes the latest local date it just stored, no earlier than any of those
    users' today, so it does not read back the digests it has just written."""
    # Local dates run at most one day ahead of UTC, so this bound finds every candidate.
    latest = before or (now + timedelta(days=1)).date()
    query = (
        select(Outbox.id, Outbox.local_date, User.timezone)
        .join(User, User.id == Outbox.user_id)
        .where(Outbox.kind == "digest", Outbox.status == PENDING, Outbox.local_date < latest)
    )
    if user_ids is not None:
        query = query.where(Outbox.user_id.in_(user_ids))
    past = [
        row.id
        for row in db.session.execute(query)
        if row.local_date < now.astimezone(ZoneInfo(row.timezone)).date()
    ]
    if not past:
        return 0
    return db.session.execute(
        update(Outbox)
        .where(Outbox.id.in_(past), Outbox.status == PENDING)
        .values(status=EXPIRED, last_error="Not sent that day; the next digest lists its items."),
        execution_options={"synchronize_session": False},
    ).rowcount


def delete_old(now: datetime) -> int:
    """Forget sent, cancelled and expired rows after OUTBOX_KEEP_DAYS; failed ones stay."""
    cutoff = now - timedelta(days=current_app.config["OUTBOX_KEEP_DAYS"])
    return db.session.execute(
        Outbox.__table__.delete().where(
            Outbox.status.in_([SENT, CANCELLED, EXPIRED]), Outbox.created_at < cutoff
        )
    ).rowcount
