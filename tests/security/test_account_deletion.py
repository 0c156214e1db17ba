"""Deleting the account: the password asked, every row of the user gone, every session ended."""

from datetime import UTC, datetime
from pathlib import Path

import pytest
from helpers import field_error

from tracker.accounts import record_login_failure
from tracker.db import db
from tracker.mail import dispatch, enqueue_test_email
from tracker.models import Contact, Interview, LoginThrottle, User

PASSWORD = "correct horse battery staple"  # the make_user default in tests/conftest.py
T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
# Tables whose rows belong to a user through a parent row rather than a user_id.
THROUGH = {"position": ("contact_id", Contact), "participant": ("interview_id", Interview)}


@pytest.fixture
def ann(make_owner):
    return make_owner("ann", "Zebra Labs")


@pytest.fixture
def bob(make_owner):
    return make_owner("bob", "Yak Industries")


def split_rows(app, user_id: int) -> tuple[dict[str, int], dict[str, list[str]]]:
    """(how many rows of each table are the user's, every other row of every table)."""
    with app.app_context():
        mine, others = {}, {}
        for table in db.metadata.sorted_tables:
            if table.name == "user":
                column, owners = "id", {user_id}
            elif table.name in THROUGH:
                column, parent = THROUGH[table.name]
                query = db.select(parent.id).filter_by(user_id=user_id)
                owners = set(db.session.execute(query).scalars())
            elif "user_id" in table.c:
                column, owners = "user_id", {user_id}
            else:
                column, owners = None, set()
            rows = [row._asdict() for row in db.session.execute(table.select())]
            theirs = [r for r in rows if column and r[column] in owners]
            if column:
                mine[table.name] = len(theirs)
            others[table.name] = sorted(repr(r) for r in rows if r not in theirs)
        return mine, others


def delete(client, password: str = PASSWORD):
    return client.post("/account/delete", data={"delete-password": password})


def test_a_wrong_or_missing_password_deletes_nothing(app, ann):
    before = split_rows(app, ann.user.id)
    response = delete(ann.client, "not my password")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert field_error(page, "delete-password") == "That is not your current password."
    assert delete(ann.client, "").status_code == 400
    after = split_rows(app, ann.user.id)
    assert after[0] == before[0]
    assert ann.client.get("/account").status_code == 200


def test_deleting_removes_every_row_of_the_user_and_nothing_else(app, ann, bob):
    with app.app_context():
        for email in ("ann@example.com", "bob@example.com"):
            record_login_failure(email, "192.0.2.1", now=T0)
            record_login_failure(email, "192.0.2.1", now=T0, scope="2fa")
        db.session.commit()
    mine, others = split_rows(app, ann.user.id)
    assert all(count > 0 for count in mine.values()), mine  # something of every kind

    response = delete(ann.client)
    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
    page = ann.client.get("/login").get_data(as_text=True)
    assert "Your account and everything in it have been deleted." in page

    mine_after, others_after = split_rows(app, ann.user.id)
    assert set(mine_after.values()) == {0}
    keep = {name: rows for name, rows in others.items() if name != "login_throttle"}
    assert {name: rows for name, rows in others_after.items() if name in keep} == keep
    with app.app_context():
        keys = set(db.session.execute(db.select(LoginThrottle.key)).scalars())
    assert "account:ann@example.com" not in keys and "2fa-account:ann@example.com" not in keys
    assert {"account:bob@example.com", "2fa-account:bob@example.com"} <= keys
    assert bob.client.get(f"/contacts/{bob.ids['contact_id']}").status_code == 200


def test_deleting_ends_every_session(app, ann, login):
    phone = login(ann.user, as_client=app.test_client())
    cookie = ann.client.get_cookie(app.config["SESSION_COOKIE_NAME"]).value
    assert delete(ann.client).status_code == 302
    replayed = app.test_client()
    replayed.set_cookie(app.config["SESSION_COOKIE_NAME"], cookie)
    for client in (phone, replayed, ann.client):
        response = client.get("/contacts/")
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/login")
    response = app.test_client().post(
        "/login", data={"email": "ann@example.com", "password": PASSWORD}
    )
    assert response.status_code == 401


def test_emails_written_to_files_are_removed_too(app, ann):
    with app.app_context():
        enqueue_test_email(db.session.get(User, ann.user.id))
        db.session.commit()
        dispatch()
    mail = Path(app.instance_path) / "mail"
    assert list(mail.glob("*.eml"))
    assert delete(ann.client).status_code == 302
    assert list(mail.glob("*.eml")) == []
