"""Lines 5 and 6, beyond tests/test_auth.py: no "remember me" is offered, so no cookie
outlives the browser session or the 12 hours; the two-step login also starts a fresh
session; every way a session ends (logout, password change, reset, deletion) is proven in
test_auth.py, test_auth_reset.py and test_account_deletion.py."""

import pyotp
import pytest
from sqlalchemy import event

from tracker import twofactor
from tracker.db import db
from tracker.models import USER_COLUMNS, Account, User
from tracker.security import load_user

from .walk import PASSWORD


def test_no_remember_me_and_no_lasting_cookie(app, client, make_user):
    make_user("lee@example.com")
    page = client.get("/login").get_data(as_text=True)
    assert "remember" not in page.lower()
    response = client.post(
        "/login", data={"email": "lee@example.com", "password": PASSWORD, "remember": "y"}
    )
    assert response.status_code == 302
    cookies = response.headers.getlist("Set-Cookie")
    assert len(cookies) == 1 and cookies[0].startswith("session=")
    attributes = {part.split("=")[0].strip().lower() for part in cookies[0].split(";")}
    assert not attributes & {"expires", "max-age"}  # gone when the browser closes
    assert "remember_token" not in "".join(cookies)


def test_the_two_step_login_starts_a_fresh_session(app, client, make_user, monkeypatch):
    user = make_user("lee@example.com")
    with app.app_context():
        stored = db.session.get(User, user.id)
        twofactor.start_setup(stored)
        twofactor.enable(stored)
        secret = twofactor.secret(stored)
        db.session.commit()
    client.get("/login")
    with client.session_transaction() as session:
        session["planted"] = "chosen by someone else"
    client.post("/login", data={"email": "lee@example.com", "password": PASSWORD})
    with client.session_transaction() as session:
        assert "planted" not in session and "_user_id" not in session
    response = client.post("/login/code", data={"code": pyotp.TOTP(secret).now()})
    assert response.status_code == 302
    with client.session_transaction() as session:
        assert "second_step" not in session
        assert session["_user_id"] == f"{user.id}:{user.session_version}"


def test_the_logged_in_user_is_read_as_a_read_only_account(app, make_user):
    user = make_user("lee@example.com", timezone="Europe/Paris")
    with app.test_request_context():
        account = load_user(f"{user.id}:{user.session_version}")
        stored = db.session.get(User, user.id)
        assert isinstance(account, Account) and account.is_authenticated
        assert account.get_id() == stored.get_id()
        assert {name: getattr(account, name) for name in USER_COLUMNS} == {
            column.key: getattr(stored, column.key) for column in User.__table__.columns
        }
        with pytest.raises(AttributeError, match="read-only"):
            account.timezone = "UTC"
        assert account.timezone == "Europe/Paris"
        assert account.record() is stored
        assert stored.record() is stored  # code that changes a user takes either
        # A cookie of an ended session, of no such user, or not shaped like ours: nobody.
        for session_id in (f"{user.id}:{user.session_version + 1}", f"{user.id + 99}:1", "1:x"):
            assert load_user(session_id) is None


def test_pages_read_the_user_without_loading_a_user_object(app, client, user):
    loaded = []

    def on_load(target, _context):
        loaded.append(target.id)

    event.listen(User, "load", on_load)
    try:
        for path in ("/", "/contacts/", "/organisations/", "/settings/", "/account"):
            assert client.get(path).status_code == 200, path
        assert loaded == [], "a page built the ORM User it only had to read"
        response = client.post("/account/profile", data={"timezone": "Asia/Tokyo"})
        assert response.status_code == 302
    finally:
        event.remove(User, "load", on_load)
    assert loaded == [user.id]  # the change went through the User itself
    with app.app_context():
        assert db.session.get(User, user.id).timezone == "Asia/Tokyo"


def test_after_a_new_secret_key_sessions_last_while_the_old_key_is_a_fallback(app, client, user):
    assert client.get("/contacts/").status_code == 200  # the session as pages leave it
    old = app.config["SECRET_KEY"]
    app.config.update(SECRET_KEY="a-new-secret-key-" + "n" * 40, SECRET_KEY_FALLBACKS=[old])
    response = client.get("/contacts/")
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers  # the cookie is still the old key's
    app.config["SECRET_KEY_FALLBACKS"] = []
    response = client.get("/contacts/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
