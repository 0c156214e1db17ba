"""Pages kept whole (tracker/web/kept_pages.py): sent again, for the cost of reading the
user, while nothing they show has changed; after any change, a new day, another session
or a flash message, made afresh; never another session's or another user's."""

import re
from datetime import date, timedelta

import pytest
from scale_data import NOW, fill
from sqlalchemy import update
from test_queries import counting

from tracker import create_app
from tracker.db import db
from tracker.feed_changes import WATCHED_TABLES
from tracker.models import (
    Contact,
    FollowUp,
    FollowUpKind,
    Interaction,
    InteractionKind,
    Interview,
    Organisation,
    Participant,
    ParticipantRole,
    Position,
    User,
)
from tracker.web import kept_pages

KEPT = {
    "home": "/",
    "contacts list": "/contacts/",
    "contacts, page 2": "/contacts/?page=2",
    "contact search": "/contacts/?q=person",
    "organisations list": "/organisations/",
    "organisation page": "/organisations/{organisation}",
}
# Besides the watched tables, a kept page may read the user's own row: it is in the key.
READABLE = WATCHED_TABLES | {"user"}
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def filled(app, make_user, login):
    """A user with 3 of everything, logged in; the ids of their first rows."""
    app.config["NOW"] = NOW
    app.config["PER_PAGE"] = 2  # so that the contact list has a second page
    user = make_user("kept@example.com")
    ids = fill(app, user, 3)
    return user, login(user), ids


@pytest.fixture
def elsewhere(app):
    """Another process on the same database, with its own kept pages."""
    other = create_app({**app.config, "PAGE_CACHE_BYTES": 1024 * 1024})
    yield other
    with other.app_context():
        db.session.remove()
        db.engine.dispose()


def fresh(app, client, url: str) -> str:
    """The page as it is made now, with nothing kept."""
    kept_pages.init_app(app)
    return client.get(url).get_data(as_text=True)


def test_every_kept_page_is_tested_here(app):
    kept = {name for name, view in app.view_functions.items() if getattr(view, "kept_whole", 0)}
    adapter = app.url_map.bind("localhost")
    tested = {adapter.match(url.format(organisation=1).split("?")[0])[0] for url in KEPT.values()}
    assert kept == tested


@pytest.mark.parametrize("page", list(KEPT))
def test_a_kept_page_is_sent_again_for_one_read_of_the_user(app, filled, page):
    _, client, ids = filled
    url = KEPT[page].format(**ids)
    first = client.get(url)
    assert first.status_code == 200
    with counting(app) as statements:
        again = client.get(url)
    assert again.status_code == 200 and again.data == first.data
    assert again.content_type == first.content_type == "text/html; charset=utf-8"
    assert len(statements) == 1 and re.search(r'\bFROM "?user"?\s', statements[0]), statements


@pytest.mark.parametrize("page", list(KEPT))
def test_a_kept_page_reads_only_tables_whose_changes_move_its_key(app, filled, page):
    """Any other table could change under a kept page without it being made again."""
    _, client, ids = filled
    url = KEPT[page].format(**ids)
    kept_pages.init_app(app)
    with counting(app) as statements:
        assert client.get(url).status_code == 200
    assert len(statements) > 1  # made, not sent from the cache
    unwatched = set(db.metadata.tables) - READABLE
    for statement in statements:
        named = {t for t in unwatched if re.search(rf'(?<![\w."]){t}\b|"{t}"', statement)}
        assert not named, statement


def first_contact(ids):
    return db.session.get(Contact, ids["contact"])


CHANGES = {
    "a contact renamed": (
        "/contacts/",
        lambda ids, user: setattr(first_contact(ids), "name", "Aaron <Renamed>"),
        "Aaron &lt;Renamed&gt;",
    ),
    "a job title": (
        "/organisations/{organisation}",
        lambda ids, user: [
            setattr(p, "title", "Chief Tester") for p in first_contact(ids).positions
        ],
        "Chief Tester",
    ),
    "an organisation renamed": (
        "/organisations/{organisation}",
        lambda ids, user: setattr(
            db.session.get(Organisation, ids["organisation"]), "name", "Renamed Org"
        ),
        "Renamed Org",
    ),
    "a follow-up added": (
        "/",
        lambda ids, user: db.session.add(
            FollowUp(
                user_id=user.id,
                kind=FollowUpKind.MANUAL,
                generated=False,
                title="Call the new lead",
                due_on=NOW.date(),
            )
        ),
        "Call the new lead",
    ),
    "an interview's role": (
        "/",
        lambda ids, user: setattr(db.session.get(Interview, ids["interview"]), "role", "Staff"),
        ">Staff</a>",
    ),
    "an interaction logged": (
        "/organisations/{organisation}",
        lambda ids, user: db.session.add(
            Interaction(
                user_id=user.id,
                contact_id=ids["contact"],
                organisation_id=ids["organisation"],
                kind=InteractionKind.CALL,
                occurred_on=NOW.date(),
                note="Met for coffee",
            )
        ),
        "Met for coffee",
    ),
    "a participant's role": (
        "/organisations/{organisation}",
        lambda ids, user: [
            setattr(p, "role", ParticipantRole.HIRING_MANAGER)
            for p in db.session.execute(
                db.select(Participant).filter_by(interview_id=ids["interview"])
            ).scalars()
        ],
        "Hiring manager at the",
    ),
    "a bulk update": (
        "/contacts/?q=person",
        lambda ids, user: db.session.execute(
            update(Contact).where(Contact.id == ids["contact"]).values(name="Person 000 Bulk")
        ),
        "Person 000 Bulk",
    ),
    "the user's own row": (
        "/contacts/",
        lambda ids, user: setattr(db.session.get(User, user.id), "email", "moved@example.com"),
        "Signed in as moved@example.com",
    ),
}


@pytest.mark.parametrize("change", list(CHANGES))
def test_a_change_made_in_another_process_is_shown_at_once(app, filled, elsewhere, change):
    user, client, ids = filled
    url, make, shown = CHANGES[change]
    url = url.format(**ids)
    before = client.get(url).get_data(as_text=True)
    assert shown not in before
    with elsewhere.app_context():
        make(ids, user)
        db.session.commit()
    after = client.get(url).get_data(as_text=True)
    assert shown in after
    assert after == fresh(app, client, url)


def test_the_next_day_makes_the_home_page_again(app, filled, login):
    user, _, _ = filled
    app.config["NOW"] = NOW.replace(hour=23, minute=50)
    client = login(user, as_client=app.test_client())  # still open at ten past midnight
    today = client.get("/").get_data(as_text=True)
    app.config["NOW"] = NOW.replace(hour=0, minute=10) + timedelta(days=1)
    tomorrow = client.get("/").get_data(as_text=True)
    assert tomorrow != today
    assert tomorrow == fresh(app, client, "/")
    assert "due today" in today and "1 day overdue" in tomorrow


def test_each_session_gets_its_own_forms(app, filled, login):
    user, client, _ = filled
    first = client.get("/").get_data(as_text=True)
    other = login(user, as_client=app.test_client())
    second = other.get("/").get_data(as_text=True)
    [mine] = set(TOKEN.findall(first))
    [theirs] = set(TOKEN.findall(second))
    assert mine != theirs
    with counting(app) as statements:  # each session's page is still kept
        assert set(TOKEN.findall(client.get("/").get_data(as_text=True))) == {mine}
        assert set(TOKEN.findall(other.get("/").get_data(as_text=True))) == {theirs}
    assert len(statements) == 2, statements  # the user, read for each


def test_a_flash_message_is_shown_once_and_never_kept(app, filled):
    _, client, _ = filled
    plain = client.get("/contacts/").get_data(as_text=True)
    with client.session_transaction() as session:
        session["_flashes"] = [("success", "Contact saved.")]
    flashed = client.get("/contacts/").get_data(as_text=True)
    assert "Contact saved." in flashed and "Contact saved." not in plain
    again = client.get("/contacts/").get_data(as_text=True)
    assert "Contact saved." not in again and again == plain


def test_another_user_never_sees_a_kept_page(app, filled, make_user, login):
    _, client, ids = filled
    url = f"/organisations/{ids['organisation']}"
    assert client.get(url).status_code == 200 and client.get("/").status_code == 200
    intruder = login(make_user("other@example.com"), as_client=app.test_client())
    assert intruder.get(url).status_code == 404
    home = intruder.get("/").get_data(as_text=True)
    assert "Org 00" not in home and "Signed in as other@example.com" in home
    assert client.get(url).status_code == 200  # the owner's kept page is still there


def test_a_page_that_is_not_found_is_not_kept(app, filled):
    _, client, _ = filled
    for _ in range(2):
        with counting(app) as statements:
            assert client.get("/organisations/999999").status_code == 404
        assert any("FROM organisation" in s for s in statements), statements


def test_an_expired_session_is_never_sent_a_kept_page(app, filled):
    _, client, _ = filled
    assert client.get("/contacts/").status_code == 200
    app.config["NOW"] = NOW + timedelta(minutes=app.config["SESSION_IDLE_MINUTES"] + 1)
    response = client.get("/contacts/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_signed_out_visitor_is_never_sent_a_kept_page(app, filled):
    _, client, _ = filled
    assert "Signed in as" in client.get("/").get_data(as_text=True)
    visitor = app.test_client()
    welcome = visitor.get("/").get_data(as_text=True)
    assert "Signed in as" not in welcome
    assert visitor.get("/contacts/").status_code == 302


def test_a_position_moves_only_its_owners_version(app, filled, make_user):
    user, _, ids = filled
    other = make_user("bystander@example.com")

    def versions() -> tuple[int, int]:
        with app.app_context():
            return tuple(db.session.get(User, u.id).feed_version for u in (user, other))

    start = versions()
    with app.app_context():
        contact = first_contact(ids)
        contact.positions[0].ended_on = date(2026, 11, 1)
        db.session.commit()
    moved = versions()
    assert moved[0] > start[0] and moved[1] == start[1]
    with app.app_context():
        db.session.add(
            Position(contact_id=ids["contact"], organisation_id=ids["organisation"], title="New")
        )
        db.session.commit()
    assert versions()[0] > moved[0]


def test_the_cache_holds_no_more_than_its_limit(app, filled):
    _, client, ids = filled
    app.config["PAGE_CACHE_BYTES"] = 1
    kept_pages.init_app(app)
    assert client.get("/").status_code == 200
    assert not app.extensions[kept_pages.CACHE].entries
