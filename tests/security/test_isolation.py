"""Another user's rows: 404 on every route and method, never listed, never assignable."""

import pytest

from tracker.db import db
from tracker.models import Contact, Interview, Organisation, Position, User

from .walk import PAYLOAD, app_rules, fetch, fill, route_params, snapshot

SEARCHES = ("Zebra", "Ann", "ann@example.com", "notes of ann", "a", "%", "_")


@pytest.fixture
def ann(make_owner):
    return make_owner("ann", "Zebra Labs")


@pytest.fixture
def bob(make_owner):
    return make_owner("bob", "Yak Industries")


def with_ids(app, method: str) -> list:
    return [rule for rule in app_rules(app, method) if any(route_params(rule).values())]


def shows_any(page: str, markers) -> list[str]:
    return [marker for marker in markers if marker in page]


def test_another_users_ids_give_404_on_every_route_and_change_nothing(app, ann, bob):
    before = snapshot(app)
    walked = 0
    for method in ("GET", "POST"):
        for rule in with_ids(app, method):
            url = fill(rule, ann.ids)
            if method == "GET":
                response = fetch(bob.client, "GET", url)
            else:
                response = fetch(bob.client, "POST", url, data=dict(PAYLOAD))  # valid CSRF token
            page = response.get_data(as_text=True)
            assert response.status_code == 404, (method, url, response.status_code)
            assert "Not found" in page
            assert not shows_any(page, ann.markers), (method, url)
            assert snapshot(app) == before, f"{method} {url} changed the database"
            walked += 1
    assert walked >= 16
    # Bob is still logged in and his own pages work: the 404s were about ownership.
    assert bob.client.get(f"/interviews/{bob.ids['interview_id']}").status_code == 200


def test_a_foreign_id_and_a_missing_id_look_the_same(app, ann, bob):
    for rule in with_ids(app, "GET"):
        foreign = fetch(bob.client, "GET", fill(rule, ann.ids))
        missing = fetch(bob.client, "GET", fill(rule, dict.fromkeys(ann.ids, 987654)))
        assert foreign.status_code == missing.status_code == 404
        assert len(foreign.get_data()) == len(missing.get_data()), rule.rule


def test_ids_in_query_parameters_are_checked_too(app, ann, bob):
    before = snapshot(app)
    query = {
        "organisation": ann.ids["organisation_id"],
        "contact": ann.ids["contact_id"],
        "interview": ann.ids["interview_id"],
    }
    for rule in app_rules(app, "GET"):
        if any(route_params(rule).values()):
            continue
        url = fill(rule, bob.ids)
        response = fetch(bob.client, "GET", url, query_string=query)
        assert response.status_code in (200, 302, 404), (url, response.status_code)
        assert not shows_any(response.get_data(as_text=True), ann.markers), url
    assert bob.client.get("/interviews/new", query_string=query).status_code == 404
    assert snapshot(app) == before


def test_lists_and_searches_never_show_another_users_rows(app, ann, bob):
    walked = 0
    for rule in app_rules(app, "GET"):
        url = fill(rule, bob.ids)
        for search in (None, *SEARCHES):
            query = {"q": search, "page": "1"} if search else None
            response = fetch(bob.client, "GET", url, query_string=query)
            assert response.status_code < 500, url
            page = response.get_data(as_text=True)
            # The search box shows what was searched for; that echo is no leak.
            markers = [marker for marker in ann.markers if marker not in (search or "")]
            assert not shows_any(page, markers), (url, search, shows_any(page, markers))
            walked += 1
    assert walked > 50
    # Ann does see her own, so the markers are the right things to look for.
    page = ann.client.get("/contacts/", query_string={"q": "Zebra"}).get_data(as_text=True)
    assert "Ann Contactperson" in page
    page = bob.client.get("/contacts/", query_string={"q": "Yak"}).get_data(as_text=True)
    assert "Bob Contactperson" in page


def test_the_met_before_picker_offers_only_your_own_people(app, ann, bob):
    response = bob.client.post(
        "/interviews/new",
        data={
            "organisation": "Zebra Labs",  # Ann's organisation's name
            "role": "Engineer",
            "held_on": "2026-11-21",
            "stage": "onsite",
            "outcome": "pending",
            "interest": "3",
            "people-0-contact_id": "0",
            "add_person": "Add another person",
        },
    )
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Ann Contactperson" not in page
    assert f'value="{ann.ids["contact_id"]}"' not in page


def test_another_users_contact_cannot_be_linked_to_an_interview(app, ann, bob):
    before = snapshot(app)
    url = f"/interviews/{bob.ids['interview_id']}/edit"
    response = bob.client.post(
        url,
        data={
            "organisation": "Yak Industries",
            "role": "Bob Role",
            "held_on": "2026-11-20",
            "stage": "onsite",
            "outcome": "pending",
            "interest": "4",
            "people-0-contact_id": str(ann.ids["contact_id"]),
            "people-0-name": "",
            "people-0-role": "interviewer",
        },
    )
    assert response.status_code == 400
    assert snapshot(app) == before


def owned_by(app, model, row_id: int) -> int:
    with app.app_context():
        return db.session.get(model, row_id).user_id


def rows_of(app, user_id: int) -> dict[str, list]:
    """Every row that carries the user's id, table by table."""
    with app.app_context():
        return {
            table.name: sorted(
                map(tuple, db.session.execute(table.select().where(table.c.user_id == user_id))),
                key=repr,
            )
            for table in db.metadata.sorted_tables
            if "user_id" in table.c
        }


def smuggled(ann) -> dict:
    """Fields no form has, pointing at Ann."""
    return {
        "user_id": str(ann.user.id),
        "owner_id": str(ann.user.id),
        "id": "987654",
        "organisation_id": str(ann.ids["organisation_id"]),
    }


def test_edit_forms_ignore_user_id_id_and_owner_id(app, ann, bob):
    edits = {
        f"/organisations/{bob.ids['organisation_id']}/edit": (Organisation, "organisation_id"),
        f"/contacts/{bob.ids['contact_id']}/edit": (Contact, "contact_id"),
        f"/interviews/{bob.ids['interview_id']}/edit": (Interview, "interview_id"),
    }
    ann_before = rows_of(app, ann.user.id)
    for url, (model, key) in edits.items():
        response = bob.client.post(url, data={**PAYLOAD, **smuggled(ann)})
        assert response.status_code == 302, (url, response.get_data(as_text=True))
        assert owned_by(app, model, bob.ids[key]) == bob.user.id
        with app.app_context():
            assert db.session.get(model, 987654) is None
    with app.app_context():
        interview = db.session.get(Interview, bob.ids["interview_id"])
        assert interview.organisation.user_id == bob.user.id
        assert interview.organisation.name == PAYLOAD["organisation"]  # the edit did happen
    assert rows_of(app, ann.user.id) == ann_before


def test_new_rows_belong_to_whoever_is_logged_in(app, ann, bob):
    response = bob.client.post("/interviews/new", data={**PAYLOAD, **smuggled(ann)})
    assert response.status_code == 302
    interview_id = int(response.headers["Location"].rsplit("/", 1)[1])
    with app.app_context():
        interview = db.session.get(Interview, interview_id)
        assert interview.user_id == bob.user.id
        assert interview.organisation.user_id == bob.user.id
        people = [p.contact for p in interview.participants]
        assert [c.user_id for c in people] == [bob.user.id]


def test_a_move_to_a_name_another_user_has_creates_your_own_organisation(app, ann, bob):
    response = bob.client.post(
        f"/contacts/{bob.ids['contact_id']}/move",
        data={"organisation": "Zebra Labs", "title": "CTO", **smuggled(ann)},
    )
    assert response.status_code == 302
    with app.app_context():
        zebras = db.session.execute(db.select(Organisation).filter_by(name="Zebra Labs")).scalars()
        assert sorted(o.user_id for o in zebras) == sorted([ann.user.id, bob.user.id])
        ann_people = db.session.execute(
            db.select(Position.contact_id).filter_by(organisation_id=ann.ids["organisation_id"])
        ).scalars()
        assert list(ann_people) == [ann.ids["contact_id"]]


def test_registration_ignores_account_fields_it_does_not_ask_for(app, client):
    response = client.post(
        "/register",
        data={
            "email": "cat@example.com",
            "password": "a perfectly fine passphrase",
            "timezone": "UTC",
            "id": "42",
            "user_id": "42",
            "session_version": "999",
            "password_hash": "$argon2id$forged",
            "digest_hour": "3",
        },
    )
    assert response.status_code == 302
    with app.app_context():
        user = db.session.execute(db.select(User).filter_by(email="cat@example.com")).scalar_one()
        assert user.id != 42
        assert user.session_version == 1
        assert user.password_hash.startswith("$argon2id$v=19$")
        assert user.digest_hour == 8
