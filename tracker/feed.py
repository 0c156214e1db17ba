"""The calendar feed: its secret token, who it belongs to, misses, and the rendered body.

The token is 256 bits from `secrets`. It is looked up by its SHA-256 and kept otherwise
only sealed (tracker.sealing: encrypted with a key derived from SECRET_KEY) so Settings
can show it to its owner again. It opens the feed and nothing else. The body is rendered
by tracker.calendar and cached per user, keyed by everything it is made of (the user's
feed version, time zone, digest hour, local date and the base URL), so unchanged feeds
and 304s cost one indexed query. Use cases flush; the caller commits.
"""

import hashlib
import hmac
import logging
import math
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import Flask, current_app
from sqlalchemy import case, literal
from sqlalchemy.dialects import postgresql, sqlite

from . import agenda, calendar, feed_changes, sealing
from .clock import local_today, utcnow
from .db import db
from .latest import LatestCache
from .models import FollowUp, FollowUpStatus, LoginThrottle, User, UTCDateTime

TOKEN_BYTES = 32  # 256 bits
TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{43}")  # token_urlsafe(32): 43 base64url characters
DAYS_BACK = 60
DAYS_AHEAD = 365
MISS_LIMIT = 20
MISS_WINDOW = timedelta(minutes=10)
MISS_KEY = "feed-address:"  # LoginThrottle rows of feed misses, apart from login failures
CACHE_BYTES = 64 * 1024 * 1024
FEED_PATH = re.compile(r"(/feed/)[^/\s?#\"']+")

log = logging.getLogger("keepwarm.feed")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token(user: User) -> str:
    """Give the user a new feed token; the previous one stops working with this commit."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    user.feed_token_hash = token_hash(token)
    user.feed_token_sealed = sealing.seal(sealing.FEED_TOKEN, token)
    user.feed_token_created_at = utcnow()
    db.session.flush()
    return token


def current_token(user: User) -> str | None:
    """The user's feed token for display, or None (none made, or sealed with a SECRET_KEY
    that is neither the current one nor among SECRET_KEY_FALLBACKS)."""
    if not user.feed_token_hash or not user.feed_token_sealed:
        return None
    token = sealing.unseal(sealing.FEED_TOKEN, user.feed_token_sealed)
    if token is None:
        return None
    return token if hmac.compare_digest(token_hash(token), user.feed_token_hash) else None


@dataclass(frozen=True)
class Subscriber:
    """What the feed needs to know about its owner, read in one query."""

    user_id: int
    zone: str
    alarm_hour: int
    version: int
    changed_at: datetime


def subscriber_for(token: str) -> Subscriber | None:
    """The owner of a feed token, or None. A string that cannot be a token costs no query."""
    if not TOKEN_SHAPE.fullmatch(token):
        return None
    digest = token_hash(token)
    row = db.session.execute(
        db.select(
            User.id,
            User.timezone,
            User.digest_hour,
            User.feed_version,
            User.feed_changed_at,
            User.created_at,
            User.feed_token_hash,
        ).where(User.feed_token_hash == digest)
    ).first()
    # The lookup is by hash; comparing the stored hash in constant time as well costs nothing.
    if row is None or not hmac.compare_digest(row.feed_token_hash, digest):
        return None
    return Subscriber(
        user_id=row.id,
        zone=row.timezone,
        alarm_hour=row.digest_hour,
        version=row.feed_version,
        changed_at=row.feed_changed_at or row.created_at,
    )


def record_miss(address: str, now: datetime | None = None) -> int:
    """Count an unknown token from this address. Seconds it must wait when it has missed
    more than MISS_LIMIT times in MISS_WINDOW, else 0.

    One upsert, written before anything is read: concurrent misses neither collide on
    the insert nor have to upgrade a read transaction (which SQLite refuses).
    """
    now = now or utcnow()
    key = MISS_KEY + address[:100]
    table = LoginThrottle.__table__
    dialect = db.session.get_bind().dialect.name
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
    stale = table.c.window_started_at <= now - MISS_WINDOW
    statement = insert.values(
        key=key, failures=1, window_started_at=now, last_failure_at=now
    ).on_conflict_do_update(
        index_elements=[table.c.key],
        set_={
            "failures": case((stale, 1), else_=table.c.failures + 1),
            "window_started_at": case(
                (stale, literal(now, UTCDateTime())), else_=table.c.window_started_at
            ),
            "last_failure_at": now,
        },
    )
    db.session.execute(statement)
    row = db.session.get(LoginThrottle, key, populate_existing=True)
    if row.failures <= MISS_LIMIT:
        return 0
    return max(1, math.ceil((row.window_started_at + MISS_WINDOW - now).total_seconds()))


@dataclass(frozen=True)
class Rendered:
    body: bytes
    etag: str
    last_modified: datetime


def window(today: date) -> tuple[date, date]:
    """The due dates the feed holds: overdue up to DAYS_BACK, and the next DAYS_AHEAD."""
    return today - timedelta(days=DAYS_BACK), today + timedelta(days=DAYS_AHEAD)


def feed_items(user_id: int, today: date) -> list[agenda.Item]:
    """The user's open follow-ups in the window, in date and time order."""
    first, last = window(today)
    rows = db.session.execute(
        db.select(FollowUp)
        .where(
            FollowUp.user_id == user_id,
            FollowUp.status == FollowUpStatus.OPEN,
            FollowUp.due_on.between(first, last),
        )
        .options(
            db.joinedload(FollowUp.contact),
            db.joinedload(FollowUp.organisation),
            db.joinedload(FollowUp.interview),
        )
    ).scalars()
    # Sorted here: SQLite and PostgreSQL put a NULL time on opposite ends.
    ordered = sorted(
        rows.unique(),
        key=lambda f: (f.due_on, f.due_time is not None, f.due_time or time(0), f.id),
    )
    return agenda.describe(ordered, today)


def render(subscriber: Subscriber, base_url: str, today: date) -> Rendered:
    """The feed's bytes and validators. Last-Modified also moves at local midnight,
    when the window and the dates written relative to today move."""
    body = calendar.feed_bytes(
        feed_items(subscriber.user_id, today),
        base_url,
        subscriber.user_id,
        zone=subscriber.zone,
        alarm_hour=subscriber.alarm_hour,
    )
    midnight = datetime.combine(today, time(0), tzinfo=ZoneInfo(subscriber.zone))
    changed = max(subscriber.changed_at, midnight.astimezone(UTC))
    return Rendered(body, hashlib.sha256(body).hexdigest()[:40], changed.replace(microsecond=0))


class RenderCache(LatestCache[Rendered]):
    """The latest rendering per user, up to `max_bytes` of them (tracker/latest.py)."""

    def __init__(self, max_bytes: int = CACHE_BYTES) -> None:
        super().__init__(max_bytes, weight=lambda rendered: len(rendered.body))


def current_feed(subscriber: Subscriber) -> Rendered:
    """The feed as it is now: from the cache while nothing it shows has changed."""
    base_url = current_app.config["BASE_URL"]
    today = local_today(subscriber.zone)
    key = (subscriber.version, subscriber.zone, subscriber.alarm_hour, today, base_url)
    cache: RenderCache = current_app.extensions["keepwarm_feed_cache"]
    rendered = cache.kept(subscriber.user_id, key, lambda: render(subscriber, base_url, today))
    return rendered


def mask_token(text: str) -> str:
    """A path or log line with any feed token replaced."""
    return FEED_PATH.sub(r"\1[token]", text)


class MaskFeedTokens(logging.Filter):
    """Rewrites log records that carry a feed URL (access logs write the full path)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken record is logging's to report, not ours
            return True
        if "/feed/" in message:
            record.msg, record.args = mask_token(message), ()
        return True


MASK = MaskFeedTokens()
# Besides the app's logger (Flask logs "Exception on <path>" there): the development
# server's request log and the usual WSGI servers' access and error logs.
MASKED_LOGGERS = ("werkzeug", "gunicorn.access", "gunicorn.error", "waitress")


def init_app(app: Flask) -> None:
    """The render cache, the change hooks, and token masking on the loggers that see paths."""
    app.extensions["keepwarm_feed_cache"] = RenderCache(
        app.config.get("FEED_CACHE_BYTES", CACHE_BYTES)
    )
    feed_changes.install()
    for logger in (app.logger, *map(logging.getLogger, MASKED_LOGGERS)):
        if MASK not in logger.filters:
            logger.addFilter(MASK)
