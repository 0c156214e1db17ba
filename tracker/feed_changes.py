"""Keep each user's feed version current: whatever the feed or the kept pages show
changed, it moves.

The calendar feed is served from a cache keyed by the user's `feed_version` (see
tracker.feed), and its Last-Modified is `feed_changed_at`; the pages kept whole
(tracker/web/kept_pages.py) and the counts (tracker/counts.py) are keyed by it too. Both
are bumped here, in the same transaction as the change, for every insert, update or
delete of a row those read: follow-ups (deleted ones included), and the contacts,
organisations, positions, interviews, participants and interactions whose names, jobs,
roles and notes their text is made of.

Two hooks on every SQLAlchemy session catch all writes made through the ORM: one after
each flush (objects added, changed, deleted, with their owner known) and one before each
ORM-enabled bulk statement (`session.execute(update(FollowUp)...)`), where the owners
are not known and every user's version moves. Only raw SQL text bypasses both.
"""

from collections.abc import Iterable

from sqlalchemy import event, select, update
from sqlalchemy.orm import ORMExecuteState, Session

from .clock import utcnow
from .models import (
    Contact,
    FollowUp,
    Interaction,
    Interview,
    Organisation,
    Participant,
    Position,
    User,
)

OWNED = (FollowUp, Contact, Organisation, Interview, Interaction)
WATCHED = (*OWNED, Participant, Position)
WATCHED_TABLES = frozenset(model.__table__.name for model in WATCHED)
ALL_USERS = None  # owners unknown: bump everyone


def bump(session: Session, user_ids: Iterable[int] | None) -> None:
    """Move the feed version and change time of these users (ALL_USERS: of everyone)."""
    users = User.__table__
    statement = update(users).values(
        feed_version=users.c.feed_version + 1, feed_changed_at=utcnow()
    )
    if user_ids is not ALL_USERS:
        ids = sorted(set(user_ids))
        if not ids:
            return
        statement = statement.where(users.c.id.in_(ids))
    # On the session's connection, so it commits or rolls back with the change itself.
    session.connection().execute(statement)


def _owners(session: Session, objects: Iterable[object]) -> set[int]:
    """The users whose feed or pages these objects appear in."""
    owners: set[int] = set()
    interviews: set[int] = set()
    contacts: set[int] = set()
    for obj in objects:
        if isinstance(obj, OWNED) and obj.user_id is not None:
            owners.add(obj.user_id)
        elif isinstance(obj, Participant):
            interview_id = obj.interview_id or (obj.interview.id if obj.interview else None)
            if interview_id is not None:
                interviews.add(interview_id)
        elif isinstance(obj, Position):
            contact_id = obj.contact_id or (obj.contact.id if obj.contact else None)
            if contact_id is not None:
                contacts.add(contact_id)
    for table, ids in ((Interview.__table__, interviews), (Contact.__table__, contacts)):
        if ids:
            rows = session.connection().execute(
                select(table.c.user_id).where(table.c.id.in_(sorted(ids)))
            )
            owners.update(row.user_id for row in rows)
    return owners


def _after_flush(session: Session, _context: object) -> None:
    """Rows the feed or pages read were added, changed or deleted: their owners' versions move."""
    changed = [
        obj
        for obj in (*session.new, *session.deleted, *session.dirty)
        if isinstance(obj, WATCHED)
        and (obj in session.new or obj in session.deleted or session.is_modified(obj))
    ]
    if changed:
        bump(session, _owners(session, changed))


def _statement_owners(state: ORMExecuteState) -> set[int] | None:
    """For a bulk INSERT whose rows all name their user, those users; else ALL_USERS."""
    if not state.is_insert:
        return ALL_USERS
    rows = state.parameters
    rows = rows if isinstance(rows, list) else [rows or {}]
    owners = set()
    for row in rows:
        if not isinstance(row, dict) or row.get("user_id") is None:
            return ALL_USERS
        owners.add(row["user_id"])
    values = getattr(state.statement, "_values", None)
    return ALL_USERS if values else owners


def _before_bulk(state: ORMExecuteState) -> None:
    """A bulk INSERT, UPDATE or DELETE on a table the feed or pages read."""
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    table = getattr(state.statement, "table", None)
    if getattr(table, "name", None) not in WATCHED_TABLES:
        return
    bump(state.session, _statement_owners(state))


def install() -> None:
    """Listen on every session, once per process."""
    for name, handler in (("after_flush", _after_flush), ("do_orm_execute", _before_bulk)):
        if not event.contains(Session, name, handler):
            event.listen(Session, name, handler)
