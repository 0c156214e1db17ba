"""Malformed, repeated and oversized input over HTTP: a 4xx or a normal page, never a 500."""

import pytest

from tracker.db import db
from tracker.models import Interview

from .walk import PAYLOAD, app_rules, fetch, fill, snapshot

ODD_PAGES = ["abc", "-1", "0", "1.5", "99999999999", "1e3", "", "%00", "١", "2" * 400]
LISTS = ("/", "/organisations/", "/contacts/", "/delivery/", "/follow-ups/")
ODD_IDS = ["abc", "-1", "1.5", "0x1", "1e3", "%20", "2147483648", "99999999999999999999999"]


@pytest.fixture
def owner(make_owner):
    return make_owner("ann", "Zebra Labs")


def page_walk(app, owner) -> list[str]:
    return [fill(rule, owner.ids) for rule in app_rules(app, "GET")]


def test_odd_page_numbers_show_the_first_page(app, owner):
    lists = [url for url in page_walk(app, owner) if url in LISTS]
    assert "/contacts/" in lists and "/organisations/" in lists
    for url in lists:
        for page in ODD_PAGES:
            response = fetch(owner.client, "GET", url, query_string={"page": page})
            assert response.status_code == 200, (url, page)


def test_odd_query_parameters_on_every_page(app, owner):
    before = snapshot(app)
    odd = [
        "page=abc&page=2&page=-1",
        "q=a&q=b&q=%ff%fe",
        "q=" + "x" * 5000,
        "q=%00%0d%0a",
        "organisation=abc&contact=1.5&interview=-3&next=//evil.example",
        "page[]=1&q[a]=b",
    ]
    for url in page_walk(app, owner):
        for query in odd:
            response = fetch(owner.client, "GET", f"{url}?{query}")
            assert response.status_code < 500, (url, query)
    assert snapshot(app) == before


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_a_non_integer_or_huge_id_in_a_url_is_a_404(app, owner):
    before = snapshot(app)
    for rule in app_rules(app, "GET") + app_rules(app, "POST"):
        if "<int:" not in rule.rule:
            continue
        for bad in ODD_IDS:
            url = fill(rule, owner.ids)
            for name, value in owner.ids.items():
                if f"<int:{name}>" in rule.rule:
                    url = url.replace(f"/{value}", f"/{bad}", 1)
            for method in sorted(rule.methods & {"GET", "POST"}):
                if method == "GET":
                    response = fetch(owner.client, "GET", url)
                else:
                    response = fetch(owner.client, "POST", url, data=dict(PAYLOAD))
                assert response.status_code == 404, (method, url, response.status_code)
    assert snapshot(app) == before


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_huge_ids_in_query_parameters_are_not_a_500(app, owner):
    huge = "99999999999999999999999"
    for url in page_walk(app, owner):
        response = fetch(
            owner.client,
            "GET",
            url,
            query_string={"organisation": huge, "contact": huge, "interview": huge},
        )
        assert response.status_code < 500, url


def test_a_body_over_the_limit_is_refused_with_413(app, owner):
    assert app.config["MAX_CONTENT_LENGTH"] <= 16 * 1024 * 1024
    before = snapshot(app)
    too_big = "x" * (app.config["MAX_CONTENT_LENGTH"] + 1)
    for url in ("/login", "/interviews/new", f"/contacts/{owner.ids['contact_id']}/edit"):
        response = owner.client.post(url, data={"notes": too_big, "name": "Big"})
        assert response.status_code == 413, url
        assert "Too large" in response.get_data(as_text=True)
    response = owner.client.post(
        "/interviews/new", data=too_big, content_type="application/octet-stream"
    )
    assert response.status_code == 413
    assert snapshot(app) == before


def test_repeated_form_fields_take_the_first_value(app, owner):
    url = f"/organisations/{owner.ids['organisation_id']}/edit"
    response = owner.client.post(
        url,
        data={
            "csrf_token": owner.client.csrf_token(),
            "name": ["First Name", "Second Name"],
            "website": ["https://first.example", "javascript:alert(1)"],
        },
    )
    assert response.status_code == 302
    page = owner.client.get(response.headers["Location"]).get_data(as_text=True)
    assert "First Name" in page and "Second Name" not in page


def test_repeated_login_fields_are_not_a_500(client, make_user):
    make_user("lee@example.com")
    response = client.post(
        "/login",
        data={
            "csrf_token": client.csrf_token(),
            "email": ["lee@example.com", "other@example.com"],
            "password": ["wrong", "correct horse battery staple"],
        },
    )
    assert response.status_code == 401  # the first of each: the wrong password


BAD_INTERVIEW_FIELDS = [
    {"held_on": "not-a-date"},
    {"held_on": "2026-02-30"},
    {"held_on": "99999-01-01"},
    {"start_time": "25:99"},
    {"interest": "abc"},
    {"interest": "99999999999999999999999"},
    {"interest": "0"},
    {"stage": "ceo_chat"},
    {"outcome": ""},
    {"people-0-contact_id": "abc"},
    {"people-0-contact_id": "99999999999999999999999"},
    {"people-0-role": "boss"},
    {"people-0-linkedin_url": "javascript:alert(1)"},
    {"role": "x" * 201},
    {"organisation": " \t "},
]


def test_bad_interview_fields_are_field_errors(app, owner):
    before = snapshot(app)
    for bad in BAD_INTERVIEW_FIELDS:
        data = {**PAYLOAD, "people-0-name": "Someone", **bad}
        response = owner.client.post("/interviews/new", data=data)
        assert response.status_code == 400, bad
        assert '<p class="error"' in response.get_data(as_text=True), bad
    assert snapshot(app) == before


def test_people_rows_beyond_the_limit_are_not_a_500(app, owner):
    rows = {f"people-{i}-name": f"Person {i}" for i in range(60)}
    rows |= {f"people-{i}-role": "interviewer" for i in range(60)}
    rows |= {f"people-{i}-contact_id": "0" for i in range(60)}
    response = owner.client.post(
        "/interviews/new", data={**PAYLOAD, **rows, "add_person": "Add another person"}
    )
    assert response.status_code < 500
    response = owner.client.post("/interviews/new", data={**PAYLOAD, **rows})
    assert response.status_code in (302, 400)
    if response.status_code == 302:
        with app.app_context():
            interview_id = int(response.headers["Location"].rsplit("/", 1)[1])
            assert len(db.session.get(Interview, interview_id).participants) <= 50


@pytest.mark.parametrize(
    "fields",
    [
        {"email": "a@example.com\r\nBcc: x@example.com"},
        {"email": "\x00@example.com"},
        {"email": "a" * 300 + "@example.com"},
        {"timezone": "../../etc/passwd"},
        {"password": "p\x00ssword long enough"},
    ],
)
def test_odd_registration_input_is_refused_or_stored_harmlessly(app, client, fields):
    data = {"email": "new@example.com", "password": "a fine passphrase", "timezone": "UTC"}
    response = client.post("/register", data={**data, **fields})
    assert response.status_code in (302, 400)
