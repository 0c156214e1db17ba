"""Contact search through trigram indexes: kept current by every write, and used.

tests/test_contacts.py holds what a search finds; these tests hold that the index behind
it follows every way a contact, a job or an organisation changes, that both of SQLite's
plans find the same people, and that the database really searches the index.
"""

from datetime import date

import flask_migrate
import pytest
from sqlalchemy import insert, inspect

from tracker import contacts, create_app
from tracker.accounts import create_user
from tracker.contacts import contacts_query, record_move
from tracker.db import db
from tracker.models import Contact, Organisation, Position
from tracker.organisations import find_or_create_organisation, rename_organisation

both_databases = pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
TODAY = date(2026, 11, 21)


def found(user_id: int, term: str) -> list[str]:
    return [c.name for c in db.session.execute(contacts_query(user_id, term)).scalars()]


def add(user_id: int, name: str, organisation: str = "", title: str = "") -> Contact:
    contact = Contact(user_id=user_id, name=name)
    if organisation:
        place = find_or_create_organisation(user_id, organisation)
        contact.positions.append(Position(organisation_id=place.id, title=title))
    db.session.add(contact)
    db.session.flush()
    return contact


@pytest.fixture
def user(make_user):
    return make_user()


@both_databases
def test_the_index_follows_every_change(app, user):
    with app.app_context():
        dana = add(user.id, "Dana Scully", "Acme Widgets", "Platform Lead")
        db.session.commit()
        assert found(user.id, "scul") == found(user.id, "widget") == ["Dana Scully"]
        assert found(user.id, "platform") == ["Dana Scully"]

        dana.name = "Dana Mulder"  # renamed
        db.session.commit()
        assert (found(user.id, "scully"), found(user.id, "mulder")) == ([], ["Dana Mulder"])

        record_move(dana, "Globex Health", "Chief of Staff", None, TODAY)  # a new job
        db.session.commit()
        assert found(user.id, "globex") == found(user.id, "chief of") == ["Dana Mulder"]
        assert found(user.id, "acme") == ["Dana Mulder"]  # where she used to work

        acme = db.session.execute(db.select(Organisation).filter_by(name="Acme Widgets")).scalar()
        assert rename_organisation(acme, "Initrode")  # the organisation renamed
        db.session.commit()
        assert (found(user.id, "acme"), found(user.id, "initrode")) == ([], ["Dana Mulder"])

        dana.positions[0].title = "Chief Executive"  # the current job's title edited
        db.session.commit()
        assert found(user.id, "chief of") == []
        assert found(user.id, "executive") == ["Dana Mulder"]

        db.session.delete(acme)  # the organisation deleted, her job there with it
        db.session.commit()
        db.session.expire_all()
        assert found(user.id, "initrode") == []
        assert found(user.id, "globex") == ["Dana Mulder"]

        db.session.delete(db.session.get(Contact, dana.id))
        db.session.commit()
        assert found(user.id, "dana") == found(user.id, "globex") == []


@both_databases
def test_rows_written_in_bulk_are_found_too(app, user):
    """Imports, restores and demo data insert rows without the ORM: triggers catch them."""
    with app.app_context():
        place = find_or_create_organisation(user.id, "Umbrella Logistics")
        ids = (
            db.session.execute(
                insert(Contact).returning(Contact.id, sort_by_parameter_order=True),
                [{"user_id": user.id, "name": f"Bulk Person {n}"} for n in range(30)],
            )
            .scalars()
            .all()
        )
        db.session.execute(
            insert(Position),
            [{"contact_id": i, "organisation_id": place.id, "title": "Courier"} for i in ids],
        )
        db.session.commit()
        assert len(found(user.id, "umbrella")) == 30
        assert len(found(user.id, "courier")) == 30
        assert found(user.id, "person 7") == ["Bulk Person 7"]


def test_many_matches_are_read_in_name_order_and_find_the_same(app, user, monkeypatch):
    """SQLite reads the name index and tests each document when a term matches many."""
    with app.app_context():
        for name, place, title in [
            ("Zed Abbott", "Hooli", "Engineer"),
            ("Amy Brook", "Hooli Labs", "Recruiter"),
            ("Bo Cheng", "Initech", "Hooli alumni lead"),
            ("Cy Dunn", "Initech", "Engineer"),
            ("Di Ekwe 100%", "Pied Piper", "Engineer"),
        ]:
            add(user.id, name, place, title)
        db.session.commit()
        terms = ("hooli", "engineer", "100%", "cy d", "zzz", 'pi"ed')
        few = {term: found(user.id, term) for term in terms}
        monkeypatch.setattr(contacts, "FEW", 1)
        many = {term: found(user.id, term) for term in terms}
    assert few == many
    assert many["hooli"] == ["Amy Brook", "Bo Cheng", "Zed Abbott"]
    assert many["engineer"] == ["Cy Dunn", "Di Ekwe 100%", "Zed Abbott"]
    assert many["100%"] == ["Di Ekwe 100%"] and many["zzz"] == many['pi"ed'] == []


def sqlite_plan(term: str, user_id: int) -> str:
    """SQLite's plan for a search, as text."""
    compiled = contacts_query(user_id, term).limit(51).compile(db.engine)
    rows = db.session.connection().exec_driver_sql(
        f"EXPLAIN QUERY PLAN {compiled}", tuple(compiled.params.values())
    )
    return "\n".join(row[-1] for row in rows)


def postgresql_plans(term: str) -> list[str]:
    """PostgreSQL's plan for each of the three ILIKE tests a search makes.

    On tables this small a sequential scan is cheaper, so it is turned off: what is
    checked is that the trigram index can serve the test at all.
    """
    connection = db.session.connection()
    connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
    plans = []
    for table, column in (("contact", "name"), ("position", "title"), ("organisation", "name")):
        rows = connection.exec_driver_sql(
            f'EXPLAIN SELECT id FROM "{table}" WHERE {column} ILIKE %s', (f"%{term}%",)
        )
        plans.append("\n".join(row[0] for row in rows))
    return plans


@both_databases
def test_the_search_reads_the_trigram_index(app, user):
    with app.app_context():
        add(user.id, "Dana Scully", "Acme", "Agent")
        db.session.commit()
        if db.engine.dialect.name == "sqlite":
            plan = sqlite_plan("scully", user.id)
            assert "VIRTUAL TABLE INDEX 0:M" in plan, plan
            assert "USING INTEGER PRIMARY KEY" in plan, plan
        else:
            plans = postgresql_plans("scully")
            indexes = (
                "ix_contact_name_trgm",
                "ix_position_title_trgm",
                "ix_organisation_name_trgm",
            )
            for plan, index in zip(plans, indexes, strict=True):
                assert f"Bitmap Index Scan on {index}" in plan, plan
        db.session.rollback()


@both_databases
def test_the_migrations_build_the_index(database_url, tmp_path):
    """Migrated rather than created: the FTS table and its triggers, or the GIN indexes."""
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "search-test-secret-" + "x" * 40,
            "SQLALCHEMY_DATABASE_URI": database_url,
            "INSTANCE_PATH": str(tmp_path / "instance"),
        }
    )
    with app.app_context():
        flask_migrate.upgrade()
        connection = db.session.connection()
        if connection.dialect.name == "sqlite":
            triggers = set(
                connection.exec_driver_sql(
                    "SELECT name FROM sqlite_master WHERE type = 'trigger'"
                ).scalars()
            )
            assert triggers >= {
                "contact_search_insert",
                "contact_search_rename",
                "contact_search_delete",
                "position_search_insert",
                "position_search_update",
                "position_search_delete",
                "organisation_search_rename",
            }
        else:
            indexes = {
                index["name"]
                for table in ("contact", "position", "organisation")
                for index in inspect(connection).get_indexes(table)
            }
            assert {
                "ix_contact_name_trgm",
                "ix_position_title_trgm",
                "ix_organisation_name_trgm",
            } <= indexes
        user_id = create_user("mulder@example.com", "correct horse battery staple", "UTC").id
        add(user_id, "Fox Mulder", "Federal Bureau", "Special Agent")
        db.session.commit()
        assert found(user_id, "bureau") == found(user_id, "special agent") == ["Fox Mulder"]
        db.session.remove()
        db.engine.dispose()
