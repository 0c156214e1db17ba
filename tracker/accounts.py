"""Accounts: password hashing and policy, registration, deletion, login throttling.

Use cases here add and flush; the caller commits once.
"""

import contextlib
import math
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from importlib import resources
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from .clock import utcnow
from .db import db
from .models import LoginThrottle, Outbox, PasswordReset, User

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024

# Throttling: the account slows down after a few failures, the address is cut off after many.
ACCOUNT_FREE_FAILURES = 5
ACCOUNT_MAX_DELAY = timedelta(minutes=15)
ACCOUNT_WINDOW = timedelta(hours=1)
ADDRESS_MAX_FAILURES = 20
ADDRESS_WINDOW = timedelta(minutes=10)
# Each guessable secret counts its failures apart: the password at login (and wherever it
# is asked again), the second-step code, and requests for reset emails.
SCOPES = ("login", "2fa", "reset")

# argon2id with argon2-cffi's defaults (t=3, m=64 MiB, p=4), the ASVS minimum or above.
_hasher = PasswordHasher()
# Spent on unknown accounts so a login costs the same whether the address exists or not.
_DUMMY_HASH = _hasher.hash("keepwarm-timing-equaliser")


@cache
def common_passwords() -> frozenset[str]:
    """The shipped list of passwords too common to allow."""
    text = resources.files("tracker").joinpath("data/common-passwords.txt").read_text()
    return frozenset(line.strip().casefold() for line in text.splitlines() if line.strip())


def _normalise_password(password: str) -> str:
    """NFKC, so the same characters typed on another system or keyboard still match."""
    return unicodedata.normalize("NFKC", password)


def password_problem(password: str) -> str | None:
    """Why a new password is not acceptable, or None. No composition rules."""
    password = _normalise_password(password)
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"Use at least {MIN_PASSWORD_LENGTH} characters."
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"Use at most {MAX_PASSWORD_LENGTH} characters."
    if password.casefold() in common_passwords():
        return "This password is one of the most common ones; choose another."
    return None


def hash_password(password: str) -> str:
    return _hasher.hash(_normalise_password(password))


def normalise_email(email: str) -> str:
    return email.strip().lower()


def find_user_by_email(email: str) -> User | None:
    return db.session.execute(
        db.select(User).filter_by(email=normalise_email(email))
    ).scalar_one_or_none()


def create_user(email: str, password: str, timezone: str) -> User:
    """Add a new user; the caller has checked the email is free and the password acceptable."""
    user = User(
        email=normalise_email(email), password_hash=hash_password(password), timezone=timezone
    )
    db.session.add(user)
    db.session.flush()
    return user


def check_password(user: User | None, password: str) -> bool:
    """Verify a password, rehashing when the hasher's parameters have changed."""
    password = _normalise_password(password)
    if user is None:
        with contextlib.suppress(VerificationError):
            _hasher.verify(_DUMMY_HASH, password)
        return False
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return True


def change_password(user: User, new_password: str) -> None:
    """Set a new password, end every session of the user and void every reset link."""
    user.password_hash = hash_password(new_password)
    db.session.execute(db.delete(PasswordReset).where(PasswordReset.user_id == user.id))
    end_sessions(user)


def delete_account(user: User) -> list[str]:
    """Delete the user with every row they own (foreign keys cascade) and their failure
    counters; returns the names of their `.eml` files for the caller to remove."""
    outbox = db.session.execute(
        db.select(Outbox.id, Outbox.created_at).where(Outbox.user_id == user.id)
    )
    files = [f"{created:%Y%m%d-%H%M%S}-{outbox_id}.eml" for outbox_id, created in outbox]
    keys = [_account_key(user.email, scope) for scope in SCOPES]
    db.session.execute(db.delete(LoginThrottle).where(LoginThrottle.key.in_(keys)))
    db.session.delete(user)
    db.session.flush()
    return files


def remove_mail_files(folder: Path, names: Iterable[str]) -> None:
    """Remove written emails (FileTransport) of a deleted account; missing ones are fine."""
    for name in names:
        with contextlib.suppress(FileNotFoundError):
            (folder / name).unlink()


def end_sessions(user: User) -> None:
    """Invalidate every cookie issued to the user, on every device."""
    user.session_version += 1


@dataclass(frozen=True)
class Throttle:
    """The verdict before checking a password: go ahead, wait, or stop for this address."""

    address_blocked: bool = False
    retry_after: int = 0

    @property
    def allowed(self) -> bool:
        return not self.address_blocked and self.retry_after == 0


def _prefix(scope: str) -> str:
    """Login keeps the bare keys ("account:…"); other scopes get their own ("2fa-account:…")."""
    if scope not in SCOPES:
        raise ValueError(scope)
    return "" if scope == "login" else f"{scope}-"


def _account_key(email: str, scope: str = "login") -> str:
    return _prefix(scope) + "account:" + normalise_email(email)[:250]


def _address_key(address: str, scope: str = "login") -> str:
    return _prefix(scope) + "address:" + address[:100]


def _row(key: str) -> LoginThrottle | None:
    return db.session.get(LoginThrottle, key)


def account_delay(failures: int) -> timedelta:
    """Delay before the next try after `failures` failures: doubles after the free ones."""
    if failures < ACCOUNT_FREE_FAILURES:
        return timedelta(0)
    # Capped before the power: 2**n seconds overflows timedelta after ~50 failures.
    doublings = min(failures - ACCOUNT_FREE_FAILURES, 30)
    return min(timedelta(seconds=2**doublings), ACCOUNT_MAX_DELAY)


def login_throttle(
    email: str, address: str, now: datetime | None = None, scope: str = "login"
) -> Throttle:
    """Whether an attempt may reach the check of the secret (password, code) now."""
    now = now or utcnow()
    by_address = _row(_address_key(address, scope))
    if (
        by_address
        and now - by_address.window_started_at < ADDRESS_WINDOW
        and by_address.failures >= ADDRESS_MAX_FAILURES
    ):
        wait_until = by_address.window_started_at + ADDRESS_WINDOW
        return Throttle(address_blocked=True, retry_after=_seconds_until(wait_until, now))
    by_account = _row(_account_key(email, scope))
    if by_account and now - by_account.last_failure_at < ACCOUNT_WINDOW:
        wait_until = by_account.last_failure_at + account_delay(by_account.failures)
        if wait_until > now:
            return Throttle(retry_after=_seconds_until(wait_until, now))
    return Throttle()


def _seconds_until(moment: datetime, now: datetime) -> int:
    """Whole seconds to wait, rounded up, at least one."""
    return max(1, math.ceil((moment - now).total_seconds()))


def record_login_failure(
    email: str, address: str, now: datetime | None = None, scope: str = "login"
) -> None:
    """Count a failed attempt against the account and the address."""
    now = now or utcnow()
    account_key, address_key = _account_key(email, scope), _address_key(address, scope)
    account = _row(account_key)
    if account is None or now - account.last_failure_at >= ACCOUNT_WINDOW:
        account = _reset(account, account_key, now)
    address_row = _row(address_key)
    if address_row is None or now - address_row.window_started_at >= ADDRESS_WINDOW:
        address_row = _reset(address_row, address_key, now)
    for row in (account, address_row):
        row.failures += 1
        row.last_failure_at = now
    db.session.flush()


def _reset(row: LoginThrottle | None, key: str, now: datetime) -> LoginThrottle:
    """Start a fresh counting window for `key`."""
    if row is None:
        row = LoginThrottle(key=key)
        db.session.add(row)
    row.failures = 0
    row.window_started_at = now
    row.last_failure_at = now
    return row


def record_login_success(email: str, scope: str = "login") -> None:
    """A correct password (or code) clears the account's failures (never the address's)."""
    row = _row(_account_key(email, scope))
    if row is not None:
        db.session.delete(row)
