"""Contacts: search, the jobs they hold over time, and where they were met."""

from datetime import date

from sqlalchemy import Select, exists, or_

from .db import db
from .models import Contact, Interaction, Interview, Organisation, Participant, Position
from .organisations import find_or_create_organisation

# Control characters cannot be in a name; PostgreSQL refuses NUL even in a pattern.
_CONTROL = dict.fromkeys(range(32))


def _like(term: str) -> str:
    """A LIKE pattern matching `term` anywhere, with its wildcards taken literally."""
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def contacts_query(user_id: int, search: str = "") -> Select:
    """The user's contacts by name, optionally matching name, job title or organisation."""
    query = db.select(Contact).where(Contact.user_id == user_id)
    term = search.translate(_CONTROL).strip()
    if term:
        pattern = _like(term)
        at_matching_place = exists().where(
            Position.contact_id == Contact.id,
            or_(
                Position.title.ilike(pattern, escape="\\"),
                Position.organisation_id.in_(
                    db.select(Organisation.id).where(
                        Organisation.user_id == user_id,
                        Organisation.name.ilike(pattern, escape="\\"),
                    )
                ),
            ),
        )
        query = query.where(or_(Contact.name.ilike(pattern, escape="\\"), at_matching_place))
    return query.order_by(Contact.name, Contact.id).options(
        db.selectinload(Contact.positions).joinedload(Position.organisation)
    )


def record_move(
    contact: Contact, organisation_name: str, title: str, started_on: date | None, today: date
) -> Position:
    """The contact now works somewhere else: current positions end, the new one starts.

    The old positions stay, so the history at the previous organisation is intact.
    """
    organisation = find_or_create_organisation(contact.user_id, organisation_name)
    for position in contact.positions:
        if position.ended_on is None:
            position.ended_on = started_on or today
    position = Position(
        organisation_id=organisation.id, title=title, started_on=started_on or today
    )
    contact.positions.append(position)
    db.session.flush()
    return position


def meetings(contact: Contact) -> list[tuple[Participant, Interview]]:
    """The interviews the contact was met at, newest first."""
    rows = db.session.execute(
        db.select(Participant, Interview)
        .join(Interview, Participant.interview_id == Interview.id)
        .where(Participant.contact_id == contact.id)
        .options(db.joinedload(Interview.organisation))
        .order_by(Interview.held_on.desc(), Interview.id.desc())
    ).all()
    return [(participant, interview) for participant, interview in rows]


def interactions(contact: Contact) -> list[Interaction]:
    return list(
        db.session.execute(
            db.select(Interaction)
            .where(Interaction.contact_id == contact.id)
            .order_by(Interaction.occurred_on.desc(), Interaction.id.desc())
        ).scalars()
    )
