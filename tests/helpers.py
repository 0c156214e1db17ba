"""Helpers shared by the page tests: form payloads, field errors, row counts."""

import html
import re
from datetime import UTC, date, datetime

from sqlalchemy import event, insert

from tracker.db import db
from tracker.models import FollowUp, FollowUpKind, Organisation

INTERVIEW_DEFAULTS = {
    "organisation": "Acme",
    "role": "Backend Engineer",
    "held_on": "2026-11-20",
    "start_time": "",
    "stage": "onsite",
    "outcome": "pending",
    "interest": "4",
    "notes": "",
}


def interview_form(people: list[dict] | None = None, **fields) -> dict:
    """The fields a browser posts for the interview form, people rows flattened."""
    data = {**INTERVIEW_DEFAULTS, **fields}
    for index, person in enumerate(people or []):
        row = {"contact_id": "0", "role": "interviewer", **person}
        for key, value in row.items():
            data[f"people-{index}-{key}"] = str(value)
    return data


def field_error(page: str, field_id: str) -> str | None:
    """The error message shown next to the field with that id, or None."""
    match = re.search(rf'<p class="error" id="{re.escape(field_id)}-error">([^<]+)</p>', page)
    return html.unescape(match.group(1)) if match else None


def field_value(page: str, field_id: str) -> str | None:
    """The value an input is rendered with (unescaped), or None if it has none."""
    tag = re.search(rf'<input[^>]*\bid="{re.escape(field_id)}"[^>]*>', page)
    if tag is None:
        return None
    value = re.search(r'\bvalue="([^"]*)"', tag.group(0))
    return html.unescape(value.group(1)) if value else None


def textarea_value(page: str, field_id: str) -> str | None:
    match = re.search(
        rf'<textarea[^>]*\bid="{re.escape(field_id)}"[^>]*>\r?\n?(.*?)</textarea>', page, re.S
    )
    return html.unescape(match.group(1)) if match else None


def selected_option(page: str, field_id: str) -> str | None:
    select = re.search(rf'<select[^>]*\bid="{re.escape(field_id)}"[^>]*>(.*?)</select>', page, re.S)
    if select is None:
        return None
    chosen = re.search(r'<option[^>]*\bselected\b[^>]*value="([^"]*)"', select.group(1))
    chosen = chosen or re.search(r'<option[^>]*value="([^"]*)"[^>]*\bselected\b', select.group(1))
    return html.unescape(chosen.group(1)) if chosen else None


def row_counts(app) -> dict[str, int]:
    """How many rows every table holds."""
    with app.app_context():
        return {
            table.name: db.session.execute(db.select(db.func.count()).select_from(table)).scalar()
            for table in db.metadata.sorted_tables
        }


def cheap_password_hashing(monkeypatch) -> None:
    """argon2 at its real cost takes a noticeable time per login; these tests are not about it."""
    from argon2 import PasswordHasher

    from tracker import accounts

    monkeypatch.setattr(
        accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )


def utc(*args: int) -> datetime:
    """A UTC-aware datetime: utc(2026, 11, 25, 8, 0)."""
    return datetime(*args, tzinfo=UTC)


def add_follow_ups(app, user, due: dict[str, date], status: str = "open") -> None:
    """Follow-ups the user wrote themselves, by title, due on the given dates."""
    with app.app_context():
        db.session.execute(
            insert(FollowUp),
            [
                {
                    "user_id": user.id,
                    "kind": FollowUpKind.MANUAL,
                    "generated": False,
                    "title": title,
                    "due_on": due_on,
                    "status": status,
                }
                for title, due_on in due.items()
            ],
        )
        db.session.commit()


def add_organisations(app, user, names: list[str]) -> None:
    """Organisations of the user's, by name, in one insert."""
    with app.app_context():
        db.session.execute(
            insert(Organisation),
            [{"user_id": user.id, "name": name, "name_key": name.lower()} for name in names],
        )
        db.session.commit()


def sqlite_begins(app, work) -> list[str]:
    """The BEGIN statements SQLite itself ran (its trace callback) while `work()` ran in
    an app context: the app sends them straight to the driver, past SQLAlchemy's events."""
    seen: list[str] = []
    traced = []

    def record(statement: str) -> None:
        if statement.upper().startswith("BEGIN"):
            seen.append(statement.upper())

    def trace(dbapi_connection, *args) -> None:
        dbapi_connection.set_trace_callback(record)
        traced.append(dbapi_connection)

    with app.app_context():
        event.listen(db.engine, "checkout", trace)
        try:
            work()
        finally:
            event.remove(db.engine, "checkout", trace)
            db.session.remove()
            for dbapi_connection in traced:
                dbapi_connection.set_trace_callback(None)
    return seen


def settings_of(app, **changes) -> dict:
    """The test app's own settings (key, database, instance) with some changed."""
    keys = ("TESTING", "SECRET_KEY", "SQLALCHEMY_DATABASE_URI")
    return {key: app.config[key] for key in keys} | {"INSTANCE_PATH": app.instance_path} | changes
