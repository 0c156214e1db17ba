"""Password reset by email: one link, used once, within 60 minutes, and only until the
password changes; the same answer whether the address has an account or not."""

import re
from datetime import UTC, datetime, timedelta
from email import message_from_string
from email.policy import default as default_policy
from urllib.parse import urlsplit

import pytest
from helpers import field_error, row_counts

from tracker import jobs, reset, twofactor
from tracker.db import db
from tracker.models import LoginThrottle, Outbox, OutboxStatus, PasswordReset, User
from tracker.web import reset as reset_view

PASSWORD = "correct horse battery staple"  # the make_user default in tests/conftest.py
NEW_PASSWORD = "a brand new passphrase"
T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
BASE_URL = "https://keepwarm.example"
SENT = "If an account uses that address, an email with a link"


@pytest.fixture
def lee(app, make_user):
    app.config["NOW"] = T0
    app.config["BASE_URL"] = BASE_URL
    return make_user("lee@example.com")


def ask(client, email: str = "lee@example.com", address: str = "198.51.100.7"):
    return client.post(
        "/forgot-password", data={"email": email}, environ_base={"REMOTE_ADDR": address}
    )


def reset_emails(app) -> list[Outbox]:
    with app.app_context():
        rows = db.session.execute(
            db.select(Outbox).filter_by(kind="reset").order_by(Outbox.id)
        ).scalars()
        rows = list(rows)
        db.session.expunge_all()
        return rows


def link_in(row: Outbox) -> str:
    message = message_from_string(row.message, policy=default_policy)
    return re.search(r"https?://\S+/reset/\S+", message.get_content()).group(0)


def path_of(link: str) -> str:
    return urlsplit(link).path


def emailed_link(app, client, **kwargs) -> str:
    assert ask(client, **kwargs).status_code == 302
    return link_in(reset_emails(app)[-1])


def choose(client, link: str, password: str = NEW_PASSWORD):
    """Open the link, then post the new password; returns the last response."""
    opened = client.get(path_of(link))
    if opened.status_code != 302:
        return opened
    return client.post(opened.headers["Location"], data={"new_password": password})


def can_log_in(app, password: str) -> bool:
    client = app.test_client()
    response = client.post("/login", data={"email": "lee@example.com", "password": password})
    return response.status_code == 302


# Asking for a link


def test_the_link_goes_out_through_the_outbox_with_the_base_url(app, client, lee):
    response = ask(client)
    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
    assert SENT in client.get("/login").get_data(as_text=True)
    [row] = reset_emails(app)
    assert row.user_id == lee.id and row.recipient == "lee@example.com"
    assert re.fullmatch(rf"reset:{lee.id}:[0-9a-f-]{{36}}", row.key)
    assert row.subject == "Reset your Keepwarm password"
    link = link_in(row)
    assert link.startswith(f"{BASE_URL}/reset/")
    assert "60 minutes" in message_from_string(row.message, policy=default_policy).get_content()


def test_the_token_has_256_bits_and_only_its_hash_is_stored(app, client, lee):
    link = emailed_link(app, client)
    token = path_of(link).rsplit("/", 1)[1]
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", token)  # 32 random bytes, base64url
    with app.app_context():
        [stored] = db.session.execute(db.select(PasswordReset)).scalars()
        assert stored.token_hash == reset.token_hash(token) != token
        everything = repr([tuple(r) for r in db.session.execute(PasswordReset.__table__.select())])
    assert token not in everything


def everything_seen(app, response) -> tuple:
    """A response as its receiver sees it: status, headers, body and the session cookie's
    contents and attributes. (The cookie's signature holds the second it was made; the
    form token on a page is signed with one too, so it is left out.)"""
    headers = [(name, value) for name, value in response.headers if name != "Set-Cookie"]
    cookies = []
    for cookie in response.headers.getlist("Set-Cookie"):
        pair, _, attributes = cookie.partition(";")
        name, _, value = pair.partition("=")
        contents = app.session_interface.get_signing_serializer(app).loads(value)
        cookies.append((name, contents, attributes))
    body = re.sub(rb'name="csrf_token" type="hidden" value="[^"]+"', b"", response.data)
    return response.status_code, headers, body, cookies


def test_the_answer_is_identical_for_an_account_a_two_factor_account_and_no_account(
    app, lee, make_user
):
    ana = make_user("ana@example.com")
    with app.app_context():
        user = db.session.get(User, ana.id)
        twofactor.start_setup(user)
        twofactor.enable(user)
        db.session.commit()
    answers = []
    for email in ("lee@example.com", "ana@example.com", "nobody@example.com"):
        client = app.test_client()
        with client.session_transaction() as session:
            session["csrf_token"] = "one form token for every asker"  # sessions compare equal
        response = ask(client, email)
        page = client.get(response.headers["Location"])  # the flashed message
        answers.append((everything_seen(app, response), everything_seen(app, page)))
    assert answers[0] == answers[1] == answers[2]
    (status, headers, _, [cookie]), (_, _, page, _) = answers[0]
    assert status == 302 and ("Location", "/login") in headers
    assert cookie[1]["_flashes"] == [("info", reset_view.SENT)]
    assert reset_view.SENT.encode() in page
    assert [row.recipient for row in reset_emails(app)] == ["lee@example.com", "ana@example.com"]


def test_a_missing_or_malformed_address_is_a_field_error(app, client, lee):
    response = client.post("/forgot-password", data={"email": ""})
    assert response.status_code == 400
    assert field_error(response.get_data(as_text=True), "email") == "Enter your email address."
    assert reset_emails(app) == []


def test_at_most_three_live_links_per_account(app, lee):
    for i in range(5):
        ask(app.test_client(), address=f"192.0.2.{i}")
        app.config["NOW"] += timedelta(minutes=2)  # past the per-account wait
    assert len(reset_emails(app)) == 3
    app.config["NOW"] = T0 + timedelta(minutes=61)  # the first links have died
    ask(app.test_client(), address="192.0.2.99")
    assert len(reset_emails(app)) == 4


def test_requests_from_one_address_are_limited(app, lee):
    client = app.test_client()
    for i in range(20):
        assert ask(client, f"someone{i}@example.com").status_code == 302
    response = ask(client)
    assert response.status_code == 429
    assert "Too many reset requests" in response.get_data(as_text=True)
    assert reset_emails(app) == []
    with app.app_context():
        assert db.session.get(LoginThrottle, "reset-address:198.51.100.7").failures == 20


def database_text(app) -> str:
    """Every value of every table, as a dump would hold it (quoted-printable lines joined)."""
    with app.app_context():
        values = [
            str(value)
            for table in db.metadata.sorted_tables
            for row in db.session.execute(table.select())
            for value in row
        ]
    return "\n".join(values).replace("=\r\n", "")


@pytest.mark.parametrize(("answer", "status"), [("ok", "sent"), ("5xx", "failed")])
def test_once_sent_or_given_up_the_outbox_keeps_no_link(
    app, client, lee, smtp_server, answer, status
):
    app.config.update(smtp_server.config())
    link = emailed_link(app, client)
    token = path_of(link).rsplit("/", 1)[1]
    assert token in database_text(app)  # queued: the sender still needs it
    smtp_server.mode = answer
    with app.app_context():
        jobs.dispatch_outbox()
    [attempt] = smtp_server.attempted()
    assert link in attempt.get_content()  # what went out held the link
    [row] = reset_emails(app)
    assert row.status is OutboxStatus(status)
    assert token not in database_text(app)
    kept = message_from_string(row.message, policy=default_policy)
    assert "only the headers are kept" in kept.get_content()
    for header in ("From", "To", "Subject", "Message-ID", "Date"):
        assert kept[header] == attempt[header]
    assert choose(client, link).status_code == 302  # the emailed link itself still works


# Using the link


def test_the_link_sets_a_new_password_once_and_does_not_log_in(app, client, lee):
    link = emailed_link(app, client)
    opened = client.get(path_of(link))
    assert opened.status_code == 302
    assert opened.headers["Location"] == "/reset-password"  # the token leaves the address bar
    page = client.get("/reset-password").get_data(as_text=True)
    assert "Choose a new password" in page and "lee@example.com" in page
    response = client.post("/reset-password", data={"new_password": NEW_PASSWORD})
    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
    assert client.get("/account").status_code == 302  # not logged in by the link
    assert can_log_in(app, NEW_PASSWORD) and not can_log_in(app, PASSWORD)

    again = app.test_client().get(path_of(link))
    assert again.status_code == 404
    assert "This link is not valid" in again.get_data(as_text=True)
    assert client.get("/reset-password").status_code == 404


def test_the_new_password_must_meet_the_policy(app, client, lee):
    response = choose(client, emailed_link(app, client), password="short")
    assert response.status_code == 400
    assert field_error(response.get_data(as_text=True), "new_password") == (
        "Use at least 8 characters."
    )
    assert can_log_in(app, PASSWORD)


def test_the_link_dies_after_60_minutes(app, client, lee):
    link = emailed_link(app, client)
    app.config["NOW"] = T0 + timedelta(minutes=59, seconds=59)
    opened = client.get(path_of(link))
    assert opened.status_code == 302
    app.config["NOW"] = T0 + timedelta(minutes=60)
    # Opened in time, but the form is posted too late: refused as well.
    response = client.post("/reset-password", data={"new_password": NEW_PASSWORD})
    assert response.status_code == 404
    assert app.test_client().get(path_of(link)).status_code == 404
    assert can_log_in(app, PASSWORD)


def test_a_password_change_kills_every_link(app, client, lee, login):
    first, second = emailed_link(app, client), emailed_link(app, app.test_client())
    account = login(lee, as_client=app.test_client())
    changed = account.post(
        "/account/password", data={"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    )
    assert changed.status_code == 302
    for link in (first, second):
        assert app.test_client().get(path_of(link)).status_code == 404
    with app.app_context():
        assert db.session.execute(db.select(PasswordReset)).first() is None


def test_using_one_link_kills_the_others(app, client, lee):
    first, second = emailed_link(app, client), emailed_link(app, app.test_client())
    assert choose(client, first).status_code == 302
    assert choose(app.test_client(), second, "yet another passphrase").status_code == 404
    assert can_log_in(app, NEW_PASSWORD)


def test_a_reset_ends_every_session(app, client, lee, login):
    laptop = login(lee, as_client=app.test_client())
    assert laptop.get("/account").status_code == 200
    before = row_counts(app)
    assert choose(client, emailed_link(app, client)).status_code == 302
    response = laptop.get("/account")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    with app.app_context():
        assert db.session.get(User, lee.id).session_version == lee.session_version + 1
    assert row_counts(app)["user"] == before["user"]


def test_two_factor_login_still_stands_after_a_reset(app, client, lee):
    with app.app_context():
        user = db.session.get(User, lee.id)
        twofactor.start_setup(user)
        twofactor.enable(user)
        db.session.commit()
    assert choose(client, emailed_link(app, client)).status_code == 302
    response = app.test_client().post(
        "/login", data={"email": "lee@example.com", "password": NEW_PASSWORD}
    )
    assert response.headers["Location"] == "/login/code"


@pytest.mark.parametrize(
    "token",
    ["x", "A" * 43, "A" * 44, "A" * 42 + "!", "%00", "a" * 500],
)
def test_unknown_and_malformed_tokens_get_the_same_404(app, client, lee, token):
    emailed_link(app, client)
    response = client.get(f"/reset/{token}")
    assert response.status_code == 404
    assert "This link is not valid" in response.get_data(as_text=True)


def test_the_delivery_page_does_not_show_the_link(app, client, lee, login):
    """A stolen session could otherwise ask for a link and read it there."""
    link = emailed_link(app, client)
    account = login(lee, as_client=app.test_client())
    [row] = reset_emails(app)
    page = account.get(f"/delivery/{row.id}").get_data(as_text=True)
    assert "Reset your Keepwarm password" in page
    assert path_of(link).rsplit("/", 1)[1] not in page
