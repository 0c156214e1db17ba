"""The schema's own guarantees, on SQLite and PostgreSQL alike."""

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, StatementError

from tracker.contacts import contacts_query
from tracker.db import db, rows_of
from tracker.followups import log_interaction
from tracker.models import (
    Contact,
    FollowUp,
    FollowUpKind,
    InteractionKind,
    Interview,
    Organisation,
    Outcome,
    Participant,
    Position,
    Stage,
    User,
)

pytestmark = pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)


# Tables whose rows all belong to one user, directly or through a parent.
OWNED = (
    "organisation",
    "contact",
    "position",
    "interview",
    "participant",
    "interaction",
    "follow_up",
)


def organisation(user_id: int, name: str = "Acme", key: str | None = None) -> Organisation:
    row = Organisation(user_id=user_id, name=name, name_key=key or name.casefold())
    db.session.add(row)
    return row


def interview(user_id: int, organisation_id: int, **fields) -> Interview:
    row = Interview(
        user_id=user_id,
        organisation_id=organisation_id,
        role=fields.pop("role", "Engineer"),
        held_on=fields.pop("held_on", date(2026, 11, 20)),
        stage=fields.pop("stage", Stage.ONSITE),
        **fields,
    )
    db.session.add(row)
    return row


def counts_for(user_id: int) -> dict[str, int]:
    """Rows per table that belong to the user (through their parent where needed)."""
    queries = {
        "organisation": "SELECT count(*) FROM organisation WHERE user_id = :u",
        "contact": "SELECT count(*) FROM contact WHERE user_id = :u",
        "position": "SELECT count(*) FROM position JOIN contact ON contact.id = position.contact_id"
        " WHERE contact.user_id = :u",
        "interview": "SELECT count(*) FROM interview WHERE user_id = :u",
        "participant": "SELECT count(*) FROM participant"
        " JOIN interview ON interview.id = participant.interview_id WHERE interview.user_id = :u",
        "interaction": "SELECT count(*) FROM interaction WHERE user_id = :u",
        "follow_up": "SELECT count(*) FROM follow_up WHERE user_id = :u",
    }
    return {
        table: db.session.execute(text(sql), {"u": user_id}).scalar_one()
        for table, sql in queries.items()
    }


def total(table: str) -> int:
    return db.session.execute(text(f'SELECT count(*) FROM "{table}"')).scalar_one()


def test_one_organisation_per_user_and_name_key(app, make_user):
    first, second = make_user(), make_user()
    with app.app_context():
        organisation(first.id, "Acme", "acme")
        organisation(second.id, "ACME", "acme")  # another user may have the same name
        db.session.commit()
        organisation(first.id, "acme", "acme")
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()
        assert total("organisation") == 2


@pytest.mark.parametrize("interest", [0, 6, -1, 100])
def test_interest_must_be_one_to_five(app, make_user, interest):
    user = make_user()
    with app.app_context():
        place = organisation(user.id)
        db.session.flush()
        interview(user.id, place.id, interest=interest)
        with pytest.raises(IntegrityError, match="(?i)interest_range|check constraint"):
            db.session.flush()
        db.session.rollback()


def test_interest_limits_are_accepted(app, make_user):
    user = make_user()
    with app.app_context():
        place = organisation(user.id)
        db.session.flush()
        interview(user.id, place.id, interest=1)
        interview(user.id, place.id, interest=5)
        db.session.commit()
        assert total("interview") == 2


def test_enum_columns_refuse_unknown_values(app, make_user):
    user = make_user()
    with app.app_context():
        place = organisation(user.id)
        db.session.commit()
        with pytest.raises(IntegrityError):
            db.session.execute(
                text(
                    "INSERT INTO interview (user_id, organisation_id, role, held_on, stage, "
                    "outcome, interest, notes, created_at) VALUES (:u, :o, 'x', '2026-01-01', "
                    "'lunch', 'pending', 3, '', CURRENT_TIMESTAMP)"
                ),
                {"u": user.id, "o": place.id},
            )
        db.session.rollback()


def test_a_person_is_listed_once_per_interview(app, make_user):
    user = make_user()
    with app.app_context():
        place = organisation(user.id)
        dana = Contact(user_id=user.id, name="Dana")
        db.session.add(dana)
        db.session.flush()
        meeting = interview(user.id, place.id)
        db.session.flush()
        db.session.add_all(
            [
                Participant(interview_id=meeting.id, contact_id=dana.id),
                Participant(interview_id=meeting.id, contact_id=dana.id),
            ]
        )
        with pytest.raises(IntegrityError):
            db.session.flush()
        db.session.rollback()


def fill(user_id: int) -> None:
    """An organisation, an interview, two people (one moved), an interaction, follow-ups."""
    owner = db.session.get(User, user_id)
    acme, globex = organisation(user_id, "Acme"), organisation(user_id, "Globex")
    db.session.flush()
    dana, lee = Contact(user_id=user_id, name="Dana"), Contact(user_id=user_id, name="Lee")
    db.session.add_all([dana, lee])
    db.session.flush()
    db.session.add_all(
        [
            Position(contact_id=dana.id, organisation_id=acme.id, title="CTO"),
            Position(contact_id=lee.id, organisation_id=acme.id, ended_on=date(2026, 1, 1)),
            Position(contact_id=lee.id, organisation_id=globex.id),
        ]
    )
    meeting = interview(user_id, acme.id, outcome=Outcome.DECLINED)
    db.session.flush()
    db.session.add_all(
        [
            Participant(interview_id=meeting.id, contact_id=dana.id),
            Participant(interview_id=meeting.id, contact_id=lee.id),
            FollowUp(
                user_id=user_id,
                contact_id=dana.id,
                organisation_id=acme.id,
                interview_id=meeting.id,
                kind=FollowUpKind.THANK_YOU,
                due_on=date(2026, 11, 21),
            ),
        ]
    )
    db.session.flush()
    log_interaction(owner, lee, InteractionKind.COFFEE, date(2026, 11, 1), "Coffee")
    db.session.commit()


def test_deleting_a_user_in_sql_takes_everything_of_theirs(app, make_user):
    doomed, other = make_user(), make_user()
    with app.app_context():
        fill(doomed.id)
        fill(other.id)
        before_other = counts_for(other.id)
        assert all(counts_for(doomed.id).values())

        db.session.execute(text('DELETE FROM "user" WHERE id = :u'), {"u": doomed.id})
        db.session.commit()

        assert counts_for(doomed.id) == dict.fromkeys(OWNED, 0)
        assert counts_for(other.id) == before_other
        for table in OWNED:  # no row of any table was left pointing at the deleted user
            assert total(table) == before_other[table], table


def test_deleting_an_organisation_in_sql_cascades_to_what_happened_there(app, make_user):
    user = make_user()
    with app.app_context():
        fill(user.id)
        acme = db.session.execute(db.select(Organisation.id).filter_by(name="Acme")).scalar_one()
        db.session.execute(text("DELETE FROM organisation WHERE id = :o"), {"o": acme})
        db.session.commit()
        assert total("interview") == total("participant") == 0
        assert total("follow_up") == 0
        assert total("contact") == 2
        # Lee's Globex job and the interaction logged there survive; Acme's jobs do not.
        assert total("position") == 1
        assert db.session.execute(text("SELECT count(*) FROM interaction")).scalar_one() == 1


def test_deleting_a_contact_in_sql_cascades_to_their_rows(app, make_user):
    user = make_user()
    with app.app_context():
        fill(user.id)
        lee = db.session.execute(db.select(Contact.id).filter_by(name="Lee")).scalar_one()
        db.session.execute(text("DELETE FROM contact WHERE id = :c"), {"c": lee})
        db.session.commit()
        for table in ("position", "participant", "interaction", "follow_up"):
            remaining = db.session.execute(
                text(f"SELECT count(*) FROM {table} WHERE contact_id = :c"), {"c": lee}
            ).scalar_one()
            assert remaining == 0, table
        assert total("interview") == 1 and total("contact") == 1


def test_deleting_an_interview_in_sql_cascades_to_participants_and_follow_ups(app, make_user):
    user = make_user()
    with app.app_context():
        fill(user.id)
        db.session.execute(text("DELETE FROM interview"))
        db.session.commit()
        assert total("participant") == 0
        assert (
            db.session.execute(
                text("SELECT count(*) FROM follow_up WHERE interview_id IS NOT NULL")
            ).scalar_one()
            == 0
        )
        assert total("contact") == 2 and total("position") == 3


def test_datetimes_come_back_aware_and_in_utc(app, make_user):
    user = make_user()
    tokyo = timezone(timedelta(hours=9))
    with app.app_context():
        place = organisation(user.id)
        db.session.flush()
        meeting = interview(
            user.id, place.id, starts_at=datetime(2026, 3, 29, 10, 30, tzinfo=tokyo)
        )
        db.session.commit()
        ident = meeting.id
        db.session.expire_all()

        loaded = db.session.get(Interview, ident)
        assert loaded.starts_at == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
        assert loaded.starts_at.utcoffset() == timedelta(0)
        assert loaded.created_at.tzinfo is not None
        assert abs(loaded.created_at - datetime.now(UTC)) < timedelta(minutes=5)
        stored = db.session.execute(
            text("SELECT starts_at FROM interview WHERE id = :i"), {"i": ident}
        ).scalar_one()
        as_read = stored if isinstance(stored, datetime) else datetime.fromisoformat(stored)
        assert as_read.replace(tzinfo=as_read.tzinfo or UTC) == loaded.starts_at
        assert db.session.get(User, user.id).created_at.tzinfo is not None


def test_naive_datetimes_are_refused(app, make_user):
    user = make_user()
    with app.app_context():
        place = organisation(user.id)
        db.session.flush()
        interview(user.id, place.id, starts_at=datetime(2026, 3, 29, 10, 30))
        with pytest.raises(StatementError, match="naive datetime"):
            db.session.flush()
        db.session.rollback()


def test_contacts_query_matches_name_title_and_organisation_literally(app, make_user):
    user = make_user()
    with app.app_context():
        fill(user.id)
        db.session.add(Contact(user_id=user.id, name="100%_Sure"))
        db.session.commit()

        def names(term: str) -> list[str]:
            return [c.name for c in db.session.execute(contacts_query(user.id, term)).all()]

        assert names("") == ["100%_Sure", "Dana", "Lee"]
        assert names("DANA") == ["Dana"]
        assert names("cto") == ["Dana"]
        assert names("globex") == ["Lee"]
        assert names("ACME") == ["Dana", "Lee"]
        assert names("%_") == ["100%_Sure"]
        assert names("_") == ["100%_Sure"]
        assert names("D%a") == []


def test_rows_of_sees_what_the_session_has_not_yet_flushed(app, make_user):
    """rows_of skips the ORM's execute, not its autoflush: a read after a change sees it,
    and under no_autoflush it does not, as with Session.execute."""
    user = make_user()
    with app.app_context():
        names = db.select(Contact.name).where(Contact.user_id == user.id)
        db.session.add(Contact(user_id=user.id, name="Dana Smith"))
        assert rows_of(names).scalars().all() == ["Dana Smith"]
        with db.session.no_autoflush:
            db.session.add(Contact(user_id=user.id, name="Lee Park"))
            assert rows_of(names).scalars().all() == ["Dana Smith"]
        assert sorted(rows_of(names).scalars()) == ["Dana Smith", "Lee Park"]
        db.session.rollback()
        assert rows_of(names).scalars().all() == []
