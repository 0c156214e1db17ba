"""Data helpers for the email, outbox and scheduler tests."""

from datetime import date

from sqlalchemy import update

from tracker.db import db
from tracker.models import FollowUp, Interaction, InteractionKind, Outbox, User


def meet(make_interview, user, organisation: str, *names: str, held_on: date) -> int:
    """Log an interview with these people; each gets a thank-you due the next day."""
    people = [
        {"name": name, "email": f"{name.split()[0].lower()}@example.com", "topics": "Rust"}
        for name in names
    ]
    return make_interview(user, organisation=organisation, people=people, held_on=held_on)


def open_follow_ups(app, user, due_by: date | None = None) -> list[FollowUp]:
    """The user's open follow-ups (due by `due_by`, when given), detached."""
    with app.app_context():
        query = db.select(FollowUp).where(FollowUp.user_id == user.id, FollowUp.status == "open")
        if due_by is not None:
            query = query.where(FollowUp.due_on <= due_by)
        rows = db.session.execute(query.order_by(FollowUp.id)).scalars()
        result = list(rows)
        db.session.expunge_all()
        return result


def move_all(app, user, due_on: date) -> None:
    """Put every follow-up of the user on `due_on`."""
    with app.app_context():
        db.session.execute(
            update(FollowUp).where(FollowUp.user_id == user.id).values(due_on=due_on)
        )
        db.session.commit()


def note(app, user, contact_id: int, text: str, on: date) -> None:
    """An interaction with a note, recorded directly (not through the playbook)."""
    with app.app_context():
        db.session.add(
            Interaction(
                user_id=user.id,
                contact_id=contact_id,
                kind=InteractionKind.EMAIL,
                occurred_on=on,
                note=text,
            )
        )
        db.session.commit()


def outbox(app) -> list[Outbox]:
    """Every outbox row, detached, oldest first."""
    with app.app_context():
        rows = list(db.session.execute(db.select(Outbox).order_by(Outbox.id)).scalars())
        db.session.expunge_all()
        return rows


def set_user(app, user, **values) -> None:
    with app.app_context():
        db.session.execute(update(User).where(User.id == user.id).values(**values))
        db.session.commit()
