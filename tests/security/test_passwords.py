"""Line 1, in the pages: every password box takes a pasted password of any length (no
maxlength below the policy's limit, nothing that blocks paste), and a long one round-trips
through the real forms. (The policy itself is proven in tests/test_accounts.py.)"""

import re

from helpers import field_error

from tracker import reset
from tracker.accounts import MAX_PASSWORD_LENGTH
from tracker.db import db
from tracker.models import Outbox

from .payloads import Elements
from .walk import PASSWORD

LONG = "".join(f"{i:04d} kettle " for i in range(200))[:1000]


def password_inputs(page: str) -> list[dict]:
    parser = Elements()
    parser.feed(page)
    return [
        attrs
        for tag, attrs in parser.elements
        if tag == "input" and attrs.get("type") == "password"
    ]


def test_password_boxes_take_any_length_and_allow_paste(app, client, make_user, login):
    pages = {path: client.get(path).get_data(as_text=True) for path in ("/login", "/register")}
    user = make_user("lee@example.com")
    login(user)
    client.post("/account/two-factor/start")
    for path in ("/account", "/account/two-factor"):
        pages[path] = client.get(path).get_data(as_text=True)
    boxes = 0
    for path, page in pages.items():
        for box in password_inputs(page):
            boxes += 1
            assert int(box.get("maxlength") or MAX_PASSWORD_LENGTH) >= MAX_PASSWORD_LENGTH, path
            assert not any(name.startswith("on") for name in box), (path, box)
            assert box.get("autocomplete") in ("current-password", "new-password"), (path, box)
    assert boxes >= 6
    script = app.root_path + "/static/app.js"
    with open(script) as handle:
        assert "paste" not in handle.read()


def test_a_1000_character_pasted_password_works_end_to_end(app, client):
    registered = client.post(
        "/register", data={"email": "kim@example.com", "password": LONG, "timezone": "UTC"}
    )
    assert registered.status_code == 302
    client.post("/logout")
    other = app.test_client()
    response = other.post("/login", data={"email": "kim@example.com", "password": LONG[:128]})
    assert response.status_code == 401  # the first 128 characters are not enough
    response = other.post("/login", data={"email": "kim@example.com", "password": LONG})
    assert response.status_code == 302


def test_every_form_that_sets_a_password_applies_the_policy(app, client, make_user, login):
    """Registration, the password change and the reset link refuse a common password."""
    make_user("lee@example.com")
    with app.app_context():
        reset.request_reset("lee@example.com")
        db.session.commit()
        message = db.session.execute(db.select(Outbox.message).filter_by(kind="reset")).scalar()
    link = re.search(r"/reset/[A-Za-z0-9_-]{43}", message.replace("=\r\n", "")).group(0)
    anonymous = app.test_client()
    assert anonymous.get(link).status_code == 302
    login(make_user("kim@example.com"))
    forms = [
        (
            app.test_client(),
            "/register",
            {"email": "new@example.com", "timezone": "UTC"},
            "password",
        ),
        (client, "/account/password", {"current_password": PASSWORD}, "new_password"),
        (anonymous, "/reset-password", {}, "new_password"),
    ]
    for who, path, data, field in forms:
        for common in ("password1", "Qwertyuiop", "ＰＡＳＳＷＯＲＤ１"):
            response = who.post(path, data={**data, field: common})
            assert response.status_code == 400, (path, common)
            assert field_error(response.get_data(as_text=True), field) == (
                "This password is one of the most common ones; choose another."
            )
