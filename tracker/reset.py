"""Password reset by email: a single-use link, dead after 60 minutes or a password change.

The token is 256 bits from `secrets`, sent once in an email (through the outbox) and
stored only as its SHA-256. Whether the address has an account or not, the asker sees
the same answer. Choosing the new password ends every session and voids every link
(tracker.accounts.change_password); it does not log in, so two-factor login still
stands between the link and the account. Use cases flush; the caller commits.
"""

import hashlib
import hmac
import re
import secrets
import uuid
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import ColumnElement

from . import accounts
from .clock import utcnow
from .db import db
from .mail import compose, enqueue
from .models import PasswordReset, User

TOKEN_BYTES = 32  # 256 bits
TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{43}")  # token_urlsafe(32)
TOKEN_LIFETIME = timedelta(minutes=60)
# Live links per account: more requests send nothing more (no flooding someone's inbox).
MAX_LIVE_LINKS = 3


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def _live(now: datetime) -> ColumnElement[bool]:
    return PasswordReset.created_at > now - TOKEN_LIFETIME


def request_reset(email: str, now: datetime | None = None) -> bool:
    """Email a reset link if the address has an account; whether one was sent is for
    logs and tests only, never for the person asking."""
    now = now or utcnow()
    user = accounts.find_user_by_email(email)
    if user is None:
        return False
    db.session.execute(
        db.delete(PasswordReset).where(PasswordReset.user_id == user.id, ~_live(now))
    )
    live = db.session.scalar(
        db.select(db.func.count())
        .select_from(PasswordReset)
        .where(PasswordReset.user_id == user.id)
    )
    if live >= MAX_LIVE_LINKS:
        return False
    token = new_token()
    db.session.add(PasswordReset(user_id=user.id, token_hash=token_hash(token), created_at=now))
    link = f"{current_app.config['BASE_URL']}/reset/{token}"
    minutes = int(TOKEN_LIFETIME.total_seconds() // 60)
    message = compose.password_reset(user, link, minutes, now)
    enqueue(user, f"reset:{user.id}:{uuid.uuid4()}", "reset", message, now=now)
    db.session.flush()
    return True


def find(digest: str, now: datetime | None = None) -> User | None:
    """The user a live link (by its token's hash) belongs to, or None."""
    if not isinstance(digest, str) or len(digest) != 64:
        return None
    row = db.session.execute(
        db.select(PasswordReset).where(PasswordReset.token_hash == digest, _live(now or utcnow()))
    ).scalar_one_or_none()
    if row is None or not hmac.compare_digest(row.token_hash, digest):
        return None
    return db.session.get(User, row.user_id)


def check_token(token: str, now: datetime | None = None) -> str | None:
    """The hash of a token from a link when the link is live, else None. A string that
    cannot be a token costs no query."""
    if not TOKEN_SHAPE.fullmatch(token):
        return None
    digest = token_hash(token)
    return digest if find(digest, now) is not None else None


def complete(digest: str, new_password: str, now: datetime | None = None) -> User | None:
    """Set the new password through a live link; the link and all others die with it."""
    user = find(digest, now)
    if user is not None:
        accounts.change_password(user, new_password)
        db.session.flush()
    return user
