"""Security headers on every response, error pages included; a plain 500 page."""

import re

import pytest
from sqlalchemy import text

from tracker import create_app, feed
from tracker.db import db
from tracker.models import User

from .walk import app_rules, fetch, fill

SECRET_DETAIL = "s3cr3t-detail-from-the-exception"
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
INLINE_HANDLER = re.compile(r"<[^>]+\s on[a-z]+\s*=", re.I | re.X)
INLINE_STYLE = re.compile(r"<[^>]+\sstyle\s*=", re.I)


def settings_of(app, **changes) -> dict:
    keys = ("SECRET_KEY", "SQLALCHEMY_DATABASE_URI")
    return {key: app.config[key] for key in keys} | {"INSTANCE_PATH": app.instance_path} | changes


def broken_app(app, **changes):
    """The app as in production (exceptions not propagated) with a page that fails."""
    broken = create_app(settings_of(app, **changes))
    broken.test_client_class = app.test_client_class

    def fails():
        db.session.execute(text(f"SELECT '{SECRET_DETAIL}' FROM no_such_table"))

    broken.add_url_rule("/fails", "fails", fails)
    return broken


@pytest.fixture
def production(app):
    broken = broken_app(app)
    yield broken
    with broken.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def https(app):
    broken = broken_app(app, BASE_URL="https://keepwarm.example")
    yield broken
    with broken.app_context():
        db.session.remove()
        db.engine.dispose()


def csp(response) -> dict[str, list[str]]:
    policy = response.headers.get("Content-Security-Policy")
    assert policy, "no Content-Security-Policy"
    directives = {}
    for part in policy.split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


def assert_secure_headers(response, private: bool = True) -> None:
    policy = csp(response)
    assert policy["object-src"] == ["'none'"]
    assert policy["base-uri"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    scripts = policy.get("script-src", policy.get("default-src"))
    assert scripts, "scripts are not restricted"
    for loose in ("'unsafe-inline'", "'unsafe-eval'", "*", "data:", "http:", "https:"):
        assert loose not in scripts
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] in (
        "no-referrer",
        "same-origin",
        "strict-origin",
        "strict-origin-when-cross-origin",
    )
    content_type = response.headers["Content-Type"]
    assert "charset=utf-8" in content_type.lower(), content_type
    if private:
        assert "no-store" in response.headers["Cache-Control"]


def test_pages_for_visitors_carry_the_headers(client):
    for path in ("/", "/login", "/register"):
        response = client.get(path)
        assert response.status_code == 200
        assert response.mimetype == "text/html"
        assert_secure_headers(response)
        assert "Strict-Transport-Security" not in response.headers  # plain http


def test_every_page_of_a_logged_in_user_carries_the_headers(app, make_owner):
    owner = make_owner("ann", "Zebra Labs")
    for rule in app_rules(app, "GET"):
        response = fetch(owner.client, "GET", fill(rule, owner.ids))
        assert_secure_headers(response)


def test_no_page_needs_inline_script_or_style_the_policy_would_block(app, make_owner):
    owner = make_owner("ann", "Zebra Labs")
    for rule in app_rules(app, "GET"):
        response = fetch(owner.client, "GET", fill(rule, owner.ids))
        if response.mimetype != "text/html":
            continue
        page = response.get_data(as_text=True)
        url = fill(rule, owner.ids)
        assert not INLINE_SCRIPT.search(page), url
        assert not INLINE_HANDLER.search(page), url
        assert not INLINE_STYLE.search(page), url


def test_error_pages_carry_the_headers(client, make_user, login):
    checks = {
        "/no-such-page": 404,
        "/interviews/not-a-number": 404,
        "/logout": 405,  # GET on a POST-only route
    }
    for path, status in checks.items():
        response = client.get(path)
        assert response.status_code == status, path
        assert_secure_headers(response)
    response = client.post("/login", data={"email": "a@example.com"}, csrf=False)
    assert response.status_code == 400
    assert_secure_headers(response)
    response = client.post("/login", data={"notes": "x" * (2 * 1024 * 1024)})
    assert response.status_code == 413
    assert_secure_headers(response)


def test_a_500_is_a_plain_page_with_the_headers_and_no_details(production):
    client = production.test_client()
    response = client.get("/fails")
    assert response.status_code == 500
    assert_secure_headers(response)
    page = response.get_data(as_text=True)
    assert "Something went wrong" in page
    for detail in ("Traceback", SECRET_DETAIL, "no_such_table", "SELECT", "sqlalchemy", "File "):
        assert detail not in page
    # The failed request left the app working.
    assert client.get("/login").status_code == 200


def test_a_500_for_a_logged_in_user_is_just_as_plain(production, make_user):
    user = make_user("ann@example.com")
    client = production.test_client()
    login = client.post(
        "/login", data={"email": user.email, "password": "correct horse battery staple"}
    )
    assert login.status_code == 302
    response = client.get("/fails")
    assert response.status_code == 500
    assert_secure_headers(response)
    assert SECRET_DETAIL not in response.get_data(as_text=True)
    assert client.get("/account").status_code == 200


def test_static_files_have_a_charset_and_the_headers_but_may_be_cached(client):
    for name, mimetype in (("style.css", "text/css"), ("app.js", "text/javascript")):
        response = client.get(f"/static/{name}")
        assert response.status_code == 200
        assert response.mimetype == mimetype
        assert_secure_headers(response, private=False)
        assert "no-store" not in response.headers.get("Cache-Control", "")
        response.close()


def test_hsts_only_over_https(client, https):
    assert "Strict-Transport-Security" not in client.get("/login").headers
    secure = https.test_client()
    for path in ("/login", "/no-such-page", "/fails"):
        response = secure.get(path, base_url="https://keepwarm.example")
        hsts = response.headers["Strict-Transport-Security"]
        max_age = int(re.search(r"max-age=(\d+)", hsts).group(1))
        assert max_age >= 180 * 24 * 3600, path
        assert_secure_headers(response)


# Refusing to start unsafely


@pytest.mark.parametrize("key", ["", "dev", "changeme", "short-but-random-9f2c"])
def test_the_app_refuses_a_weak_secret_key(app, key):
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app(settings_of(app, SECRET_KEY=key))


@pytest.mark.parametrize("base_url", ["https://keepwarm.example", "http://192.0.2.10:5000"])
def test_the_app_refuses_debug_mode_when_served_beyond_this_machine(app, base_url):
    with pytest.raises(RuntimeError, match="Debug mode"):
        create_app(settings_of(app, DEBUG=True, BASE_URL=base_url))


def test_debug_mode_is_allowed_on_localhost(app):
    local = create_app(settings_of(app, DEBUG=True, BASE_URL="http://127.0.0.1:5000"))
    assert local.debug
    with local.app_context():
        db.engine.dispose()


# The calendar feed: a secret URL for calendar apps, with the same headers


def test_the_feed_carries_the_headers_when_found_cached_refused_or_missing(app, make_owner):
    """Calendar apps keep a copy and revalidate (private, no-cache), so the feed is the one
    private response without no-store; everything else is as on every page."""
    owner = make_owner("ann", "Zebra Labs")
    with app.app_context():
        token = feed.new_token(db.session.get(User, owner.user.id))
        db.session.commit()
    client = app.test_client()  # calendar apps send no cookie
    found = fetch(client, "GET", f"/feed/{token}.ics")
    assert found.status_code == 200
    assert found.mimetype == "text/calendar"
    assert_secure_headers(found, private=False)
    assert found.headers["Cache-Control"] == "private, no-cache"
    assert found.headers["Referrer-Policy"] == "no-referrer"
    cached = fetch(
        client, "GET", f"/feed/{token}.ics", headers={"If-None-Match": found.headers["ETag"]}
    )
    assert cached.status_code == 304
    assert cached.headers["Content-Security-Policy"] == found.headers["Content-Security-Policy"]
    assert cached.headers["X-Content-Type-Options"] == "nosniff"
    head = fetch(client, "HEAD", f"/feed/{token}.ics")
    assert head.status_code == 200
    assert_secure_headers(head, private=False)
    wrong = token[:-1] + ("B" if token.endswith("A") else "A")  # one character off
    for missing in (f"/feed/{wrong}.ics", "/feed/short.ics"):
        response = fetch(client, "GET", missing)
        assert response.status_code == 404
        assert_secure_headers(response)


def test_the_feed_over_https_carries_hsts(https, make_user):
    user = make_user("ann@example.com")
    with https.app_context():
        token = feed.new_token(db.session.get(User, user.id))
        db.session.commit()
    response = fetch(
        https.test_client(), "GET", f"/feed/{token}.ics", base_url="https://keepwarm.example"
    )
    assert response.status_code == 200
    assert "max-age=" in response.headers["Strict-Transport-Security"]
    assert_secure_headers(response, private=False)
