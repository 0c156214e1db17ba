"""No page runs a query per row: the statements a page runs do not grow with its rows.

Two users have the same kinds of data, one with 5 rows of everything a page lists and
one with 50; every page is fetched for each of them and the SQL statements it sends are
counted (SQLAlchemy's before_cursor_execute). A page whose count depends on the number
of rows has a query in a loop, most often a lazy relationship read from a template.
"""

import re
from contextlib import contextmanager
from datetime import date, timedelta

import pytest
from helpers import cheap_password_hashing, utc
from sqlalchemy import event

from tracker.db import db
from tracker.models import (
    Contact,
    FollowUp,
    FollowUpKind,
    FollowUpStatus,
    Interaction,
    InteractionKind,
    Interview,
    JobRun,
    Organisation,
    Outbox,
    OutboxStatus,
    Outcome,
    Participant,
    ParticipantRole,
    Position,
    Stage,
)

NOW = utc(2026, 11, 21, 9, 0)
TODAY = date(2026, 11, 21)
SMALL, LARGE = 5, 50
# Generous: a page needs a handful of queries; this catches one that needs dozens.
MOST = 25


@pytest.fixture(autouse=True)
def _setup(app, monkeypatch):
    cheap_password_hashing(monkeypatch)
    app.config["NOW"] = NOW


def fill(app, user, rows: int) -> dict[str, int]:
    """`rows` of everything: organisations, people with two jobs, interviews, notes, emails.

    The first organisation, interview and person take part in everything, so their own
    pages list `rows` of each thing too. Returns the ids of those first rows.
    """
    with app.app_context():
        organisations = [
            Organisation(user_id=user.id, name=f"Org {n:02d}", name_key=f"org {n:02d}")
            for n in range(rows)
        ]
        db.session.add_all(organisations)
        db.session.flush()
        first = organisations[0]
        people = [Contact(user_id=user.id, name=f"Person {n:02d}") for n in range(rows)]
        db.session.add_all(people)
        db.session.flush()
        for n, person in enumerate(people):
            db.session.add_all(
                [
                    Position(contact_id=person.id, organisation_id=first.id, title=f"Title {n}"),
                    Position(
                        contact_id=person.id,
                        organisation_id=organisations[n].id,
                        title="Before",
                        started_on=date(2024, 1, 1),
                        ended_on=date(2025, 1, 1),
                    ),
                ]
            )
        interviews = [
            Interview(
                user_id=user.id,
                organisation_id=first.id if n % 2 == 0 else organisations[n].id,
                role=f"Role {n}",
                held_on=TODAY - timedelta(days=n + 1),
                stage=Stage.ONSITE,
                outcome=Outcome.DECLINED,
                interest=3,
            )
            for n in range(rows)
        ]
        db.session.add_all(interviews)
        db.session.flush()
        him = people[0]
        for n, organisation in enumerate(organisations[1:]):  # a long career
            db.session.add(
                Position(
                    contact_id=him.id,
                    organisation_id=organisation.id,
                    title=f"Job {n}",
                    started_on=date(2000 + n % 20, 1, 1),
                    ended_on=date(2001 + n % 20, 1, 1),
                )
            )
        for n, interview in enumerate(interviews):
            # The first interview met everyone; the first person was at every interview.
            db.session.add(
                Participant(
                    interview_id=interview.id,
                    contact_id=him.id,
                    role=ParticipantRole.RECRUITER,
                    topics=f"Topic {n}",
                )
            )
            if n:
                db.session.add(Participant(interview_id=interviews[0].id, contact_id=people[n].id))
        for n, person in enumerate(people):
            interview = interviews[n]
            whens = (-3, 0, 3, 40)  # overdue, today, this week, later
            db.session.add_all(
                [
                    FollowUp(
                        user_id=user.id,
                        contact_id=person.id if n % 4 else him.id,
                        organisation_id=first.id,
                        interview_id=interview.id,
                        kind=FollowUpKind.CHECK_IN,
                        due_on=TODAY + timedelta(days=whens[n % 4] + n // 4),
                    ),
                    FollowUp(
                        user_id=user.id,
                        contact_id=him.id,
                        organisation_id=organisations[n].id,
                        kind=FollowUpKind.MANUAL,
                        generated=False,
                        title=f"Manual {n}",
                        due_on=TODAY - timedelta(days=30 + n),
                        status=FollowUpStatus.DONE,
                        completed_at=NOW - timedelta(days=n),
                    ),
                    Interaction(
                        user_id=user.id,
                        contact_id=him.id if n % 2 else person.id,
                        organisation_id=first.id,
                        kind=InteractionKind.EMAIL,
                        occurred_on=TODAY - timedelta(days=n),
                        note=f"Note {n}",
                    ),
                ]
            )
            db.session.add(
                Outbox(
                    user_id=user.id,
                    key=f"test:{user.id}:{n}",
                    kind="test",
                    recipient=user.email,
                    subject=f"Email {n}",
                    message="Subject: x\r\n\r\nx\r\n",
                    message_id=f"<{user.id}.{n}@example.com>",
                    status=OutboxStatus.FAILED if n % 3 == 0 else OutboxStatus.SENT,
                    attempts=1,
                    last_error="550 no" if n % 3 == 0 else "",
                    created_at=NOW - timedelta(minutes=n),
                )
            )
        if not db.session.get(JobRun, "dispatch-outbox"):
            db.session.add(JobRun(name="dispatch-outbox", last_run_at=NOW, last_success_at=NOW))
        db.session.commit()
        return {
            "organisation": first.id,
            "contact": him.id,
            "interview": interviews[0].id,
            "outbox": db.session.execute(
                db.select(Outbox.id).filter_by(user_id=user.id).limit(1)
            ).scalar(),
        }


PAGES = {
    "home": "/",
    "contacts list": "/contacts/",
    "contacts, page 2": "/contacts/?page=2",
    "contact search": "/contacts/?q=person",
    "contact search by organisation": "/contacts/?q=org+0",
    "organisations list": "/organisations/",
    "organisation page": "/organisations/{organisation}",
    "contact page": "/contacts/{contact}",
    "interview page": "/interviews/{interview}",
    "interview edit form": "/interviews/{interview}/edit",
    "delivery page": "/delivery/",
    "one email": "/delivery/{outbox}",
    "new interview form": "/interviews/new",
    "settings": "/settings/",
}


@contextmanager
def counting(app):
    """Count the SQL statements sent while the block runs."""
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def statements_for(app, client, url: str) -> list[str]:
    assert client.get(url).status_code == 200, url  # warm: caches and first-use work
    with counting(app) as statements:
        response = client.get(url)
    assert response.status_code == 200, url
    return statements


@pytest.fixture
def two_accounts(app, make_user, login):
    accounts = []
    for rows in (SMALL, LARGE):
        user = make_user(f"rows{rows}@example.com")
        ids = fill(app, user, rows)
        accounts.append((login(user, as_client=app.test_client()), ids))
    return accounts


@pytest.mark.parametrize("page", list(PAGES))
def test_a_pages_statements_do_not_grow_with_its_rows(app, two_accounts, page):
    (small, small_ids), (large, large_ids) = two_accounts
    few = statements_for(app, small, PAGES[page].format(**small_ids))
    many = statements_for(app, large, PAGES[page].format(**large_ids))
    assert len(many) == len(few), "\n\n".join(many)
    assert len(many) <= MOST, "\n\n".join(many)


def test_the_large_pages_do_show_many_rows(app, two_accounts):
    """The comparison means something: the pages of the large account are full."""
    _, (large, ids) = two_accounts
    assert large.get("/contacts/").get_data(as_text=True).count(">Person ") == 50
    organisation = large.get(f"/organisations/{ids['organisation']}").get_data(as_text=True)
    assert organisation.count(">Person ") >= 50 and organisation.count("Role ") >= 25
    contact = large.get(f"/contacts/{ids['contact']}").get_data(as_text=True)
    assert contact.count("Note ") >= 25 and contact.count("Role ") >= 25
    assert len(re.findall(r"Job \d+", contact)) == 49
    interview = large.get(f"/interviews/{ids['interview']}").get_data(as_text=True)
    assert interview.count(">Person ") == 50
    delivery = large.get("/delivery/").get_data(as_text=True)
    assert len(re.findall(r">Email \d+<", delivery)) == 50
