"""CSRF: every POST route needs the form's token; no GET or HEAD changes anything."""

import re

import pytest
from flask_wtf.csrf import generate_csrf
from helpers import settings_of

from tracker import create_app
from tracker.db import db
from tracker.models import Organisation
from tracker.security import csrf_token

from .walk import PAYLOAD, app_rules, fetch, fill, route_params, snapshot

CSRF_PAGE = "Form expired"


def signed_link(rule) -> bool:
    """Routes reached from an email carry their permission in a token, not in the cookie."""
    return any(not is_int for is_int in route_params(rule).values())


def assert_refused_everywhere(app, client, ids, **extra) -> int:
    """POST to every route with the payload (and `extra` request options): all refused."""
    before = snapshot(app)
    walked = 0
    for rule in app_rules(app, "POST"):
        url = fill(rule, ids)
        response = fetch(client, "POST", url, **{"data": dict(PAYLOAD), "csrf": False, **extra})
        page = response.get_data(as_text=True)
        if signed_link(rule):
            # One-click unsubscribe (RFC 8058) posts without a cookie or token; the forged
            # token in the URL must get nowhere.
            assert 400 <= response.status_code < 500, (url, response.status_code)
        else:
            assert response.status_code == 400, (url, response.status_code)
            assert CSRF_PAGE in page, url
        assert snapshot(app) == before, f"{url} changed the database"
        walked += 1
    return walked


@pytest.fixture
def owner(make_owner):
    return make_owner("ann", "Zebra Labs")


def test_every_post_route_refuses_a_missing_token(app, owner):
    walked = assert_refused_everywhere(app, owner.client, owner.ids)
    assert walked >= 13  # register, login, logout, account x2, interviews x3, ... all seen
    assert owner.client.get("/account").status_code == 200  # logout was refused too


def test_every_post_route_refuses_a_forged_token(app, owner):
    assert_refused_everywhere(
        app, owner.client, owner.ids, data={**PAYLOAD, "csrf_token": "IjEyMyI.forged.token"}
    )


def test_every_post_route_refuses_a_token_from_another_session(app, owner):
    stranger_token = app.test_client().csrf_token()
    assert_refused_everywhere(
        app, owner.client, owner.ids, data={**PAYLOAD, "csrf_token": stranger_token}
    )


def test_every_post_route_refuses_a_missing_token_before_login(app, owner):
    assert_refused_everywhere(app, app.test_client(), owner.ids)


def test_the_same_post_with_the_token_does_change_things(app, owner):
    """The control: the payload above is one the forms accept."""
    url = f"/organisations/{owner.ids['organisation_id']}/edit"
    assert owner.client.post(url, data=dict(PAYLOAD)).status_code == 302
    with app.app_context():
        organisation = db.session.get(Organisation, owner.ids["organisation_id"])
        assert organisation.name == PAYLOAD["name"]


def test_no_get_or_head_route_changes_the_database(app, owner):
    anonymous = app.test_client()
    query = {
        "page": "2",
        "q": "Zebra",
        "next": "/contacts/",
        "organisation": owner.ids["organisation_id"],
        "contact": owner.ids["contact_id"],
        "interview": owner.ids["interview_id"],
    }
    before = snapshot(app)
    rules = app_rules(app, "GET")
    assert len(rules) >= 13
    for rule in rules:
        url = fill(rule, owner.ids)
        for client in (owner.client, anonymous):
            for method in ("GET", "HEAD"):
                for query_string in (None, query):
                    response = fetch(client, method, url, query_string=query_string)
                    assert response.status_code < 500, (method, url, query_string)
                    assert snapshot(app) == before, f"{method} {url} changed the database"
    assert owner.client.get("/account").status_code == 200


def layout_token(client) -> str:
    """The token of the logout form in the page's layout."""
    page = client.get("/contacts/").get_data(as_text=True)
    return re.search(
        r'action="/logout">\s*<input type="hidden" name="csrf_token" value="([^"]+)"', page
    )[1]


def test_the_layout_signs_a_sessions_token_once_and_it_keeps_working(app, owner, make_owner):
    first = layout_token(owner.client)
    # Pages take the token kept for the session, not one signed again for each page.
    with owner.client.session_transaction() as session:
        raw = session["csrf_token"]
    kept = app.extensions["keepwarm.csrf_tokens"]
    assert kept.get(raw, None) == first
    kept.put(raw, None, "the-kept-token")
    assert layout_token(owner.client) == "the-kept-token"
    kept.put(raw, None, first)
    other = make_owner("bo", "Yak Labs")
    assert layout_token(other.client) != first  # each session has its own
    # The reused token is a real one: it logs out (and another session's would not).
    response = owner.client.post(
        "/logout", data={"csrf_token": layout_token(other.client)}, csrf=False
    )
    assert response.status_code == 400
    response = owner.client.post("/logout", data={"csrf_token": first}, csrf=False)
    assert response.status_code == 302 and response.headers["Location"].endswith("/login")
    assert owner.client.get("/contacts/").status_code == 302  # logged out


def test_tokens_that_expire_by_age_are_signed_for_each_page(app):
    """Only tokens that never expire by age are kept: what templates get as csrf_token."""
    timed = create_app(settings_of(app, WTF_CSRF_TIME_LIMIT=3600))
    for each, expected in ((timed, generate_csrf), (app, csrf_token)):
        with each.test_request_context():
            context = {}
            each.update_template_context(context)
            assert context["csrf_token"] is expected
            assert each.jinja_env.globals["csrf_token"] is expected
