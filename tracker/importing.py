"""Importing a previewed file: every row shown, in one transaction, in bulk.

New contacts, their jobs and their LinkedIn connections go in with a few bulk inserts
per thousand rows; matched contacts get their blanks filled, a new job recorded as a
move and the connection logged. Functions add and flush; the caller commits once, so a
failure anywhere saves nothing.
"""

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import date

from sqlalchemy import insert, update

from . import followups
from .bulk import insert_ids
from .clock import local_today
from .db import db
from .imports import CONNECTED_NOTE, Action, Candidate, ImportProblem
from .models import (
    Contact,
    Interaction,
    InteractionKind,
    Organisation,
    Participant,
    PendingImport,
    Position,
    User,
)
from .organisations import name_key
from .pending_imports import chunks, preview

DETAILS = ("email", "phone", "linkedin_url", "notes")


@dataclass
class Result:
    created: int = 0
    merged: int = 0
    skipped: int = 0
    invalid: int = 0


@dataclass
class _Person:
    """What the rows of one file say about one person, first non-empty value winning."""

    values: dict[str, str] = field(default_factory=dict)
    organisation: str = ""
    title: str = ""
    connected: set[date] = field(default_factory=set)

    def add(self, row: Candidate) -> None:
        for name in ("name", *DETAILS):
            self.values[name] = self.values.get(name) or getattr(row, name)
        if row.organisation and not self.organisation:
            self.organisation, self.title = row.organisation, row.title
        if row.connected_on:
            self.connected.add(row.connected_on)


def _people(rows: Iterable[Candidate]) -> _Person:
    person = _Person()
    for row in rows:
        person.add(row)
    return person


def run(user: User, pending: PendingImport, merge: bool) -> Result:
    """Import every row the preview showed; matches are merged (blanks filled) or skipped."""
    claimed = db.session.execute(
        update(PendingImport)
        .where(PendingImport.id == pending.id, PendingImport.status == "pending")
        .values(status="done")
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:  # a second click, or another tab: the first one imported it
        raise ImportProblem("This file has already been imported.")
    found = preview(pending)
    if found.problem:
        raise ImportProblem(found.problem)
    result = Result()
    new: dict[int, list[Candidate]] = {}
    matched: dict[int, list[Candidate]] = defaultdict(list)
    for index, decision in enumerate(found.decisions):
        if decision.action is Action.INVALID:
            result.invalid += 1
        elif decision.action is Action.NEW:
            new[index] = [decision.row]
            result.created += 1
        elif not merge:
            result.skipped += 1
        elif decision.action is Action.REPEAT:
            new[decision.earlier].append(decision.row)
            result.merged += 1
        else:
            matched[decision.contact_id].append(decision.row)
            result.merged += 1
    people = [_people(rows) for rows in new.values()]
    updates = {contact_id: _people(rows) for contact_id, rows in matched.items()}
    organisations = _organisation_ids(
        user.id, [p.organisation for p in [*people, *updates.values()] if p.organisation]
    )
    _create(user, people, organisations)
    _merge(user, updates, organisations)
    pending.status, pending.content = "done", ""
    pending.result = json.dumps(asdict(result))
    db.session.flush()
    return result


def _organisation_ids(user_id: int, names: list[str]) -> dict[str, int]:
    """name_key -> id for every organisation named, creating the ones the user lacks."""
    wanted: dict[str, str] = {}
    for name in names:  # the first spelling in the file names a new organisation
        wanted.setdefault(name_key(name), " ".join(name.split()))
    ids: dict[str, int] = {}
    for keys in chunks(list(wanted)):
        ids.update(
            db.session.execute(
                db.select(Organisation.name_key, Organisation.id).where(
                    Organisation.user_id == user_id, Organisation.name_key.in_(keys)
                )
            ).all()
        )
    missing = [key for key in wanted if key not in ids]
    if missing:
        rows = [{"user_id": user_id, "name": wanted[key], "name_key": key} for key in missing]
        ids.update(zip(missing, insert_ids(Organisation, rows), strict=True))
    return ids


def _connections(user_id: int, contact_id: int, person: _Person, organisation_id: int | None):
    return [
        {
            "user_id": user_id,
            "contact_id": contact_id,
            "organisation_id": organisation_id,
            "kind": InteractionKind.OTHER,
            "occurred_on": day,
            "note": CONNECTED_NOTE,
        }
        for day in sorted(person.connected)
    ]


def _insert(model: type, rows: list[dict]) -> None:
    if rows:
        db.session.execute(insert(model), rows)


def _create(user: User, people: list[_Person], organisations: dict[str, int]) -> None:
    """New contacts, each with their job and LinkedIn connection, in a few bulk inserts."""
    if not people:
        return
    rows = [{"user_id": user.id, **person.values} for person in people]
    ids = insert_ids(Contact, rows)
    positions, interactions = [], []
    for contact_id, person in zip(ids, people, strict=True):
        organisation_id = organisations.get(name_key(person.organisation))
        if organisation_id:
            job = {"contact_id": contact_id, "organisation_id": organisation_id}
            positions.append({**job, "title": person.title})
        interactions += _connections(user.id, contact_id, person, organisation_id)
    _insert(Position, positions)
    _insert(Interaction, interactions)


def _load(ids: list[int]) -> tuple[list, dict[int, list], dict[int, set[date]]]:
    """For matched contacts: their details, their jobs, the connections already logged."""
    details, jobs, connected = [], defaultdict(list), defaultdict(set)
    for chunk in chunks(ids):
        columns = (getattr(Contact, name) for name in DETAILS)
        details += db.session.execute(db.select(Contact.id, *columns).where(Contact.id.in_(chunk)))
        for job in db.session.execute(
            db.select(Position.id, Position.contact_id, Position.organisation_id)
            .add_columns(Position.title, Position.ended_on)
            .where(Position.contact_id.in_(chunk))
        ):
            jobs[job.contact_id].append(job)
        for contact_id, day in db.session.execute(
            db.select(Interaction.contact_id, Interaction.occurred_on).where(
                Interaction.contact_id.in_(chunk), Interaction.note == CONNECTED_NOTE
            )
        ):
            connected[contact_id].add(day)
    return details, jobs, connected


def _merge(user: User, updates: dict[int, _Person], organisations: dict[str, int]) -> None:
    """Fill in what matched contacts lack, record a new job as a move, log connections."""
    details, jobs, connected = _load(list(updates))
    changed = []
    for row in details:
        incoming = updates[row.id].values
        filled = {name: getattr(row, name) or incoming[name] for name in DETAILS}
        if filled != {name: getattr(row, name) for name in DETAILS}:
            changed.append({"id": row.id, **filled})
    if changed:
        db.session.execute(update(Contact), changed)
    today = local_today(user.timezone)
    ended, titled, positions, interactions = [], [], [], []
    for contact_id, person in updates.items():
        organisation_id = organisations.get(name_key(person.organisation))
        held = jobs[contact_id]
        there = [job for job in held if job.organisation_id == organisation_id]
        if organisation_id and not there:  # a move: the current jobs end today
            ended += [{"id": job.id, "ended_on": today} for job in held if job.ended_on is None]
            job = {"contact_id": contact_id, "organisation_id": organisation_id}
            started_on = today if held else None
            positions.append({**job, "title": person.title, "started_on": started_on})
        elif person.title and there and not there[0].title:
            titled.append({"id": there[0].id, "title": person.title})
        person.connected -= connected[contact_id]
        interactions += _connections(user.id, contact_id, person, organisation_id)
    for rows in (ended, titled):
        if rows:
            db.session.execute(update(Position), rows)
    _insert(Position, positions)
    _insert(Interaction, interactions)
    _replan({row["contact_id"] for row in interactions}, user)


def _replan(contact_ids: set[int], user: User) -> None:
    """A new interaction moves the next check-in of anyone met at an interview."""
    for chunk in chunks(sorted(contact_ids)):
        met = db.session.execute(
            db.select(Participant.contact_id).where(Participant.contact_id.in_(chunk)).distinct()
        ).scalars()
        for contact_id in list(met):
            followups.replan_contact(user, db.session.get(Contact, contact_id))
