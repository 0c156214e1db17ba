"""Lines 5 and 6, beyond tests/test_auth.py: no "remember me" is offered, so no cookie
outlives the browser session or the 12 hours; the two-step login also starts a fresh
session; every way a session ends (logout, password change, reset, deletion) is proven in
test_auth.py, test_auth_reset.py and test_account_deletion.py."""

import pyotp

from tracker import twofactor
from tracker.db import db
from tracker.models import User

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
