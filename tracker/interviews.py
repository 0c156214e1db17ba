"""Logging an interview and the people met there, in one transaction.

The view turns the form into plain values; this module resolves organisations and
contacts and writes everything, adding and flushing; the caller commits once.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam

from . import followups
from .db import count_param, count_value, db, rows_of
from .models import (
    Contact,
    Interview,
    Organisation,
    Outcome,
    Participant,
    ParticipantRole,
    Position,
    Stage,
    User,
)
from .organisations import find_or_create_organisation, name_key


@dataclass(frozen=True)
class PersonInput:
    name: str = ""
    contact_id: int | None = None
    title: str = ""
    email: str = ""
    phone: str = ""
    linkedin_url: str = ""
    role: ParticipantRole = ParticipantRole.INTERVIEWER
    topics: str = ""


@dataclass(frozen=True)
class InterviewInput:
    organisation: str
    role: str
    held_on: date
    start_time: time | None
    stage: Stage
    outcome: Outcome
    interest: int
    notes: str = ""
    people: list[PersonInput] = field(default_factory=list)


def local_start(held_on: date, start_time: time | None, zone: str) -> datetime | None:
    """The interview's start as a UTC-aware datetime, from the user's wall clock."""
    if start_time is None:
        return None
    return datetime.combine(held_on, start_time, tzinfo=ZoneInfo(zone))


def known_people(user_id: int, organisation_id: int) -> list[Contact]:
    """Contacts who work or worked at the organisation, for the "met before" picker."""
    return list(
        db.session.execute(
            db.select(Contact)
            .join(Position, Position.contact_id == Contact.id)
            .where(Contact.user_id == user_id, Position.organisation_id == organisation_id)
            .distinct()
            .order_by(Contact.name)
        ).scalars()
    )


def _match_contact(user_id: int, organisation_id: int, person: PersonInput) -> Contact | None:
    """The contact this row means: the one picked, else someone of that name at that place."""
    if person.contact_id:
        contact = db.session.get(Contact, person.contact_id)
        return contact if contact is not None and contact.user_id == user_id else None
    wanted = name_key(person.name)
    for contact in known_people(user_id, organisation_id):
        if name_key(contact.name) == wanted:
            return contact
    return None


def _resolve_person(user: User, organisation_id: int, person: PersonInput) -> Contact:
    """Find or create the contact for one row, filling in details they did not have."""
    contact = _match_contact(user.id, organisation_id, person)
    if contact is None:
        contact = Contact(user_id=user.id, name=" ".join(person.name.split()))
        db.session.add(contact)
    for attribute in ("email", "phone", "linkedin_url"):
        given = getattr(person, attribute)
        if given and not getattr(contact, attribute):
            setattr(contact, attribute, given)
    here = [p for p in contact.positions if p.organisation_id == organisation_id]
    if not here:
        contact.positions.append(Position(organisation_id=organisation_id, title=person.title))
    elif person.title and not here[0].title:
        here[0].title = person.title
    db.session.flush()
    return contact


def _move_positions(interview: Interview, organisation: Organisation, picked: set[int]) -> None:
    """The interview was really at `organisation`: so were the people who stay in it.

    A job recorded only because the person was met at this interview (it has no dates,
    unlike a recorded move) goes with it, unless they were met at another interview there.
    """
    previous = interview.organisation_id
    for participant in interview.participants:
        contact = participant.contact
        if contact.id not in picked:
            continue
        met_there_again = db.session.execute(
            db.select(Participant.id)
            .join(Interview, Participant.interview_id == Interview.id)
            .where(
                Participant.contact_id == contact.id,
                Interview.organisation_id == previous,
                Interview.id != interview.id,
            )
            .limit(count_value(1))
        ).first()
        if met_there_again:
            continue
        already_there = any(p.organisation_id == organisation.id for p in contact.positions)
        for position in list(contact.positions):
            if position.organisation_id != previous or position.started_on or position.ended_on:
                continue
            if already_there:
                contact.positions.remove(position)
            else:
                position.organisation = organisation
                already_there = True


def save_interview(
    user: User, data: InterviewInput, interview: Interview | None = None
) -> Interview:
    """Create or update an interview with its people; returns it flushed."""
    organisation = find_or_create_organisation(user.id, data.organisation)
    if interview is None:
        interview = Interview(user_id=user.id)
        db.session.add(interview)
    elif interview.organisation_id != organisation.id:
        picked = {person.contact_id for person in data.people if person.contact_id}
        _move_positions(interview, organisation, picked)
    interview.organisation = organisation
    interview.role = data.role
    interview.held_on = data.held_on
    interview.starts_at = local_start(data.held_on, data.start_time, user.timezone)
    interview.stage = data.stage
    interview.outcome = data.outcome
    interview.interest = data.interest
    interview.notes = data.notes
    db.session.flush()

    resolved = [(_resolve_person(user, organisation.id, person), person) for person in data.people]
    existing = {p.contact_id: p for p in interview.participants}
    kept: dict[int, Participant] = {}
    for contact, person in resolved:
        participant = kept.get(contact.id) or existing.get(contact.id)
        if participant is None:
            participant = Participant(interview=interview, contact=contact)
        participant.role = person.role
        participant.topics = person.topics
        kept[contact.id] = participant
    interview.participants = list(kept.values())
    db.session.flush()
    removed = [existing[i].contact for i in existing if i not in kept]
    followups.after_interview_saved(user, interview, removed)
    return interview


def delete_interview(user: User, interview: Interview) -> None:
    """Delete the interview and what it planned; the people met stay, re-planned without it."""
    contacts = [participant.contact for participant in interview.participants]
    db.session.delete(interview)
    db.session.flush()
    db.session.expire_all()  # the database cascaded: drop what the session remembers
    for contact in contacts:
        followups.replan_contact(user, contact)


@dataclass(frozen=True, slots=True)
class Met:
    contact_id: int
    name: str
    role: ParticipantRole


@dataclass(frozen=True, slots=True)
class ListedInterview:
    """An interview as lists show it: what, where, when, and whom the user met there."""

    id: int
    role: str
    organisation_id: int
    organisation_name: str
    stage: Stage
    held_on: date
    outcome: Outcome
    people: tuple[Met, ...]

    @property
    def met(self) -> str:
        """Whom the user met, by name: "Dana Smith, Lee Park"."""
        return ", ".join(person.name for person in self.people)


# Lists of interviews read plain rows, in two statements built once: as ORM objects,
# with their organisations, participants and contacts, the home page's five latest cost
# more than its whole agenda.
_LISTED = (
    db.select(
        Interview.id,
        Interview.role,
        Interview.organisation_id,
        Organisation.name,
        Interview.stage,
        Interview.held_on,
        Interview.outcome,
    )
    .join(Organisation, Organisation.id == Interview.organisation_id)
    .order_by(Interview.held_on.desc(), Interview.id.desc())
)
_LATEST = _LISTED.where(Interview.user_id == bindparam("user_id")).limit(count_param("limit"))
_AT_ORGANISATION = _LISTED.where(Interview.organisation_id == bindparam("organisation_id"))
_MET = (
    db.select(Participant.interview_id, Participant.contact_id, Contact.name, Participant.role)
    .join(Contact, Contact.id == Participant.contact_id)
    .where(Participant.interview_id.in_(bindparam("interview_ids", expanding=True)))
    .order_by(Participant.id)
)


def _listed(statement, values: dict) -> list[ListedInterview]:
    listed = rows_of(statement, values).all()
    met: dict[int, list[Met]] = {row[0]: [] for row in listed}  # by the interview's id
    if met:
        for interview_id, *person in rows_of(_MET, {"interview_ids": list(met)}):
            met[interview_id].append(Met(*person))
    return [ListedInterview(*row, people=tuple(met[row[0]])) for row in listed]


def latest_interviews(user_id: int, limit: int = 5) -> list[ListedInterview]:
    """The user's latest interviews, newest first."""
    return _listed(_LATEST, {"user_id": user_id, "limit": limit})


def interviews_at(organisation_id: int) -> list[ListedInterview]:
    """Every interview at the organisation, newest first."""
    return _listed(_AT_ORGANISATION, {"organisation_id": organisation_id})
