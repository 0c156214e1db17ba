"""Every list page is served by indexes: no statement it runs reads a whole table.

Each page is fetched once while its SQL statements are recorded; each statement is then
explained with the same parameters. SQLite must SEARCH every table through an index (a
SCAN of a table is a full read); PostgreSQL, told to avoid sequential scans, must find
an index for every table (it still scans sequentially when no index can serve).
"""

import re

import pytest
from helpers import add_organisations
from scale_data import NOW, fill
from sqlalchemy import event

from tracker.db import db

PAGES = {
    "home": "/",
    "a whole section of the home page": "/follow-ups/?section=overdue",
    "contacts list": "/contacts/",
    "contacts, page 2": "/contacts/?page=2",
    "contact search": "/contacts/?q=person",
    "organisations list": "/organisations/",
    "organisation page": "/organisations/{organisation}",
    "contact page": "/contacts/{contact}",
    "interview page": "/interviews/{interview}",
    "delivery page": "/delivery/",
}
# SQLite's ways of reading a whole table (or the whole of one of its indexes).
SQLITE_FULL_SCAN = re.compile(r"^SCAN (\w+)(?: USING (?:COVERING )?INDEX \w+)?$")
# Tables that stay a few rows long whatever the data: one row per scheduled job.
BOUNDED = {"job_run"}


def reads_a_whole_table(line: str) -> bool:
    """An SQLite plan line that reads a whole table of ours (not a subquery's rows)."""
    match = SQLITE_FULL_SCAN.match(line)
    return bool(match) and match.group(1) in db.metadata.tables and match.group(1) not in BOUNDED


@pytest.fixture(autouse=True)
def _setup(app, monkeypatch):
    app.config["NOW"] = NOW


def recorded(app, client, url: str) -> list[tuple[str, object]]:
    """The SELECT statements a page runs, with their parameters."""
    statements = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            statements.append((statement, parameters))

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        assert client.get(url).status_code == 200, url
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return statements


def full_reads(app, statements: list[tuple[str, object]]) -> list[str]:
    """The statements whose plan reads a whole table, with that plan."""
    found = []
    with app.app_context():
        connection = db.session.connection()
        sqlite = connection.dialect.name == "sqlite"
        if not sqlite:
            connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
        for statement, parameters in statements:
            if sqlite:
                rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
                plan = [row[-1] for row in rows]
                bad = [line for line in plan if reads_a_whole_table(line)]
            else:
                rows = connection.exec_driver_sql(f"EXPLAIN {statement}", parameters)
                plan = [row[0] for row in rows]
                bad = [
                    line
                    for line in plan
                    if "Seq Scan" in line and not any(f"on {t}" in line for t in BOUNDED)
                ]
            if bad:
                found.append(statement + "\n" + "\n".join(plan))
        db.session.rollback()
    return found


@pytest.fixture
def account(app, make_user, login):
    user = make_user()
    ids = fill(app, user, 30)
    return login(user, as_client=app.test_client()), ids


@pytest.mark.parametrize("page", list(PAGES))
def test_every_statement_of_a_list_page_is_served_by_an_index(app, account, page):
    client, ids = account
    statements = recorded(app, client, PAGES[page].format(**ids))
    assert statements
    assert full_reads(app, statements) == []


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
@pytest.mark.parametrize("page", ["home", "contacts list"])
def test_with_real_statistics_organisations_are_looked_up_not_read_whole(
    app, account, make_user, page
):
    """Beside another account of 3,000 organisations, and with the statistics autovacuum
    keeps, PostgreSQL still looks up the few organisations a page names, by id, instead
    of reading (and hashing) every account's organisations: the cost of naming them must
    not grow with what other accounts hold."""
    client, ids = account
    other = make_user("other@example.com")
    add_organisations(app, other, [f"Other {n}" for n in range(3000)])
    with app.app_context():
        db.session.connection().exec_driver_sql("ANALYZE")
        db.session.commit()
    statements = recorded(app, client, PAGES[page].format(**ids))
    with app.app_context():
        connection = db.session.connection()
        for statement, parameters in statements:
            plan = "\n".join(
                row[0] for row in connection.exec_driver_sql(f"EXPLAIN {statement}", parameters)
            )
            assert "Seq Scan on organisation" not in plan, statement + "\n" + plan
        db.session.rollback()


def test_the_contacts_list_reads_a_page_in_order_without_sorting(app, account):
    """The list is in (name, id) order, and the user's index holds it: a page is read
    from the index in order, never sorted (PostgreSQL sorted every run of equal names
    when the index ended at the name). SQLite reads the page from the index in order
    too, and then sorts the page's own rows once joined to their jobs."""
    client, _ids = account
    statements = recorded(app, client, "/contacts/?page=2")
    listed = [(s, p) for s, p in statements if "ORDER BY" in s and "contact.name" in s]
    assert listed, statements
    with app.app_context():
        connection = db.session.connection()
        for statement, parameters in listed:
            if connection.dialect.name == "sqlite":
                rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
                plan = "\n".join(row[-1] for row in rows)
                assert re.search(
                    r"SEARCH contact USING (COVERING )?INDEX ix_contact_user_name", plan
                ), plan
            else:
                connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
                rows = connection.exec_driver_sql(f"EXPLAIN {statement}", parameters)
                plan = "\n".join(row[0] for row in rows)
                assert "ix_contact_user_name" in plan, plan
                # (Each contact's jobs are still sorted to find the current one.)
                assert not re.search(r"Sort Key: \(?(contact|page)\.name", plan), plan
                assert "Incremental Sort" not in plan, statement + "\n" + plan
        db.session.rollback()
