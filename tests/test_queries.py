"""No page runs a query per row: the statements a page runs do not grow with its rows.

Two users have the same kinds of data, one with 5 rows of everything a page lists and
one with 50; every page is fetched for each of them and the SQL statements it sends are
counted (SQLAlchemy's before_cursor_execute). A page whose count depends on the number
of rows has a query in a loop, most often a lazy relationship read from a template.
"""

import re
from contextlib import contextmanager

import pytest
from scale_data import NOW, fill
from sqlalchemy import event

from tracker.counts import Counts
from tracker.db import db
from tracker.models import Contact, FollowUp, FollowUpStatus, User
from tracker.web import kept_pages

SMALL, LARGE = 5, 50
# Generous: a page needs a handful of queries; this catches one that needs dozens.
MOST = 25


@pytest.fixture(autouse=True)
def _setup(app, monkeypatch):
    app.config["NOW"] = NOW
    # What making each page costs: none is kept whole (tests/test_kept_pages.py).
    app.config["PAGE_CACHE_BYTES"] = 0
    kept_pages.init_app(app)


PAGES = {
    "home": "/",
    "a whole section of the home page": "/follow-ups/?section=later",
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


def test_the_home_page_reads_every_sections_context_in_one_go(app, two_accounts):
    """Topics and last notes for all four sections together, with their follow-ups: not
    once per section, nor in statements of their own."""
    _, (large, _ids) = two_accounts
    statements = statements_for(app, large, "/")
    topics = [s for s in statements if s.startswith("SELECT") and "participant.topics" in s]
    notes = [s for s in statements if s.startswith("SELECT") and "interaction.note" in s]
    assert len(topics) == len(notes) == 1, "\n\n".join(statements)
    assert topics == notes and "UNION ALL" in topics[0], "\n\n".join(statements)


def test_the_organisation_page_counts_from_what_it_has_read(app, two_accounts):
    """Its interviews, people and last contact come from the lists it shows: no counting."""
    _, (large, ids) = two_accounts
    statements = statements_for(app, large, f"/organisations/{ids['organisation']}")
    assert not [s for s in statements if "GROUP BY" in s], "\n\n".join(statements)


def test_the_contacts_list_reads_only_what_it_shows(app, two_accounts):
    """Names and jobs: not the notes, addresses or timestamps of 50 people and employers."""
    _, (large, _ids) = two_accounts
    statements = "\n".join(statements_for(app, large, "/contacts/"))
    for column in ("contact.notes", "contact.email", "contact.created_at", "organisation.notes"):
        assert column not in statements, statements


LISTS = [
    "home",
    "a whole section of the home page",
    "contacts list",
    "contacts, page 2",
    "contact search",
    "organisation page",
    "contact page",
]


@pytest.mark.parametrize("page", LISTS)
def test_a_lists_row_count_is_written_into_its_sql(app, two_accounts, page):
    """PostgreSQL plans a prepared statement once for every value of its parameters, and
    a LIMIT it cannot see as if for a tenth of the table: each LIMIT is in the SQL."""
    _, (large, ids) = two_accounts
    statements = statements_for(app, large, PAGES[page].format(**ids))
    limits = [value for s in statements for value in re.findall(r"\bLIMIT (\S+)", s)]
    assert limits, "\n\n".join(statements)
    if page != "contact search":  # its full-text SQL names its limits (tracker/search.py)
        assert all(value.rstrip(")").isdigit() for value in limits), "\n\n".join(statements)
    if page == "contacts, page 2":
        assert any(re.search(r"\bLIMIT 51 OFFSET 50\b", s) for s in statements), statements


def badge(html: str) -> str:
    found = re.search(r'<span class="badge" aria-label="([^"]+) due">', html)
    return found.group(1) if found else "0"


def test_the_badge_and_the_contacts_count_are_counted_again_only_after_a_change(app, two_accounts):
    """Kept per process under the user's feed_version (tracker/counts.py): a page view
    without a change runs neither count, and any change, made through the app or the ORM
    anywhere, counts again."""
    _, (large, _ids) = two_accounts
    due_before = badge(large.get("/").get_data(as_text=True))
    assert due_before != "0"
    again = statements_for(app, large, "/contacts/")
    assert not [s for s in again if "count(" in s], "\n\n".join(again)

    # Done with one due follow-up, from another session: one fewer due.
    with app.app_context():
        user = db.session.execute(
            db.select(User).where(User.email == f"rows{LARGE}@example.com")
        ).scalar_one()
        follow_up = db.session.execute(
            db.select(FollowUp)
            .where(FollowUp.user_id == user.id, FollowUp.status == FollowUpStatus.OPEN)
            .where(FollowUp.due_on <= NOW.date())
            .limit(1)
        ).scalar_one()
        follow_up.status = FollowUpStatus.DONE
        db.session.add(Contact(user_id=user.id, name="Newly Added"))
        db.session.commit()
    with counting(app) as statements:
        html = large.get("/contacts/").get_data(as_text=True)
    assert len([s for s in statements if "count(" in s]) == 2, "\n\n".join(statements)
    assert due_before.isdigit() and badge(html) == str(int(due_before) - 1)
    assert "Newly Added" in large.get("/contacts/?q=newly").get_data(as_text=True)


def test_kept_counts_are_bounded():
    kept = Counts(limit=2)
    calls: list[str] = []

    def count(key: str) -> int:
        calls.append(key)
        return len(calls)

    found = [kept.kept(k, 0, lambda k=k: count(k)) for k in ("a", "b", "a", "c", "b")]
    assert found == [1, 2, 1, 3, 4]
    assert calls == ["a", "b", "c", "b"]  # "b" was the least recently used when "c" came


def test_a_new_version_replaces_the_count_kept_for_the_old_one():
    kept = Counts()
    assert kept.kept(("due", 1), (1, "2026-11-21"), lambda: 5) == 5
    assert kept.kept(("due", 1), (2, "2026-11-21"), lambda: 4) == 4
    assert kept.kept(("due", 1), (2, "2026-11-21"), lambda: 99) == 4
    assert len(kept.entries) == 1
