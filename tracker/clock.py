"""The one place the app asks for the time, so tests can set it."""

from datetime import UTC, date, datetime
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
