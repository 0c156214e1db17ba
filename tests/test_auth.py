"""Register, log in and out, change password and time zone, sessions and their cookies."""

import html
import re
from datetime import UTC, datetime, timedelta

import pytest
from helpers import settings_of

from tracker import create_app
from tracker.accounts import create_user
from tracker.db import db
from tracker.models import User
from tracker.web import safe_next

PASSWORD = "correct horse battery staple"  # the make_user default in tests/conftest.py
T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
NEW_PASSWORD = "a brand new passphrase"


def field_error(page: str, field_id: str) -> str | None:
    """The message shown next to the field with that id, or None."""
    match = re.search(rf'<p class="error" id="{re.escape(field_id)}-error">([^<]+)</p>', page)
    return html.unescape(match.group(1)) if match else None


def user_count(app) -> int:
    with app.app_context():
        return db.session.scalar(db.select(db.func.count()).select_from(User))


def stored_user(app, user_id: int) -> User:
    with app.app_context():
        user = db.session.get(User, user_id)
        db.session.expunge(user)
        return user


def session_cookie(client) -> str:
    cookie = client.get_cookie(client.application.config["SESSION_COOKIE_NAME"])
    assert cookie is not None
    return cookie.value


def replay(app, cookie: str):
    """A fresh client (another browser) that presents a copied session cookie."""
    other = app.test_client()
    other.set_cookie(app.config["SESSION_COOKIE_NAME"], cookie)
    return other


def is_logged_in(client) -> bool:
    response = client.get("/account")
    if response.status_code == 200:
        return True
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")
    return False


def lands_on_login_page(client, path: str = "/") -> bool:
    response = client.get(path)
    if response.status_code != 302 or not response.headers["Location"].startswith("/login"):
        return False
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    return "<h1>Log in</h1>" in page


REGISTRATION = {"email": "dana@example.com", "password": PASSWORD, "timezone": "Europe/Berlin"}


# Registration


def test_register_creates_the_account_logs_in_and_goes_home(app, client):
    response = client.post("/register", data=REGISTRATION)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert "Welcome to Keepwarm" in client.get("/").get_data(as_text=True)
    assert is_logged_in(client)
    with app.app_context():
        user = db.session.execute(db.select(User)).scalar_one()
        assert (user.email, user.timezone) == ("dana@example.com", "Europe/Berlin")


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"email": "dana-at-example.com"}, "email", "Invalid email address."),
        ({"email": ""}, "email", "Enter your email address."),
        ({"password": "short12"}, "password", "Use at least 8 characters."),
        ({"password": "Password1"}, "password", "one of the most common"),
        ({"password": ""}, "password", "Choose a password."),
        ({"timezone": "Mars/Olympus_Mons"}, "timezone", "Not a valid choice"),
    ],
)
def test_register_problems_are_shown_next_to_the_field_and_nothing_is_saved(
    app, client, changes, field, message
):
    response = client.post("/register", data={**REGISTRATION, **changes})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert message in (field_error(page, field) or "")
    assert "Nothing was saved." in page
    assert user_count(app) == 0
    assert not is_logged_in(client)


def test_register_with_an_email_already_taken_in_another_case(app, client, make_user):
    taken = make_user("dana@example.com")
    response = client.post("/register", data={**REGISTRATION, "email": " DANA@Example.com"})
    assert response.status_code == 400
    assert field_error(response.get_data(as_text=True), "email") == (
        "An account with this email already exists. Log in instead."
    )
    assert user_count(app) == 1
    assert stored_user(app, taken.id).password_hash == taken.password_hash
    assert not is_logged_in(client)


def test_register_with_every_field_missing(app, client):
    response = client.post("/register", data={})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert field_error(page, "email") == "Enter your email address."
    assert field_error(page, "password") == "Choose a password."
    assert field_error(page, "timezone")
    assert user_count(app) == 0


def test_a_logged_in_user_is_sent_home_from_register_and_login(client, make_user, login):
    login(make_user())
    for path in ("/register", "/login"):
        response = client.get(path)
        assert response.status_code == 302
        assert response.headers["Location"] == "/"


# Logging in and out


def test_login_with_any_case_of_the_email(client, make_user, login):
    make_user("lee@example.com")
    response = client.post("/login", data={"email": " LEE@Example.com", "password": PASSWORD})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert is_logged_in(client)


@pytest.mark.parametrize(
    "credentials",
    [
        {"email": "lee@example.com", "password": "not the password"},
        {"email": "nobody@example.com", "password": PASSWORD},
    ],
)
def test_a_wrong_password_and_an_unknown_email_look_the_same(client, make_user, credentials):
    make_user("lee@example.com")
    response = client.post("/login", data=credentials)
    assert response.status_code == 401
    page = response.get_data(as_text=True)
    assert field_error(page, "password") == "Email or password is not right."
    assert not is_logged_in(client)


def test_login_with_missing_fields_asks_for_them(client):
    response = client.post("/login", data={})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert field_error(page, "email") == "Enter your email address."
    assert field_error(page, "password") == "Enter your password."


def test_a_page_that_needs_login_sends_back_after_login(client, make_user):
    make_user("lee@example.com")
    response = client.get("/contacts/?q=acme")
    assert response.status_code == 302
    login_url = response.headers["Location"]
    assert login_url.startswith("/login?next=")
    response = client.post(login_url, data={"email": "lee@example.com", "password": PASSWORD})
    assert response.status_code == 302
    assert response.headers["Location"] == "/contacts/?q=acme"


@pytest.mark.parametrize("target", ["//evil.example", "https://evil.example", "/\\evil.example"])
def test_next_never_leads_off_the_site(client, make_user, target):
    make_user("lee@example.com")
    response = client.post(
        "/login",
        query_string={"next": target},
        data={"email": "lee@example.com", "password": PASSWORD},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example",
        "///evil.example",
        "https://evil.example",
        "http://evil.example/contacts/",
        "HTTPS://evil.example",
        "/\\evil.example",
        "/\\/evil.example",
        "\\\\evil.example",
        "/\t/evil.example",
        "/\n/evil.example",
        " //evil.example",
        "javascript:alert(1)",
        "evil.example",
        "",
        None,
    ],
)
def test_safe_next_refuses_anything_that_could_leave_the_site(target):
    assert safe_next(target, "/") == "/"


@pytest.mark.parametrize("target", ["/contacts/", "/contacts/?q=acme&page=2", "/interviews/3"])
def test_safe_next_keeps_local_paths(target):
    assert safe_next(target, "/") == target


def test_logout_is_post_only(client, make_user, login):
    login(make_user())
    assert client.get("/logout").status_code == 405
    assert is_logged_in(client)


def test_logout_ends_the_session_on_the_server(app, client, make_user, login):
    login(make_user())
    copied = session_cookie(client)
    response = client.post("/logout")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
    assert not is_logged_in(client)

    thief = replay(app, copied)
    response = thief.get("/")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
    assert "You have been logged out." in thief.get("/login").get_data(as_text=True)
    assert not is_logged_in(replay(app, copied))


def test_logout_ends_the_sessions_on_other_devices_too(app, client, make_user, login):
    user = make_user()
    login(user)
    phone = login(user, as_client=app.test_client())
    client.post("/logout")
    assert not is_logged_in(phone)


# Password and time zone


def test_changing_the_password_needs_the_current_one(app, client, make_user, login):
    user = make_user()
    login(user)
    before = stored_user(app, user.id).password_hash
    response = client.post(
        "/account/password",
        data={"current_password": "a wrong guess", "new_password": NEW_PASSWORD},
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert field_error(page, "current_password") == "That is not your current password."
    assert stored_user(app, user.id).password_hash == before
    assert is_logged_in(client)


def test_the_new_password_must_meet_the_policy(app, client, make_user, login):
    user = make_user()
    login(user)
    response = client.post(
        "/account/password", data={"current_password": PASSWORD, "new_password": "short"}
    )
    assert response.status_code == 400
    assert field_error(response.get_data(as_text=True), "new_password") == (
        "Use at least 8 characters."
    )


def test_a_password_change_ends_other_sessions_and_keeps_this_one(app, client, make_user, login):
    user = make_user()
    login(user)
    laptop = login(user, as_client=app.test_client())
    old_cookie = session_cookie(client)

    response = client.post(
        "/account/password", data={"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/account"
    assert "Password changed." in client.get("/account").get_data(as_text=True)

    assert is_logged_in(client)
    assert lands_on_login_page(laptop)
    assert not is_logged_in(replay(app, old_cookie))

    fresh = app.test_client()
    assert fresh.post("/login", data={"email": user.email, "password": PASSWORD}).status_code == 401
    assert (
        fresh.post("/login", data={"email": user.email, "password": NEW_PASSWORD}).status_code
        == 302
    )


def test_time_zone_change(app, client, make_user, login):
    user = make_user(timezone="UTC")
    login(user)
    response = client.post("/account/profile", data={"timezone": "America/New_York"})
    assert response.status_code == 302
    assert stored_user(app, user.id).timezone == "America/New_York"

    response = client.post("/account/profile", data={"timezone": "Nowhere/Atlantis"})
    assert response.status_code == 400
    assert field_error(response.get_data(as_text=True), "timezone")
    assert stored_user(app, user.id).timezone == "America/New_York"


def test_profile_form_ignores_fields_it_does_not_have(app, client, make_user, login):
    user = make_user("lee@example.com")
    login(user)
    client.post(
        "/account/profile",
        data={
            "timezone": "Europe/Paris",
            "email": "someone.else@example.com",
            "session_version": "99",
            "password_hash": "x",
            "id": "42",
        },
    )
    stored = stored_user(app, user.id)
    assert stored.timezone == "Europe/Paris"
    assert stored.email == "lee@example.com"
    assert stored.session_version == user.session_version
    assert stored.password_hash == user.password_hash


# Session lifetime


def test_idle_for_30_minutes_ends_the_session(app, client, make_user, login):
    app.config["NOW"] = T0
    login(make_user())
    app.config["NOW"] = T0 + timedelta(minutes=29)
    assert is_logged_in(client)
    app.config["NOW"] = T0 + timedelta(minutes=58)  # 29 minutes after the last request
    assert is_logged_in(client)

    app.config["NOW"] = T0 + timedelta(minutes=58 + 31)
    response = client.get("/contacts/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=/contacts/")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Your session has expired." in page
    assert not is_logged_in(client)


def test_the_cookie_is_sent_again_only_when_the_idle_clock_moves(app, client, make_user, login):
    app.config["NOW"] = T0
    login(make_user())
    client.get("/contacts/")  # the first page after login stores the form token
    app.config["NOW"] = T0 + timedelta(seconds=59)
    assert "Set-Cookie" not in client.get("/contacts/").headers
    app.config["NOW"] = T0 + timedelta(seconds=61)
    assert client.get("/contacts/").headers["Set-Cookie"].startswith("session=")
    app.config["NOW"] = T0 + timedelta(seconds=90)
    assert "Set-Cookie" not in client.get("/contacts/").headers


def test_requests_that_leave_the_cookie_alone_never_stretch_the_idle_limit(
    app, client, make_user, login
):
    app.config["NOW"] = T0
    login(make_user())
    app.config["NOW"] = T0 + timedelta(seconds=59)
    assert is_logged_in(client)
    # 30 minutes after that last request (and 30:59 after the time the cookie holds).
    app.config["NOW"] = T0 + timedelta(seconds=59, minutes=30)
    assert not is_logged_in(client)


def test_a_session_ends_after_12_hours_however_active(app, client, make_user, login):
    app.config["NOW"] = T0
    login(make_user())
    for minutes in range(20, 12 * 60, 20):
        app.config["NOW"] = T0 + timedelta(minutes=minutes)
        assert client.get("/").status_code == 200
    assert is_logged_in(client)
    app.config["NOW"] = T0 + timedelta(hours=12, minutes=1)
    assert not is_logged_in(client)


def test_a_new_session_starts_at_login(app, client, make_user, login):
    user = make_user()
    client.get("/login")
    with client.session_transaction() as session:
        session["planted"] = "chosen by someone else"
    before = session_cookie(client)
    login(user)
    assert session_cookie(client) != before
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session["_user_id"] == f"{user.id}:{user.session_version}"


# Cookies


def login_response(app, client, user, **kwargs):
    response = client.post("/login", data={"email": user.email, "password": PASSWORD}, **kwargs)
    assert response.status_code == 302
    return response.headers["Set-Cookie"]


def test_the_session_cookie_is_httponly_and_samesite_lax(app, client, make_user):
    cookie = login_response(app, client, make_user())
    assert cookie.startswith("session=")
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # plain-http localhost: a Secure cookie would never return


@pytest.fixture
def https_app(app):
    """The same database served at an https BASE_URL (with a trailing slash, as typed)."""
    secure = create_app(settings_of(app, BASE_URL="https://keepwarm.example/"))
    secure.test_client_class = app.test_client_class
    yield secure
    with secure.app_context():
        db.session.remove()
        db.engine.dispose()


def https_login_cookie(app) -> str:
    with app.app_context():
        create_user("lee@example.com", PASSWORD, "UTC")
        db.session.commit()
    client = app.test_client()
    base = "https://keepwarm.example"
    form = client.get("/login", base_url=base).get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form).group(1)
    response = client.post(
        "/login",
        base_url=base,
        headers={"Referer": base + "/login"},  # Flask-WTF checks it over https
        data={"email": "lee@example.com", "password": PASSWORD, "csrf_token": token},
        csrf=False,
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    return response.headers["Set-Cookie"]


def test_over_https_the_cookie_is_secure_and_host_prefixed(https_app):
    assert https_app.config["BASE_URL"] == "https://keepwarm.example"
    cookie = https_login_cookie(https_app)
    assert cookie.startswith("__Host-session=")
    attributes = [part.strip() for part in cookie.split(";")]
    assert "Secure" in attributes
    assert "HttpOnly" in attributes
    assert "SameSite=Lax" in attributes
    assert "Path=/" in attributes  # required by the __Host- prefix
    assert not any(part.lower().startswith("domain=") for part in attributes)


def test_base_url_from_the_environment_also_secures_the_cookie(app, monkeypatch):
    monkeypatch.setenv("BASE_URL", "https://keepwarm.example")
    secure = create_app(settings_of(app))
    assert secure.config["SESSION_COOKIE_SECURE"] is True
    assert secure.config["SESSION_COOKIE_NAME"] == "__Host-session"
    assert secure.config["PREFERRED_URL_SCHEME"] == "https"


def test_an_explicit_cookie_setting_wins_over_the_base_url(app):
    secure = create_app(
        settings_of(app, BASE_URL="https://keepwarm.example", SESSION_COOKIE_NAME="keepwarm")
    )
    assert secure.config["SESSION_COOKIE_NAME"] == "keepwarm"
    assert secure.config["SESSION_COOKIE_SECURE"] is True


# Logging


def test_logins_are_logged_without_passwords_or_forged_lines(client, make_user, caplog):
    user = make_user("lee@example.com")
    caplog.set_level("INFO", logger="keepwarm.auth")
    forged = "mallory@example.com\r\n2026-11-20 login succeeded for user 1"
    client.post("/login", data={"email": forged, "password": "hunter2 is my password"})
    client.post("/login", data={"email": user.email, "password": PASSWORD})
    messages = [record.getMessage() for record in caplog.records]
    # Not shaped like an address (it holds a line break): only a stand-in is logged.
    assert "login failed for (not an email address) from 127.0.0.1" in messages
    assert f"login succeeded for user {user.id}" in messages
    assert all("\n" not in m and "\r" not in m for m in messages)
    assert not any("hunter2" in m or PASSWORD in m for m in messages)
