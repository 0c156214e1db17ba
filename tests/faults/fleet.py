"""Data and environments for the tests that run several processes on one PostgreSQL."""

import os
from datetime import date, datetime

from helpers import utc
from smtp_counting import CountingServer
from sqlalchemy import func, insert

from tracker.accounts import create_user
from tracker.db import db
from tracker.models import FollowUp, FollowUpKind, Outbox, OutboxStatus, User

T0 = utc(2026, 11, 21, 7, 0)  # 08:00 in Berlin: everyone's digest hour has come
DUE = date(2026, 11, 21)
LEASE = 120


def users_with_a_digest_due(app, count: int) -> list[str]:
    """`count` Berlin users, each with one follow-up due today; their addresses."""
    emails = [f"person{n:04d}@example.com" for n in range(count)]
    with app.app_context():
        hashed = create_user(
            "template@example.com", "correct horse battery staple", "UTC"
        ).password_hash
        ids = (
            db.session.execute(
                insert(User).returning(User.id, sort_by_parameter_order=True),
                [
                    {"email": email, "password_hash": hashed, "timezone": "Europe/Berlin"}
                    for email in emails
                ],
            )
            .scalars()
            .all()
        )
        db.session.execute(
            insert(FollowUp),
            [
                {
                    "user_id": user_id,
                    "kind": FollowUpKind.MANUAL,
                    "generated": False,
                    "title": "Call back about the role",
                    "due_on": DUE,
                }
                for user_id in ids
            ],
        )
        db.session.execute(db.delete(User).where(User.email == "template@example.com"))
        db.session.commit()
    return emails


def environment(app, tmp_path, server: CountingServer, now: datetime, **extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SMTP_", "KEEPWARM_"))}
    env.pop("BASE_URL", None)
    env.update(
        DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
        KEEPWARM_INSTANCE=str(tmp_path / "instance"),
        KEEPWARM_NOW=now.isoformat(),
        SECRET_KEY=app.config["SECRET_KEY"],
        SMTP_TIMEOUT_SECONDS="20",
        SCHEDULER_TICK_SECONDS="1",
        SCHEDULER_LOCK_POLL_SECONDS="1",
        OUTBOX_LEASE_SECONDS=str(LEASE),
        PYTHONUNBUFFERED="1",
        **server.environment(),
        **extra,
    )
    return env


def outbox_statuses(app) -> dict[OutboxStatus, int]:
    with app.app_context():
        rows = db.session.execute(
            db.select(Outbox.status, func.count()).group_by(Outbox.status)
        ).all()
        db.session.remove()
        return dict(rows)
