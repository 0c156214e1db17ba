"""Sized accounts for benchmarks (`demo-data --contacts N`): any number of people, fast.

Rows go in with one executemany per few thousand rows, not through the use cases (the
playbook would take minutes for 100,000 people), but they look like what the use cases
make: 50 people per organisation, each with a job there; two in five met at an interview
(three to an interview) with a thank-you done and a check-in planned (a quarter each
overdue, today, this week and later); one in five of those with an interaction; one in
ten who moved.
"""

import random
from datetime import date, datetime, timedelta

from sqlalchemy import insert, select

from .clock import local_today, utcnow
from .db import db
from .models import (
    Contact,
    FollowUp,
    FollowUpKind,
    FollowUpStatus,
    Interaction,
    InteractionKind,
    Interview,
    Organisation,
    Outcome,
    Participant,
    Position,
    Stage,
    User,
)
from .organisations import name_key

# fmt: off
FIRST_NAMES = (
    "Ada", "Ben", "Chloe", "Dev", "Elif", "Farid", "Gita", "Hugo", "Ines", "Jonas", "Kiri",
    "Liam", "Mina", "Noor", "Omar", "Pia", "Quinn", "Rosa", "Sven", "Tara", "Umar", "Vera",
    "Wen", "Xena", "Yusuf", "Zoe", "Aiko", "Bruno", "Carla", "Dmitri", "Esme", "Femi",
)
LAST_NAMES = (
    "Abbott", "Baker", "Costa", "Dubois", "Eriksen", "Fischer", "Garcia", "Horvat", "Ibrahim",
    "Jensen", "Kowalski", "Lopez", "Moreau", "Nakamura", "Okafor", "Petrov", "Quist", "Rossi",
    "Santos", "Tanaka", "Ueda", "Varga", "Weber", "Xu", "Yilmaz", "Zhang", "Brennan", "Gupta",
)
TITLES = (
    "Recruiter", "Engineering Manager", "Staff Engineer", "Senior Engineer", "CTO",
    "Product Manager", "Talent Partner", "Director of Engineering", "Data Scientist",
)
BRANDS = (
    "Northwind", "Contoso", "Fabrikam", "Globex", "Initech", "Umbrella", "Hooli", "Vandelay",
    "Wayne", "Stark", "Acme", "Tyrell", "Cyberdyne", "Soylent", "Wonka", "Oceanic", "Aperture",
)
TRADES = ("Labs", "Systems", "Analytics", "Health", "Bank", "Logistics", "Games", "Energy")
# fmt: on
PEOPLE_PER_ORGANISATION = 50
PEOPLE_PER_INTERVIEW = 3
BATCH = 5_000


def _bulk(model: type, rows: list[dict], ids: bool = True) -> list[int]:
    """Insert rows with one executemany per BATCH; the new ids in the order given, if asked.

    Every row must name the same columns, or SQLAlchemy falls back to a statement per row.
    """
    statement = insert(model)
    if ids:
        statement = statement.returning(model.id, sort_by_parameter_order=True)
    new: list[int] = []
    for start in range(0, len(rows), BATCH):
        result = db.session.execute(statement, rows[start : start + BATCH])
        new += result.scalars().all() if ids else []
    return new


def organisation_name(n: int) -> str:
    """Distinct names: "Globex Labs", …, then "Globex Labs 2" once every pair is used."""
    pairs = len(BRANDS) * len(TRADES)
    name = f"{BRANDS[n % len(BRANDS)]} {TRADES[n // len(BRANDS) % len(TRADES)]}"
    return name if n < pairs else f"{name} {n // pairs + 1}"


def fill_sized_account(user: User, contacts: int, seed: int = 7) -> dict[str, int]:
    """Add `contacts` people with their organisations, interviews and follow-ups, in bulk.

    Once: an account that has interviews already is left as it is (all counts 0).
    """
    if db.session.execute(select(Interview.id).filter_by(user_id=user.id).limit(1)).first():
        return dict.fromkeys(("organisations", "interviews", "contacts"), 0)
    rng = random.Random(seed)  # noqa: S311 - sample data, not secrets
    today, now = local_today(user.timezone), utcnow()
    names = [organisation_name(n) for n in range(max(1, contacts // PEOPLE_PER_ORGANISATION))]
    organisations = _bulk(
        Organisation,
        [
            {"user_id": user.id, "name": n, "name_key": name_key(n), "created_at": now}
            for n in names
        ],
    )
    people = _bulk(
        Contact,
        [
            {
                "user_id": user.id,
                "name": f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
                "email": f"person{n}@example.com",
                "created_at": now,
            }
            for n in range(contacts)
        ],
    )
    works_at = {person: organisations[n % len(organisations)] for n, person in enumerate(people)}
    _bulk(Position, _positions(works_at, organisations, today, rng), ids=False)
    # The k-th person of each organisation is met when k % 5 < 2: two in five everywhere.
    met = [person for n, person in enumerate(people) if n // len(organisations) % 5 < 2]
    interviews = _interviews(user, met, works_at, today, now, rng)
    return {"organisations": len(organisations), "interviews": interviews, "contacts": contacts}


def _positions(
    works_at: dict[int, int], organisations: list[int], today: date, rng: random.Random
) -> list[dict]:
    """A current job for everyone; one in ten also left a job elsewhere."""
    rows = [
        {
            "contact_id": person,
            "organisation_id": place,
            "title": rng.choice(TITLES),
            "started_on": None,
            "ended_on": None,
        }
        for person, place in works_at.items()
    ]
    for person in list(works_at)[::10]:
        rows.append(
            {
                "contact_id": person,
                "organisation_id": rng.choice(organisations),
                "title": rng.choice(TITLES),
                "started_on": today - timedelta(days=900),
                "ended_on": today - timedelta(days=rng.randint(30, 400)),
            }
        )
    return rows


def _interviews(
    user: User,
    met: list[int],
    works_at: dict[int, int],
    today: date,
    now: datetime,
    rng: random.Random,
) -> int:
    """Interviews of three people at their organisation, with what the playbook plans."""
    by_place: dict[int, list[int]] = {}
    for person in met:
        by_place.setdefault(works_at[person], []).append(person)
    planned = [
        (place, today - timedelta(days=rng.randint(2, 400)), group[i : i + PEOPLE_PER_INTERVIEW])
        for place, group in by_place.items()
        for i in range(0, len(group), PEOPLE_PER_INTERVIEW)
    ]
    ids = _bulk(
        Interview,
        [
            {
                "user_id": user.id,
                "organisation_id": place,
                "role": rng.choice(TITLES),
                "held_on": held_on,
                "stage": rng.choice(list(Stage)),
                "outcome": rng.choice(list(Outcome)),
                "interest": rng.randint(1, 5),
                "created_at": now,
            }
            for place, held_on, _ in planned
        ],
    )
    participants, follow_ups, interactions = [], [], []
    for interview, (place, held_on, group) in zip(ids, planned, strict=True):
        for person in group:
            participants.append(
                {"interview_id": interview, "contact_id": person, "topics": "Stack"}
            )
            about = {"user_id": user.id, "contact_id": person, "organisation_id": place}
            planned_by = {**about, "interview_id": interview, "created_at": now, "changed_at": now}
            follow_ups += [
                {
                    **planned_by,
                    "kind": FollowUpKind.THANK_YOU,
                    "due_on": held_on + timedelta(days=1),
                    "status": FollowUpStatus.DONE,
                    "completed_at": now,
                },
                {
                    **planned_by,
                    "kind": FollowUpKind.CHECK_IN,
                    "due_on": today + timedelta(days=_check_in_day(len(follow_ups), rng)),
                    "status": FollowUpStatus.OPEN,
                    "completed_at": None,
                },
            ]
            if rng.random() < 0.2:
                interactions.append(
                    {
                        **about,
                        "kind": rng.choice(list(InteractionKind)),
                        "occurred_on": held_on + timedelta(days=3),
                        "note": "Sent a thank-you note.",
                        "created_at": now,
                    }
                )
    _bulk(Participant, participants, ids=False)
    _bulk(FollowUp, follow_ups, ids=False)
    _bulk(Interaction, interactions, ids=False)
    return len(ids)


def _check_in_day(n: int, rng: random.Random) -> int:
    """Days from today: a quarter overdue, due today, this week and later, in turn.

    So every section of the home page is full at any size, and a benchmark compares
    pages that show the same number of rows.
    """
    return (rng.randint(-21, -1), 0, rng.randint(1, 7), rng.randint(8, 365))[n // 2 % 4]
