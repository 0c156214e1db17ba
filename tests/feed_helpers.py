"""Data helpers for the calendar feed tests: subscribe, add and change follow-ups."""

from datetime import date, time

from tracker import feed, followups
from tracker.db import db
from tracker.models import Contact, FollowUp, User


def subscribe(app, user) -> str:
    """Make the user's feed token through the use case; returns the token."""
    with app.app_context():
        token = feed.new_token(db.session.get(User, user.id))
        db.session.commit()
        return token


def feed_path(token: str) -> str:
    return f"/feed/{token}.ics"


def add_follow_up(
    app,
    user,
    title: str,
    due_on: date,
    due_time: time | None = None,
    note: str = "",
    contact_id: int | None = None,
) -> int:
    """A manual follow-up through the use case; returns its id."""
    with app.app_context():
        owner = db.session.get(User, user.id)
        contact = db.session.get(Contact, contact_id) if contact_id else None
        follow_up = followups.add_manual(owner, title, due_on, due_time, contact=contact, note=note)
        db.session.commit()
        return follow_up.id


def change(app, follow_up_id: int, action: str, **values) -> None:
    """Apply a use case to one follow-up: edit, snooze, complete, skip, reopen, delete."""
    with app.app_context():
        follow_up = db.session.get(FollowUp, follow_up_id)
        user = db.session.get(User, follow_up.user_id)
        if action == "edit":
            current = {
                "title": follow_up.title,
                "due_on": follow_up.due_on,
                "due_time": follow_up.due_time,
                "note": follow_up.note,
            }
            followups.edit(follow_up, **(current | values))
        elif action == "snooze":
            followups.snooze(follow_up, values["until"])
        elif action == "done":
            followups.complete(user, follow_up)
        elif action == "skip":
            followups.skip(user, follow_up)
        elif action == "reopen":
            followups.reopen(user, follow_up)
        elif action == "delete":
            db.session.delete(follow_up)
        else:
            raise ValueError(action)
        db.session.commit()


def open_follow_ups(app, user) -> list[FollowUp]:
    with app.app_context():
        rows = db.session.execute(
            db.select(FollowUp)
            .filter_by(user_id=user.id, status="open")
            .order_by(FollowUp.due_on, FollowUp.id)
        ).scalars()
        found = list(rows)
        for row in found:
            db.session.expunge(row)
        return found
