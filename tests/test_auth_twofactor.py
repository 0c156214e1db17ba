"""Two-factor login: setup with the password and a code, the second login step, codes
that work once, recovery codes, throttled guessing, turning it off."""

import re
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from helpers import field_error

from tracker import twofactor
from tracker.db import db
from tracker.models import LoginThrottle, RecoveryCode, User

PASSWORD = "correct horse battery staple"  # the make_user default in tests/conftest.py
T0 = datetime(2026, 11, 20, 9, 0, 10, tzinfo=UTC)  # 10 s into a 30-second step
HOME = {"REMOTE_ADDR": "198.51.100.7"}


def stored(app, user_id: int) -> User:
    with app.app_context():
        user = db.session.get(User, user_id)
        db.session.expunge(user)
        return user


def stored_secret(app, user_id: int) -> str | None:
    with app.app_context():
        return twofactor.secret(db.session.get(User, user_id))


def code_at(secret: str, moment: datetime) -> str:
    return pyotp.TOTP(secret).at(moment)


def start_setup(client) -> str:
    """Press "Set up"; returns the secret the page shows under the QR code."""
    assert client.post("/account/two-factor/start").status_code == 302
    page = client.get("/account/two-factor").get_data(as_text=True)
    return re.search(r"<code>([A-Z2-7]{32})</code>", page).group(1)


def turn_on(app, client) -> tuple[str, list[str]]:
    """The whole setup through the pages; returns the secret and the recovery codes."""
    secret = start_setup(client)
    response = client.post(
        "/account/two-factor/enable",
        data={"setup-code": code_at(secret, app.config["NOW"]), "setup-password": PASSWORD},
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    codes = re.findall(r"<li><code>([a-z2-7-]+)</code></li>", response.get_data(as_text=True))
    return secret, codes


@pytest.fixture
def lee(app, make_user):
    app.config["NOW"] = T0
    return make_user("lee@example.com")


@pytest.fixture
def lee_with_2fa(app, client, lee, login):
    """Lee with two-factor login on, logged out again; (user, secret, recovery codes)."""
    login(lee)
    secret, codes = turn_on(app, client)
    client.post("/logout")
    app.config["NOW"] = T0 + timedelta(minutes=1)  # a later step: a fresh code is due
    return lee, secret, codes


def password_step(client, email: str = "lee@example.com", password: str = PASSWORD, **kw):
    return client.post(
        "/login", data={"email": email, "password": password}, environ_base=HOME, **kw
    )


def code_step(client, code: str):
    return client.post("/login/code", data={"code": code}, environ_base=HOME)


def logged_in(client) -> bool:
    return client.get("/account").status_code == 200


# Turning it on


def test_setup_shows_a_qr_code_and_the_key_and_changes_nothing_at_login_yet(
    app, client, lee, login
):
    login(lee)
    page = client.get("/account/two-factor").get_data(as_text=True)
    assert "Set up two-factor login" in page
    secret = start_setup(client)
    page = client.get("/account/two-factor").get_data(as_text=True)
    qr = re.search(r'<img class="qr" src="(data:image/svg\+xml[^"]+)"', page)
    assert qr, "the QR code is an inline data: image (the CSP allows img-src data:)"
    assert stored_secret(app, lee.id) == secret and not stored(app, lee.id).totp_enabled
    with app.app_context():
        uri = twofactor.setup_uri(db.session.get(User, lee.id))
    assert uri.startswith("otpauth://totp/Keepwarm:lee%40example.com?secret=" + secret)
    client.post("/logout")
    assert password_step(client).headers["Location"] == "/"  # still the password alone


def test_turning_it_on_asks_for_the_password_and_a_code(app, client, lee, login):
    login(lee)
    secret = start_setup(client)
    right_code = code_at(secret, T0)
    response = client.post(
        "/account/two-factor/enable",
        data={"setup-code": right_code, "setup-password": "not my password"},
    )
    assert response.status_code == 400
    assert field_error(response.get_data(as_text=True), "setup-password") == (
        "That is not your current password."
    )
    response = client.post(
        "/account/two-factor/enable", data={"setup-code": "123456", "setup-password": PASSWORD}
    )
    assert response.status_code == 400
    assert "That code is not right" in field_error(response.get_data(as_text=True), "setup-code")
    response = client.post("/account/two-factor/enable", data={"setup-code": right_code})
    assert response.status_code == 400
    assert not stored(app, lee.id).totp_enabled

    response = client.post(
        "/account/two-factor/enable", data={"setup-code": right_code, "setup-password": PASSWORD}
    )
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    codes = re.findall(r"<li><code>([a-z2-7-]+)</code></li>", page)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert all(re.fullmatch(r"[a-z2-7]{4}(-[a-z2-7]{4}){3}", code) for code in codes)
    assert stored(app, lee.id).totp_enabled


def test_recovery_codes_are_stored_hashed_and_shown_only_once(app, client, lee, login):
    login(lee)
    _, codes = turn_on(app, client)
    with app.app_context():
        hashes = db.session.execute(
            db.select(RecoveryCode.code_hash).filter_by(user_id=lee.id)
        ).scalars()
        hashes = list(hashes)
    assert len(hashes) == 10
    for code in codes:
        assert not any(code in h or code.replace("-", "") in h for h in hashes)
    page = client.get("/account/two-factor").get_data(as_text=True)
    assert "10 unused recovery codes" in page
    assert not any(code in page for code in codes)


def test_setup_cannot_be_restarted_while_it_is_on(app, client, lee, login):
    """Otherwise a stolen session could switch it off without the password."""
    login(lee)
    secret, _ = turn_on(app, client)
    assert client.post("/account/two-factor/start").status_code == 302
    assert stored(app, lee.id).totp_enabled and stored_secret(app, lee.id) == secret


# Logging in in two steps


def test_login_takes_two_steps_and_the_first_does_not_log_in(app, client, lee_with_2fa):
    _, secret, _ = lee_with_2fa
    response = password_step(client, query_string={"next": "/contacts/"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/login/code"
    assert not logged_in(client)  # not yet: the session is not authenticated
    assert client.get("/contacts/").headers["Location"].startswith("/login")
    page = client.get("/login/code").get_data(as_text=True)
    assert "Enter your code" in page

    response = code_step(client, code_at(secret, app.config["NOW"]))
    assert response.status_code == 302
    assert response.headers["Location"] == "/contacts/"
    assert logged_in(client)


def test_a_wrong_password_never_reaches_the_code_step(app, client, lee_with_2fa):
    response = password_step(client, password="not my password")
    assert response.status_code == 401
    assert client.get("/login/code").headers["Location"] == "/login"


def test_a_wrong_code_does_not_log_in(app, client, lee_with_2fa):
    password_step(client)
    for wrong in ("000000", "12345", "abcdef", "1234567", ""):
        response = code_step(client, wrong)
        assert response.status_code in (400, 401), wrong
        assert not logged_in(client)
    response = code_step(client, "000000")
    assert field_error(response.get_data(as_text=True), "code") == (
        "That code is not right, or was used already."
    )


def test_the_code_step_expires_after_five_minutes(app, client, lee_with_2fa):
    _, secret, _ = lee_with_2fa
    password_step(client)
    later = app.config["NOW"] + timedelta(minutes=5, seconds=1)
    app.config["NOW"] = later
    response = code_step(client, code_at(secret, later))
    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
    assert "took too long" in client.get("/login").get_data(as_text=True)
    assert not logged_in(client)


def test_the_code_step_dies_when_the_password_changes_meanwhile(app, client, lee_with_2fa):
    lee, secret, _ = lee_with_2fa
    password_step(client)
    with app.app_context():
        db.session.get(User, lee.id).session_version += 1  # a password change or logout
        db.session.commit()
    response = code_step(client, code_at(secret, app.config["NOW"]))
    assert response.headers["Location"] == "/login"
    assert not logged_in(client)


def test_a_code_works_once(app, client, lee_with_2fa):
    _, secret, _ = lee_with_2fa
    code = code_at(secret, app.config["NOW"])
    password_step(client)
    assert code_step(client, code).status_code == 302
    client.post("/logout")
    other = app.test_client()
    password_step(other)
    assert code_step(other, code).status_code == 401  # replayed within its 30 seconds
    assert not logged_in(other)
    app.config["NOW"] += timedelta(seconds=30)
    assert code_step(other, code_at(secret, app.config["NOW"])).status_code == 302


def test_codes_from_a_neighbouring_step_are_accepted_for_clock_drift(app, client, lee_with_2fa):
    _, secret, _ = lee_with_2fa
    now = app.config["NOW"]
    assert code_step_after_password(client, code_at(secret, now - timedelta(seconds=30)))
    assert not code_step_after_password(client, code_at(secret, now - timedelta(seconds=90)))
    assert not code_step_after_password(client, code_at(secret, now + timedelta(seconds=90)))


def code_step_after_password(client, code: str) -> bool:
    client.post("/logout")
    password_step(client)
    return code_step(client, code).status_code == 302


def test_each_recovery_code_works_once(app, client, lee_with_2fa):
    lee, _, codes = lee_with_2fa
    password_step(client)
    response = code_step(client, codes[0].upper().replace("-", " "))  # typed loosely
    assert response.status_code == 302
    assert "9 left" in client.get("/").get_data(as_text=True)
    client.post("/logout")
    password_step(client)
    assert code_step(client, codes[0]).status_code == 401
    assert code_step(client, codes[1]).status_code == 302
    with app.app_context():
        used = db.session.execute(
            db.select(db.func.count())
            .select_from(RecoveryCode)
            .where(RecoveryCode.user_id == lee.id, RecoveryCode.used_at.is_not(None))
        ).scalar()
    assert used == 2


def test_guessing_codes_is_throttled_under_its_own_key(app, client, lee_with_2fa):
    _, secret, _ = lee_with_2fa
    password_step(client)
    for _ in range(5):
        assert code_step(client, "000000").status_code == 401
    response = code_step(client, code_at(secret, app.config["NOW"]))  # right, but too soon
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "1"
    assert "Try again in 1 second" in field_error(response.get_data(as_text=True), "code")
    assert not logged_in(client)
    with app.app_context():
        keys = set(db.session.execute(db.select(LoginThrottle.key)).scalars())
    assert "2fa-account:lee@example.com" in keys
    assert "2fa-address:198.51.100.7" in keys
    assert "account:lee@example.com" not in keys  # the password was right: login's are clear

    app.config["NOW"] += timedelta(seconds=1)
    assert code_step(client, code_at(secret, app.config["NOW"])).status_code == 302


def test_twenty_wrong_codes_from_one_address_block_it(app, lee_with_2fa):
    _, secret, _ = lee_with_2fa
    with app.app_context():
        from tracker.accounts import record_login_failure

        for i in range(20):
            record_login_failure(f"u{i}@example.com", HOME["REMOTE_ADDR"], scope="2fa")
        db.session.commit()
    client = app.test_client()
    password_step(client)
    response = code_step(client, code_at(secret, app.config["NOW"]))
    assert response.status_code == 429
    assert "Too many wrong codes" in response.get_data(as_text=True)


# Turning it off, new recovery codes


def test_turning_it_off_asks_for_the_password(app, client, lee, login):
    login(lee)
    turn_on(app, client)
    response = client.post("/account/two-factor/disable", data={"disable-password": "wrong one"})
    assert response.status_code == 400
    assert stored(app, lee.id).totp_enabled
    response = client.post("/account/two-factor/disable", data={})
    assert response.status_code == 400
    assert stored(app, lee.id).totp_enabled

    response = client.post("/account/two-factor/disable", data={"disable-password": PASSWORD})
    assert response.status_code == 302
    user = stored(app, lee.id)
    assert not user.totp_enabled and user.totp_secret_sealed is None
    with app.app_context():
        assert db.session.execute(db.select(RecoveryCode).filter_by(user_id=lee.id)).first() is None
    client.post("/logout")
    assert password_step(client).headers["Location"] == "/"


def test_guessing_the_password_to_turn_it_off_is_throttled_like_a_login(app, client, lee, login):
    login(lee)
    turn_on(app, client)
    for _ in range(5):
        client.post("/account/two-factor/disable", data={"disable-password": "guess"})
    response = client.post("/account/two-factor/disable", data={"disable-password": PASSWORD})
    assert response.status_code == 429
    assert stored(app, lee.id).totp_enabled


def test_new_recovery_codes_replace_the_old_ones(app, client, lee, login):
    login(lee)
    _, old = turn_on(app, client)
    response = client.post(
        "/account/two-factor/recovery-codes", data={"renew-password": "wrong one"}
    )
    assert response.status_code == 400
    response = client.post("/account/two-factor/recovery-codes", data={"renew-password": PASSWORD})
    assert response.status_code == 200
    new = re.findall(r"<li><code>([a-z2-7-]+)</code></li>", response.get_data(as_text=True))
    assert len(new) == 10 and not set(new) & set(old)
    with app.app_context():
        user = db.session.get(User, lee.id)
        assert not twofactor.use_recovery_code(user, old[0])
        assert twofactor.use_recovery_code(user, new[0])


# The secret at rest, and a new SECRET_KEY

NEW_KEY = "another-secret-key-" + "y" * 40
LOST = "Codes from your app cannot be checked at the moment. Enter one of your recovery codes."


def stored_values(app) -> str:
    """Every value of every table, as a copy of the database would hold them."""
    with app.app_context():
        return "\n".join(
            str(value)
            for table in db.metadata.sorted_tables
            for row in db.session.execute(table.select())
            for value in row
        )


def test_the_database_never_holds_the_secret(app, client, lee, login):
    login(lee)
    secret = start_setup(client)
    assert secret not in stored_values(app)  # not while setting up
    client.post("/logout")
    login(lee)
    secret, _ = turn_on(app, client)
    client.post("/logout")
    app.config["NOW"] += timedelta(minutes=1)
    password_step(client)
    assert code_step(client, code_at(secret, app.config["NOW"])).status_code == 302
    assert logged_in(client)
    values = stored_values(app)
    assert secret not in values and secret.lower() not in values
    with app.app_context():
        assert db.session.get(User, lee.id).totp_secret_sealed  # but something is kept


def test_codes_still_work_once_the_old_key_is_among_the_fallbacks(app, client, lee_with_2fa):
    _, secret, _ = lee_with_2fa
    old = app.config["SECRET_KEY"]
    app.config.update(SECRET_KEY=NEW_KEY, SECRET_KEY_FALLBACKS=[old])
    assert password_step(client).headers["Location"] == "/login/code"
    assert code_step(client, code_at(secret, app.config["NOW"])).status_code == 302
    assert logged_in(client)
    # That login sealed the secret again with the new key: the old one may now go.
    client.post("/logout")
    app.config["SECRET_KEY_FALLBACKS"] = []
    app.config["NOW"] += timedelta(seconds=30)
    password_step(client)
    assert code_step(client, code_at(secret, app.config["NOW"])).status_code == 302
    assert logged_in(client)


def test_with_an_unrelated_key_the_login_asks_for_a_recovery_code(app, client, lee_with_2fa):
    _, secret, codes = lee_with_2fa
    app.config.update(SECRET_KEY=NEW_KEY, SECRET_KEY_FALLBACKS=[])
    assert password_step(client).headers["Location"] == "/login/code"
    page = client.get("/login/code")
    assert page.status_code == 200
    assert "secret key has changed. Enter one of your recovery codes" in page.get_data(as_text=True)
    response = code_step(client, code_at(secret, app.config["NOW"]))
    assert response.status_code == 401
    assert field_error(response.get_data(as_text=True), "code") == LOST
    assert code_step(client, codes[0]).status_code == 302
    assert logged_in(client)

    page = client.get("/account/two-factor").get_data(as_text=True)
    assert "Turn two-factor login off and set it up again" in page
    response = client.post("/account/two-factor/disable", data={"disable-password": PASSWORD})
    assert response.status_code == 302
    secret, _ = turn_on(app, client)  # set up again, sealed with the new key
    client.post("/logout")
    app.config["NOW"] += timedelta(minutes=1)
    password_step(client)
    assert code_step(client, code_at(secret, app.config["NOW"])).status_code == 302


# The pieces


def test_a_code_for_a_user_without_a_secret_is_never_right(app, lee):
    with app.app_context():
        user = db.session.get(User, lee.id)
        assert not twofactor.verify_code(user, "123456")
        assert twofactor.second_factor(user, "123456") is None


def test_the_secret_has_160_bits_and_recovery_codes_80():
    assert len(twofactor.new_secret()) == 32  # base32: 5 bits a character
    assert twofactor.RECOVERY_CODE_BYTES * 8 == 80
