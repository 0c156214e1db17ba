"""The one place the app asks for the time, so tests can set it."""

import os
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context


def utcnow() -> datetime:
    """Now in UTC, or the time a test has set in `app.config["NOW"]`."""
    if has_app_context():
        fixed = current_app.config.get("NOW")
        if fixed is not None:
            return fixed() if callable(fixed) else fixed
    return datetime.now(UTC)


def local_now(zone: str) -> datetime:
    """Now on the wall clock of the IANA zone `zone`."""
    return utcnow().astimezone(ZoneInfo(zone))


def local_today(zone: str) -> date:
    """Today's date in the IANA zone `zone`."""
    return local_now(zone).date()


def as_utc(value: datetime) -> datetime:
    """Attach UTC to naive datetimes read back from SQLite."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def clock_from_environment() -> Callable[[], datetime] | None:
    """Test-only: KEEPWARM_NOW (an ISO datetime) starts the app's clock there.

    The clock then runs on in real time, so leases and timeouts in a worker process that
    a test starts behave as they would, only on another date. None when it is unset.
    """
    start = os.environ.get("KEEPWARM_NOW")
    if not start:
        return None
    origin = as_utc(datetime.fromisoformat(start))
    began = time.monotonic()
    return lambda: origin + timedelta(seconds=time.monotonic() - began)
