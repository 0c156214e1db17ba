"""Failed logins slow the account and stop the address, for a while, never for good."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from argon2 import PasswordHasher

from tracker import create_app
from tracker.accounts import (
    ACCOUNT_MAX_DELAY,
    account_delay,
    login_throttle,
    record_login_failure,
)
from tracker.db import db
from tracker.models import LoginThrottle, User

PASSWORD = "correct horse battery staple"  # the make_user default in tests/conftest.py
T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
HOME = {"REMOTE_ADDR": "198.51.100.7"}
ELSEWHERE = {"REMOTE_ADDR": "203.0.113.99"}
# A cheap hash of the right password: verifying is fast, and a successful check would
# replace it with a full-strength one, so an unchanged hash proves no check happened.
WEAK = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)


@pytest.fixture
def lee(app, make_user):
    user = make_user("lee@example.com")
    with app.app_context():
        stored = db.session.get(User, user.id)
        stored.password_hash = WEAK.hash(PASSWORD)
        db.session.commit()
    app.config["NOW"] = T0
    return user


def attempt(client, password: str, email: str = "lee@example.com", address=HOME):
    return client.post("/login", data={"email": email, "password": password}, environ_base=address)


def at(app, **delta) -> None:
    app.config["NOW"] = T0 + timedelta(**delta)


def wait_seconds(response) -> int:
    match = re.search(r"Try again in (\d+) seconds?\.", response.get_data(as_text=True))
    assert match, response.get_data(as_text=True)
    return int(match.group(1))


def stored_hash(app) -> str:
    with app.app_context():
        return db.session.execute(
            db.select(User.password_hash).filter_by(email="lee@example.com")
        ).scalar_one()


def account_failures(app, email: str = "lee@example.com") -> int | None:
    with app.app_context():
        row = db.session.get(LoginThrottle, "account:" + email)
        return row.failures if row else None


def fail_from(app, address: str, count: int, spread=timedelta(minutes=9)) -> None:
    """`count` failures from one address, each for a different account, over `spread`."""
    with app.app_context():
        for i in range(count):
            when = app.config["NOW"] + spread * i / max(count - 1, 1)
            record_login_failure(f"guess{i}@example.com", address, now=when)
        db.session.commit()


# Per account


def test_five_failures_are_free_and_the_sixth_must_wait(app, client, lee):
    for _ in range(5):
        assert attempt(client, "wrong guess").status_code == 401
    hash_before = stored_hash(app)

    response = attempt(client, PASSWORD)  # the right password, right away
    assert response.status_code == 429
    assert wait_seconds(response) == 1
    assert response.headers["Retry-After"] == "1"
    # Refused before the password check: no rehash, not counted, not logged in.
    assert stored_hash(app) == hash_before
    assert account_failures(app) == 5
    assert client.get("/account").status_code == 302


def test_the_delay_grows_with_each_failure(app, client, lee):
    with app.app_context():
        for _ in range(5):
            record_login_failure("lee@example.com", "192.0.2.1", now=T0)
        db.session.commit()
    waited = timedelta(0)
    seen = []
    for _ in range(4):
        response = attempt(client, "wrong guess")
        assert response.status_code == 429
        seconds = wait_seconds(response)
        seen.append(seconds)
        waited += timedelta(seconds=seconds)
        app.config["NOW"] = T0 + waited
        assert attempt(client, "wrong guess").status_code == 401
    assert seen == [1, 2, 4, 8]


def test_the_account_key_ignores_the_case_of_the_email(app, client, lee):
    for email in ("LEE@example.com", "Lee@Example.com", " lee@EXAMPLE.COM", "lee@example.com"):
        attempt(client, "wrong guess", email=email)
    attempt(client, "wrong guess", email="LEE@EXAMPLE.COM")
    assert account_failures(app) == 5
    assert attempt(client, PASSWORD).status_code == 429


@pytest.mark.real_password_hashing
def test_the_delay_is_capped_so_an_account_is_never_locked_for_good(app, client, lee):
    with app.app_context():
        for _ in range(500):
            record_login_failure("lee@example.com", "192.0.2.1", now=T0)
        db.session.commit()
    response = attempt(client, PASSWORD)
    assert response.status_code == 429
    assert wait_seconds(response) == ACCOUNT_MAX_DELAY.total_seconds() == 15 * 60

    at(app, minutes=15)
    response = attempt(client, PASSWORD)
    assert response.status_code == 302
    # The right password after the wait clears the account's count and upgrades the hash.
    assert account_failures(app) is None
    assert stored_hash(app).startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    client.post("/logout")

    assert attempt(client, "wrong guess").status_code == 401
    assert account_failures(app) == 1


def test_failures_older_than_an_hour_are_forgotten(app, client, lee):
    for _ in range(6):
        attempt(client, "wrong guess")
    at(app, hours=1)
    assert attempt(client, "wrong guess").status_code == 401
    assert account_failures(app) == 1


def test_delays_double_and_stop_growing():
    assert [account_delay(n).total_seconds() for n in range(9)] == [0, 0, 0, 0, 0, 1, 2, 4, 8]
    assert account_delay(10_000) == ACCOUNT_MAX_DELAY


def test_at_most_100_guesses_an_hour_reach_the_password_check(app):
    """An attacker who retries the moment they are allowed, for one hour."""
    checked = 0
    now = T0
    with app.app_context():
        while now < T0 + timedelta(hours=1):
            verdict = login_throttle("lee@example.com", f"192.0.2.{checked % 250}", now=now)
            if verdict.allowed:
                checked += 1
                record_login_failure("lee@example.com", f"192.0.2.{checked % 250}", now=now)
            else:
                now += timedelta(seconds=verdict.retry_after)
    assert 5 < checked <= 100


# Per address


def test_twenty_failures_from_one_address_block_it_for_every_account(app, client, lee):
    fail_from(app, HOME["REMOTE_ADDR"], 19)
    at(app, minutes=9)
    response = attempt(client, "wrong guess", email="someone.else@example.com")
    assert response.status_code == 401

    hash_before = stored_hash(app)
    response = attempt(client, PASSWORD)  # a real account, the right password
    assert response.status_code == 429
    assert "Too many attempts" in response.get_data(as_text=True)
    assert int(response.headers["Retry-After"]) > 0
    assert stored_hash(app) == hash_before
    assert client.get("/account").status_code == 302

    # A header claiming another address changes nothing: only the connection counts.
    response = attempt(client, PASSWORD, address={**HOME, "HTTP_X_FORWARDED_FOR": "10.9.9.9"})
    assert response.status_code == 429

    # Lee on another network is not affected.
    elsewhere = app.test_client()
    assert attempt(elsewhere, PASSWORD, address=ELSEWHERE).status_code == 302


def test_the_address_block_lifts_after_ten_minutes(app, client, lee):
    fail_from(app, HOME["REMOTE_ADDR"], 20)
    at(app, minutes=9, seconds=59)
    assert attempt(client, PASSWORD).status_code == 429
    at(app, minutes=10)
    assert attempt(client, PASSWORD).status_code == 302


def test_failures_spread_over_more_than_ten_minutes_do_not_block(app, client, lee):
    fail_from(app, HOME["REMOTE_ADDR"], 19, spread=timedelta(minutes=5))
    at(app, minutes=11)
    assert attempt(client, "wrong guess", email="x@example.com").status_code == 401
    assert attempt(client, PASSWORD).status_code == 302


# Shared state


def test_the_throttle_lives_in_the_database_and_every_process_sees_it(app, client, lee):
    fail_from(app, HOME["REMOTE_ADDR"], 20)
    for _ in range(5):
        attempt(client, "wrong guess", address=ELSEWHERE)

    keys = ("TESTING", "SECRET_KEY", "SQLALCHEMY_DATABASE_URI")
    other = create_app(
        {key: app.config[key] for key in keys}
        | {"INSTANCE_PATH": app.instance_path, "NOW": app.config["NOW"]}
    )
    other.test_client_class = app.test_client_class
    try:
        second = other.test_client()
        assert attempt(second, PASSWORD).status_code == 429  # the address
        response = attempt(second, PASSWORD, address={"REMOTE_ADDR": "192.0.2.200"})
        assert response.status_code == 429  # the account
        assert wait_seconds(response) == 1
    finally:
        with other.app_context():
            db.session.remove()
            db.engine.dispose()


# The current password on the account page is a password check too


def test_guessing_the_current_password_is_throttled_like_a_login(app, client, lee, login):
    login(lee)
    change = {"new_password": "a brand new passphrase"}
    for _ in range(5):
        response = client.post("/account/password", data={**change, "current_password": "guess"})
        assert response.status_code == 400
    hash_before = stored_hash(app)

    response = client.post("/account/password", data={**change, "current_password": PASSWORD})
    assert response.status_code == 429
    assert wait_seconds(response) == 1
    assert stored_hash(app) == hash_before
    assert account_failures(app) == 5

    at(app, seconds=1)
    response = client.post("/account/password", data={**change, "current_password": PASSWORD})
    assert response.status_code == 302
    assert stored_hash(app) != hash_before
    assert account_failures(app) is None
