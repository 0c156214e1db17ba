"""Organisations: one per name per user, and the figures the list page shows."""

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, NamedTuple

from sqlalchemy import bindparam, func

from . import followups
from .db import count_param, count_value, db, rows_of
from .models import Contact, Interaction, Interview, Organisation, Participant, Position, User

if TYPE_CHECKING:
    from .interviews import ListedInterview


def name_key(name: str) -> str:
    """Case- and whitespace-insensitive form: "Acme  Corp" and " acme corp" match."""
    return " ".join(name.split()).casefold()


def find_organisation(user_id: int, name: str) -> Organisation | None:
    return db.session.execute(
        db.select(Organisation).filter_by(user_id=user_id, name_key=name_key(name))
    ).scalar_one_or_none()


def find_or_create_organisation(user_id: int, name: str) -> Organisation:
    """The user's organisation with that name, created if new."""
    organisation = find_organisation(user_id, name)
    if organisation is None:
        clean = " ".join(name.split())
        organisation = Organisation(user_id=user_id, name=clean, name_key=name_key(clean))
        db.session.add(organisation)
        db.session.flush()
    return organisation


def rename_organisation(organisation: Organisation, name: str) -> bool:
    """Rename unless another organisation of the user already has that name."""
    other = find_organisation(organisation.user_id, name)
    if other is not None and other.id != organisation.id:
        return False
    organisation.name = " ".join(name.split())
    organisation.name_key = name_key(name)
    return True


def delete_organisation(user: User, organisation: Organisation) -> None:
    """Delete it with its interviews, jobs there, interactions and follow-ups.

    The people stay; anyone met there is re-planned from what is left (another
    interview elsewhere still earns them a check-in).
    """
    contacts = list(
        db.session.execute(
            db.select(Contact)
            .join(Participant, Participant.contact_id == Contact.id)
            .join(Interview, Participant.interview_id == Interview.id)
            .where(Interview.organisation_id == organisation.id)
            .distinct()
        ).scalars()
    )
    db.session.delete(organisation)
    db.session.flush()
    db.session.expire_all()  # the database cascaded: drop what the session remembers
    for contact in contacts:
        followups.replan_contact(user, contact)


def organisation_names(user_id: int, limit: int = 500) -> list[str]:
    """Names for the organisation picker, alphabetical."""
    return list(
        db.session.execute(
            db.select(Organisation.name)
            .filter_by(user_id=user_id)
            .order_by(Organisation.name)
            .limit(count_value(limit))
        ).scalars()
    )


@dataclass(frozen=True)
class OrganisationSummary:
    organisation: Organisation
    interviews: int
    contacts: int
    last_contact: date | None


def summarise(organisations: list[Organisation]) -> list[OrganisationSummary]:
    """Counts and last contact date for one page of organisations, in three queries."""
    ids = [o.id for o in organisations]
    if not ids:
        return []
    interviews = dict(
        db.session.execute(
            db.select(Interview.organisation_id, func.count())
            .where(Interview.organisation_id.in_(ids))
            .group_by(Interview.organisation_id)
        ).all()
    )
    last_interview = dict(
        db.session.execute(
            db.select(Interview.organisation_id, func.max(Interview.held_on))
            .where(Interview.organisation_id.in_(ids))
            .group_by(Interview.organisation_id)
        ).all()
    )
    contacts = dict(
        db.session.execute(
            db.select(Position.organisation_id, func.count(func.distinct(Position.contact_id)))
            .where(Position.organisation_id.in_(ids))
            .group_by(Position.organisation_id)
        ).all()
    )
    last_interaction = dict(
        db.session.execute(
            db.select(Interaction.organisation_id, func.max(Interaction.occurred_on))
            .where(Interaction.organisation_id.in_(ids))
            .group_by(Interaction.organisation_id)
        ).all()
    )
    summaries = []
    for org in organisations:
        dates = [d for d in (last_interview.get(org.id), last_interaction.get(org.id)) if d]
        summaries.append(
            OrganisationSummary(
                organisation=org,
                interviews=interviews.get(org.id, 0),
                contacts=contacts.get(org.id, 0),
                last_contact=max(dates) if dates else None,
            )
        )
    return summaries


def summary_from(
    organisation: Organisation,
    interviews: "list[ListedInterview]",
    people: list[tuple["Person", list["Held"]]],
    interactions: list[Interaction],
) -> OrganisationSummary:
    """The figures `summarise` gives, from what the organisation's page has already read:
    all its interviews and its people, and its interactions (each list latest first)."""
    latest = [interview.held_on for interview in interviews[:1]]
    latest += [interaction.occurred_on for interaction in interactions[:1]]
    return OrganisationSummary(
        organisation=organisation,
        interviews=len(interviews),
        contacts=len(people),
        last_contact=max(latest, default=None),
    )


_PEOPLE_AT = (
    db.select(Contact.id, Contact.name, Position.title, Position.ended_on)
    .join(Contact, Contact.id == Position.contact_id)
    .where(Position.organisation_id == bindparam("organisation_id"))
    .order_by(Contact.name, Position.id)
)


class Person(NamedTuple):
    id: int
    name: str


class Held(NamedTuple):
    """A position someone held there, as the organisation's page shows it."""

    title: str
    ended_on: date | None


def people_at(organisation: Organisation) -> list[tuple[Person, list[Held]]]:
    """Everyone who works or worked there, by name, with their positions there.

    Tuples, not the query's rows: the page reads each field by name, and a row's fields
    by name cost five times as much to read."""
    people: dict[int, tuple[Person, list[Held]]] = {}
    for contact_id, name, title, ended_on in rows_of(
        _PEOPLE_AT, {"organisation_id": organisation.id}
    ):
        if contact_id not in people:
            people[contact_id] = (Person(contact_id, name), [])
        people[contact_id][1].append(Held(title, ended_on))
    return list(people.values())


# The organisation page's interactions, latest first: built once (parameters: the
# organisation's id and how many).
_INTERACTIONS_AT = (
    db.select(Interaction)
    .where(Interaction.organisation_id == bindparam("organisation_id"))
    .order_by(Interaction.occurred_on.desc(), Interaction.id.desc())
    .limit(count_param("limit"))
)


def interactions_at(organisation_id: int, limit: int = 50) -> list[Interaction]:
    """The latest interactions logged at the organisation."""
    values = {"organisation_id": organisation_id, "limit": limit}
    return list(db.session.execute(_INTERACTIONS_AT, values).scalars())
