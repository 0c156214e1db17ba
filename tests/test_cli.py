"""Commands: demo-data fills an account once; create-user checks what it is given."""

from datetime import UTC, date, datetime, timedelta

import pytest

from tracker.accounts import check_password, find_user_by_email
from tracker.db import db
from tracker.models import (
    Contact,
    FollowUp,
    Interaction,
    Interview,
    Organisation,
    Outcome,
    Participant,
    User,
)

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


@pytest.fixture
def runner(app):
    app.config["NOW"] = NOW
    return app.test_cli_runner()


def rows(model, user_id: int) -> list:
    return list(db.session.execute(db.select(model).filter_by(user_id=user_id)).scalars())


# --- demo-data -----------------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_demo_data_fills_a_new_account_with_a_believable_history(app, runner):
    result = runner.invoke(args=["demo-data", "--email", "Demo@Example.com"])
    assert result.exit_code == 0, result.output
    assert "Created Demo@Example.com" in result.output
    assert "Added 10 interviews at 6 organisations" in result.output

    with app.app_context():
        user = find_user_by_email("demo@example.com")
        assert user is not None and user.timezone == "Europe/London"
        today = date(2026, 11, 25)
        interviews = rows(Interview, user.id)
        assert len(interviews) == 10
        assert len(rows(Organisation, user.id)) == 6
        held = sorted(i.held_on for i in interviews)
        assert held[0] >= today - timedelta(days=8 * 31) and held[-1] < today
        assert (held[-1] - held[0]).days > 180  # spread over months, not one week
        outcomes = {i.outcome for i in interviews}
        assert {Outcome.DECLINED, Outcome.REJECTED, Outcome.PENDING, Outcome.OFFER} <= outcomes
        assert len({i.stage for i in interviews}) >= 3
        for interview in interviews:
            assert 2 <= len(interview.participants) <= 4, interview.role
            assert all(p.topics for p in interview.participants)

        contacts = rows(Contact, user.id)
        assert all(c.email.endswith(("@example.com", "@example.org")) for c in contacts)
        assert 3 <= sum(bool(c.linkedin_url) for c in contacts) < len(contacts)
        assert all(c.linkedin_url.startswith("https://") for c in contacts if c.linkedin_url)
        assert all(c.current_position and c.current_position.title for c in contacts)
        # Someone met at two interviews is one contact.
        assert (
            len(contacts)
            < db.session.execute(db.select(db.func.count()).select_from(Participant)).scalar_one()
        )
        # Someone moved from one organisation to another, history intact.
        moved = [c for c in contacts if len(c.positions) > 1]
        assert [(p.organisation.name, p.ended_on is None) for p in moved[0].positions] == [
            ("Globex", True),
            ("Contoso", False),
        ]
        assert len(rows(Interaction, user.id)) >= 3
        assert rows(FollowUp, user.id), "the playbook planned nothing"


def test_demo_data_is_idempotent(app, runner):
    assert runner.invoke(args=["demo-data"]).exit_code == 0
    with app.app_context():
        user = find_user_by_email("demo@example.com")
        counts = {m: len(rows(m, user.id)) for m in (Interview, Contact, Organisation, FollowUp)}

    again = runner.invoke(args=["demo-data"])
    assert again.exit_code == 0, again.output
    assert "already has interviews; nothing was added" in again.output
    assert "Created" not in again.output
    with app.app_context():
        assert {m: len(rows(m, user.id)) for m in counts} == counts
        assert db.session.execute(db.select(db.func.count()).select_from(User)).scalar_one() == 1


def test_demo_data_fills_an_existing_account_in_its_own_zone(app, runner, make_user):
    app.config["NOW"] = datetime(2026, 11, 25, 23, 30, tzinfo=UTC)  # already the 26th there
    user = make_user("dana@example.com", timezone="Pacific/Auckland")
    result = runner.invoke(args=["demo-data", "--email", "dana@example.com"])
    assert result.exit_code == 0, result.output
    assert "Created" not in result.output
    with app.app_context():
        latest = max(i.held_on for i in rows(Interview, user.id))
        assert latest == date(2026, 11, 26) - timedelta(days=2)


def test_demo_pages_render(app, runner, client, login):
    assert runner.invoke(args=["demo-data", "--email", "demo@example.com"]).exit_code == 0
    with app.app_context():
        user = find_user_by_email("demo@example.com")
        ids = {
            "organisations": [o.id for o in rows(Organisation, user.id)],
            "contacts": [c.id for c in rows(Contact, user.id)],
            "interviews": [i.id for i in rows(Interview, user.id)],
        }
    login(user, password="keepwarm-demo")
    urls = ["/", "/organisations/", "/contacts/", "/contacts/?q=globex"]
    urls += [f"/{kind}/{ident}" for kind, idents in ids.items() for ident in idents]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
    assert "Priya Raman" in client.get("/contacts/?q=globex").get_data(as_text=True)


def test_demo_data_refuses_an_unknown_zone(app, runner):
    result = runner.invoke(args=["demo-data", "--timezone", "Mars/Olympus"])
    assert result.exit_code == 2
    assert "unknown time zone" in result.output
    with app.app_context():
        assert find_user_by_email("demo@example.com") is None


# --- create-user ---------------------------------------------------------------------------


def test_create_user(app, runner):
    result = runner.invoke(
        args=["create-user", "Dana@Example.com", "--timezone", "Europe/Berlin"],
        input="a long pass phrase\na long pass phrase\n",
    )
    assert result.exit_code == 0, result.output
    assert "Created user dana@example.com." in result.output
    with app.app_context():
        user = find_user_by_email("dana@example.com")
        assert user.timezone == "Europe/Berlin"
        assert check_password(user, "a long pass phrase")
        assert not check_password(user, "a wrong pass phrase")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["lee@example.com", "--password", "short"], "Use at least 8 characters."),
        (["lee@example.com", "--password", "password1"], "one of the most common"),
        (
            ["lee@example.com", "--password", "fine pass phrase", "--timezone", "Nowhere/City"],
            "unknown time zone",
        ),
        (
            ["lee@example.com", "--password", "fine pass phrase", "--timezone", "utc"],
            "unknown time zone",
        ),
        (["not-an-email", "--password", "fine pass phrase"], "EMAIL"),
        (["lee@", "--password", "fine pass phrase"], "EMAIL"),
    ],
)
def test_create_user_refuses_bad_input(app, runner, arguments, message):
    result = runner.invoke(args=["create-user", *arguments])
    assert result.exit_code == 2, result.output
    assert message in result.output
    with app.app_context():
        assert db.session.execute(db.select(db.func.count()).select_from(User)).scalar_one() == 0


def test_create_user_refuses_a_duplicate(app, runner, make_user):
    make_user("dana@example.com")
    result = runner.invoke(args=["create-user", " DANA@example.com", "--password", "another one!"])
    assert result.exit_code == 1
    assert "already exists" in result.output
    with app.app_context():
        assert db.session.execute(db.select(db.func.count()).select_from(User)).scalar_one() == 1


def test_create_user_asks_for_the_password_twice(app, runner):
    result = runner.invoke(
        args=["create-user", "kim@example.com"],
        input="first pass phrase\nsecond pass phrase\nfirst pass phrase\nfirst pass phrase\n",
    )
    assert result.exit_code == 0, result.output
    assert "do not match" in result.output.lower() or "don't match" in result.output.lower()
    with app.app_context():
        assert check_password(find_user_by_email("kim@example.com"), "first pass phrase")
