"""`flask --app app demo-data --contacts N`: a sized account, in bulk, for benchmarks."""

import re
from datetime import timedelta

import pytest
from helpers import utc
from sqlalchemy import func

from tracker.accounts import find_user_by_email
from tracker.contacts import contacts_query
from tracker.db import db
from tracker.models import (
    Contact,
    FollowUp,
    FollowUpStatus,
    Interaction,
    Interview,
    Organisation,
    Participant,
    Position,
)

NOW = utc(2026, 11, 21, 9, 0)


@pytest.fixture(autouse=True)
def _setup(app, monkeypatch):
    app.config["NOW"] = NOW


def count(model, *where) -> int:
    return db.session.execute(db.select(func.count()).select_from(model).where(*where)).scalar()


def test_a_sized_account_looks_like_what_the_use_cases_make(app, runner):
    result = runner.invoke(args=["demo-data", "--contacts", "2000", "--email", "big@example.com"])
    assert result.exit_code == 0, result.output
    assert "Added 280 interviews at 40 organisations with 2000 people" in result.output
    with app.app_context():
        user = find_user_by_email("big@example.com")
        assert count(Contact, Contact.user_id == user.id) == 2000
        assert count(Organisation, Organisation.user_id == user.id) == 40
        assert count(Position) == 2200  # a job for everyone; one in ten moved
        assert count(Participant) == 800  # two in five met at an interview
        # … in every organisation alike: its page looks the same at any account size.
        per_place = db.session.execute(
            db.select(func.count())
            .select_from(Participant)
            .join(Interview, Interview.id == Participant.interview_id)
            .group_by(Interview.organisation_id)
        ).scalars()
        assert set(per_place) == {20}
        assert count(Interaction) > 100
        names = db.session.execute(db.select(func.count(func.distinct(Contact.name)))).scalar()
        assert names > 500  # a varied address book, not "Person 1 … Person N"

        # Each person met has a thank-you done and one open check-in; a quarter of the
        # check-ins fall in each section of the home page.
        today = NOW.date()
        open_ones = db.session.execute(
            db.select(FollowUp.due_on).where(FollowUp.status == FollowUpStatus.OPEN)
        ).scalars()
        sections = {"overdue": 0, "today": 0, "week": 0, "later": 0}
        for due in open_ones:
            if due < today:
                sections["overdue"] += 1
            elif due == today:
                sections["today"] += 1
            elif due <= today + timedelta(days=7):
                sections["week"] += 1
            else:
                sections["later"] += 1
        assert sections == {"overdue": 200, "today": 200, "week": 200, "later": 200}
        assert count(FollowUp, FollowUp.status == FollowUpStatus.DONE) == 800
        # The search index has every one of them.
        found = db.session.execute(contacts_query(user.id, "northwind").limit(60)).scalars()
        assert len(list(found)) == 60

    again = runner.invoke(args=["demo-data", "--contacts", "500", "--email", "big@example.com"])
    assert "already has interviews; nothing was added" in again.output
    with app.app_context():
        assert count(Contact) == 2000


def test_a_hundred_people_fill_every_section_of_the_home_page(app, runner, client, login):
    """What the page benchmark relies on: the small account's pages are full too."""
    result = runner.invoke(args=["demo-data", "--contacts", "100", "--email", "small@example.com"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        user = find_user_by_email("small@example.com")
        db.session.expunge(user)
    login(user, password="keepwarm-demo")
    page = client.get("/").get_data(as_text=True)
    for section in ("overdue", "today", "week", "later"):
        html = page.split(f'id="h-{section}"', 1)[1].split("</section>", 1)[0]
        assert len(set(re.findall(r'id="follow-up-(\d+)"', html))) == 10, section
    assert client.get("/contacts/").get_data(as_text=True).count("/contacts/") >= 50
    with app.app_context():
        assert count(Interview) == 14


def test_the_number_is_checked(runner):
    result = runner.invoke(args=["demo-data", "--contacts", "0"])
    assert result.exit_code == 2 and "--contacts" in result.output
