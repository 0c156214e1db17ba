"""Contact search through trigram indexes: kept current by every write, and used.

tests/test_contacts.py holds what a search finds; these tests hold that the index behind
it follows every way a contact, a job or an organisation changes, that every plan of
either database finds the same people in the same order, page after page, and that the
database really searches the index (and reads in name order when many match, unless
they all sort late: then it collects and sorts them).
"""

import re
from datetime import date

import flask_migrate
import pytest
from sqlalchemy import event, insert, inspect

from tracker import contacts, create_app
from tracker.accounts import create_user
from tracker.contacts import contacts_query, record_move
from tracker.db import db
from tracker.models import Contact, Organisation, Position
from tracker.organisations import find_or_create_organisation, rename_organisation
from tracker.search import TABLE

both_databases = pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
TODAY = date(2026, 11, 21)


def found(user_id: int, term: str) -> list[str]:
    return [c.name for c in db.session.execute(contacts_query(user_id, term)).all()]


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


def assert_planned_per_call(connection) -> None:
    """A bulk load stays linear: the document writer's plan is never one cached while the
    tables were small (a whole-table scan for every row written)."""
    settings = connection.exec_driver_sql(
        "SELECT proconfig FROM pg_proc WHERE oid = 'contact_search_write'::regproc"
    ).scalar_one()
    assert "plan_cache_mode=force_custom_plan" in (settings or [])


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_the_created_schema_plans_the_document_writer_per_call(app):
    with app.app_context():
        assert_planned_per_call(db.session.connection())


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
        # Every term that matches counts as many, and its first page as found early.
        monkeypatch.setattr(contacts, "FEW", 0)
        monkeypatch.setattr(contacts, "PAGE", 0)
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


def postgresql_plan(term: str, user_id: int, **settings: str) -> str:
    """PostgreSQL's plan for the first page of a search, with planner `settings` if any."""
    connection = db.session.connection()
    for name, value in settings.items():
        connection.exec_driver_sql(f"SET LOCAL {name} = {value}")
    compiled = contacts_query(user_id, term).limit(51).compile(db.engine)
    rows = connection.exec_driver_sql(f"EXPLAIN {compiled}", compiled.params)
    return "\n".join(row[0] for row in rows)


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
            # On a table this small any other way is cheaper, so they are turned off:
            # what is checked is that the trigram index can serve the search's test at
            # all (which way PostgreSQL takes on real data is checked further down).
            connection = db.session.connection()
            connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
            connection.exec_driver_sql("SET LOCAL enable_indexscan = off")
            rows = connection.exec_driver_sql(
                f"EXPLAIN SELECT contact_id FROM {TABLE} WHERE document ILIKE %s", ("%scully%",)
            )
            plan = "\n".join(row[0] for row in rows)
            assert "Bitmap Index Scan on contact_search_document_trgm" in plan, plan
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
            indexes = {index["name"] for index in inspect(connection).get_indexes(TABLE)}
            assert indexes >= {"contact_search_user_name", "contact_search_document_trgm"}
            triggers = set(
                connection.exec_driver_sql(
                    "SELECT tgrelid::regclass::text || ' ' || tgname FROM pg_trigger "
                    "WHERE tgfoid = 'contact_search_refresh'::regproc"
                ).scalars()
            )
            assert triggers == {
                "contact contact_search_contact",
                '"position" contact_search_position',
                "organisation contact_search_organisation",
            }
            assert_planned_per_call(connection)
        user_id = create_user("mulder@example.com", "correct horse battery staple", "UTC").id
        add(user_id, "Fox Mulder", "Federal Bureau", "Special Agent")
        db.session.commit()
        assert found(user_id, "bureau") == found(user_id, "special agent") == ["Fox Mulder"]
        db.session.remove()
        db.engine.dispose()


# --- Pages of results, and PostgreSQL's two plans --------------------------------------

FIRST = ("Ada", "Ben", "Cy", "Dee", "Eve")
LAST = ("Abbott", "Northam", "Stone", "Tanaka", "Zhu", "Ward", "Orr")
PLACES = ("Northwind Traders", "Globex", "Initech")


def many_people(user_id: int) -> dict[int, str]:
    """40 people with names that repeat (ties go by id), jobs, and some former jobs.

    Returns each one's document as the search sees it: name, titles, organisations.
    """
    documents = {}
    for n in range(40):
        name = f"{FIRST[n % 5]} {LAST[n % 7]}"
        place, title = PLACES[n % 3], "Northwind liaison" if n % 11 == 0 else "Engineer"
        contact = add(user_id, name, place, title)
        jobs = [title, place]
        if n % 6 == 0:
            record_move(contact, "Hooli", "Head of Sales", None, TODAY)
            jobs += ["Head of Sales", "Hooli"]
        documents[contact.id] = "\n".join([name, *jobs])
    db.session.commit()
    return documents


def expected(documents: dict[int, str], term: str, names: dict[int, str]) -> list[int]:
    """The ids a search must show, in the list's order: by name, then by id."""
    matching = [i for i, document in documents.items() if term.lower() in document.lower()]
    return sorted(matching, key=lambda i: (names[i], i))


# Many (several pages), a handful (two pages), one page, nothing; short terms scan.
TERMS = ("northwind", "north", "hooli", "tanaka", "sales", "zzz", "ad", "e")


@both_databases
def test_every_page_of_a_search_shows_the_right_people_in_order(app, user, login):
    """Next and previous links walk the same list, by name then id, on either database."""
    app.config["PER_PAGE"] = 4
    with app.app_context():
        documents = many_people(user.id)
        names = {i: document.split("\n", 1)[0] for i, document in documents.items()}
    client = login(user, as_client=app.test_client())
    listed = re.compile(r'class="title" href="/contacts/(\d+)"')
    for term in TERMS:
        wanted = expected(documents, term, names)
        pages, url = [], f"/contacts/?q={term}"
        while url:  # forwards, by the Next links
            html = client.get(url.replace("&amp;", "&")).get_data(as_text=True)
            pages.append([int(i) for i in listed.findall(html)])
            url = (re.search(r'href="([^"]+)" rel="next"', html) or [None, None])[1]
        assert [i for page in pages for i in page] == wanted, term
        assert len(pages) == max(1, -(-len(wanted) // 4)), term
        for number in range(len(pages), 1, -1):  # and back, by the Previous links
            html = client.get(f"/contacts/?q={term}&page={number}").get_data(as_text=True)
            back = re.search(r'href="([^"]+)" rel="prev"', html)[1].replace("&amp;", "&")
            html = client.get(back).get_data(as_text=True)
            assert [int(i) for i in listed.findall(html)] == pages[number - 2], term
    assert len(expected(documents, "northwind", names)) > 12  # several pages of them
    assert 0 < len(expected(documents, "hooli", names)) <= 8


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
@pytest.mark.parametrize("probe", [1000, 6], ids=["all within the probe", "beyond the probe"])
def test_sqlite_reads_a_first_page_found_by_the_probe_only_once(
    app, user, login, monkeypatch, probe
):
    """Every term counts as many: the probe of the first names runs. When it finds the
    whole first page, that page is looked up by id, not read in name order again; later
    pages, and first pages the probe could not fill, read in name order or collect. Every
    way, every page shows the right people in order."""
    app.config["PER_PAGE"] = 4
    monkeypatch.setattr(contacts, "FEW", 0)
    monkeypatch.setattr(contacts, "PAGE", 2)
    monkeypatch.setattr(contacts, "PROBE", probe)
    with app.app_context():
        documents = many_people(user.id)
        names = {i: document.split("\n", 1)[0] for i, document in documents.items()}
        engine = db.engine
    client = login(user, as_client=app.test_client())
    listed = re.compile(r'class="title" href="/contacts/(\d+)"')
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        for term in ("northwind", "north", "hooli", "tanaka", "sales", "zzz"):
            wanted = expected(documents, term, names)
            shown = []
            for number in range(1, max(1, -(-len(wanted) // 4)) + 1):
                statements.clear()
                html = client.get(f"/contacts/?q={term}&page={number}").get_data(as_text=True)
                shown += [int(i) for i in listed.findall(html)]
                tests = sum(statement.count("contact_search.document") for statement in statements)
                if number == 1 and probe == 1000 and len(wanted) >= 5:
                    assert tests == 1, (term, statements)  # the probe's, and nothing again
            assert shown == wanted, term
    finally:
        event.remove(engine, "before_cursor_execute", record)


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_every_postgresql_plan_finds_the_same_people_in_the_same_order(app, user, monkeypatch):
    """Reading in name order, or collecting the matches and sorting them, as the planner
    chooses or as tracker.contacts forces when they sort late: the same list."""
    walk = {"enable_bitmapscan": "off", "enable_seqscan": "off", "enable_sort": "off"}
    collect = {"enable_indexscan": "off"}
    with app.app_context():
        documents = many_people(user.id)
        names = {i: document.split("\n", 1)[0] for i, document in documents.items()}
        for term in TERMS:
            found = {}
            for way, settings, page in (
                ("walk", walk, 0),
                ("collect", collect, 0),
                ("late", {}, 10**9),  # never a page among the first names: collected
            ):
                monkeypatch.setattr(contacts, "PAGE", page)
                plan = postgresql_plan(term, user.id, **settings)
                if way == "walk":
                    assert "Index Scan using contact_search_user_name" in plan, plan
                    assert "Sort" not in plan, plan
                elif way == "collect" or len(term) < 3:  # too short to collect
                    assert "Sort Key: contact_search.name" in plan, plan
                else:
                    assert "CTE Scan on hits" in plan and "Sort Key: hits.name" in plan, plan
                query = contacts_query(user.id, term)
                found[way] = [c.id for c in db.session.execute(query).all()]
                db.session.rollback()
            wanted = expected(documents, term, names)
            assert found["walk"] == found["collect"] == found["late"] == wanted, term


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_postgresql_reads_in_name_order_when_many_match(app, user):
    """A term half the people match: the first page is read from the (user, name) index,
    not collected and sorted. A rare one: from the trigram index."""
    with app.app_context():
        places = [find_or_create_organisation(user.id, n).id for n in ("Northwind", "Globex")]
        ids = (
            db.session.execute(
                insert(Contact).returning(Contact.id, sort_by_parameter_order=True),
                [{"user_id": user.id, "name": f"Person {n:04d}"} for n in range(2000)],
            )
            .scalars()
            .all()
        )
        db.session.execute(
            insert(Position),
            [
                {"contact_id": i, "organisation_id": places[n % 2], "title": "Engineer"}
                for n, i in enumerate(ids)
            ],
        )
        add(user.id, "Quincy Zephyr", "Globex", "Engineer")
        db.session.commit()
        # What autovacuum does soon after a bulk insert: statistics, and the trigram
        # index's list of pending entries merged in.
        connection = db.session.connection()
        connection.exec_driver_sql(f"ANALYZE contact, {TABLE}")
        connection.exec_driver_sql("SELECT gin_clean_pending_list('contact_search_document_trgm')")
        db.session.commit()

        many = postgresql_plan("northwind", user.id)
        assert "Index Scan using contact_search_user_name" in many, many
        assert "Sort" not in many, many
        few = postgresql_plan("zephyr", user.id)
        assert "Bitmap Index Scan on contact_search_document_trgm" in few, few
        db.session.rollback()
        assert len(list(db.session.execute(contacts_query(user.id, "northwind")).scalars())) == 1000
        assert found(user.id, "zephyr") == ["Quincy Zephyr"]


@both_databases
def test_matches_that_sort_late_are_collected_not_read_in_name_order(app, user):
    """Many matches, all after 2,200 names that do not match ("zoe" in a large account):
    read in name order, every one of those names would be read before the first match.
    They are collected through the trigram index and sorted. Matches spread from the
    first names on are still read in name order: a page of them comes within the first
    names read. On SQLite a term too short for a trigram is found by scanning the
    documents instead."""
    with app.app_context():
        rows = [{"user_id": user.id, "name": f"Aaron Early {n:04d}"} for n in range(2200)]
        rows += [{"user_id": user.id, "name": f"Zoe Late {n:04d}"} for n in range(2100)]
        db.session.execute(insert(Contact), rows)  # more than FEW match either term
        db.session.commit()
        if db.engine.dialect.name == "sqlite":
            late = sqlite_plan("zoe", user.id)
            assert "VIRTUAL TABLE INDEX 0:M" in late, late  # the matches, by MATCH
            assert "USE TEMP B-TREE FOR ORDER BY" in late, late  # sorted, not read in order
            early = sqlite_plan("early", user.id)
            assert "INDEX ix_contact_user_name" in early, early  # read in name order
            assert "TEMP B-TREE" not in early, early
            # Too short for a trigram: every document scanned once, the matches sorted.
            short = sqlite_plan("zo", user.id)
            assert "SCAN contact_search VIRTUAL TABLE" in short, short
            assert "USE TEMP B-TREE FOR ORDER BY" in short, short
            assert "ix_contact_user_name" not in short, short
        else:
            connection = db.session.connection()
            connection.exec_driver_sql(f"ANALYZE contact, {TABLE}")
            connection.exec_driver_sql(
                "SELECT gin_clean_pending_list('contact_search_document_trgm')"
            )
            db.session.commit()
            late = postgresql_plan("zoe", user.id)
            assert "contact_search_user_name" not in late, late
            assert "CTE Scan on hits" in late and "Sort Key: hits.name" in late, late
            early = postgresql_plan("early", user.id)
            assert "Index Scan using contact_search_user_name" in early, early
            assert "Sort" not in early, early
            db.session.rollback()
        names = found(user.id, "zoe")
        assert names == found(user.id, "zo") == [f"Zoe Late {n:04d}" for n in range(2100)]
        assert found(user.id, "early")[:2] == ["Aaron Early 0000", "Aaron Early 0001"]


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_small_accounts_search_reads_its_own_names_not_a_large_accounts_matches(
    app, user, make_user
):
    """Another account matches "northwind" thousands of times, this one 30 times among
    60 people: fewer than a page, so no probe finds one. SQLite's index holds both
    accounts' documents: collecting the matches would read the large account's too. The
    small account is read in name order instead, and finds only its own people."""
    large = make_user("large@example.com")
    with app.app_context():
        place = find_or_create_organisation(large.id, "Northwind").id
        ids = (
            db.session.execute(
                insert(Contact).returning(Contact.id, sort_by_parameter_order=True),
                [{"user_id": large.id, "name": f"Large {n:04d}"} for n in range(contacts.FEW + 1)],
            )
            .scalars()
            .all()
        )
        db.session.execute(
            insert(Position), [{"contact_id": i, "organisation_id": place} for i in ids]
        )
        for n in range(60):
            add(user.id, f"Small {n:02d}", "Northwind Traders" if n % 2 else "Globex")
        db.session.commit()
        plan = sqlite_plan("northwind", user.id)
        assert "INDEX ix_contact_user_name" in plan, plan  # this account's names, in order
        assert "TEMP B-TREE" not in plan, plan  # not collected and sorted
        assert found(user.id, "northwind") == [f"Small {n:02d}" for n in range(1, 60, 2)]
