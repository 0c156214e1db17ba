"""Settings: the digest and the playbook's numbers, validated, saved whole, and used."""

from datetime import date, timedelta

import pytest
from helpers import field_error, field_value, selected_option, utc

from tracker.db import db
from tracker.followups import settings_of
from tracker.models import FollowUp, FollowUpKind, Outbox, Outcome, User

DEFAULTS = {
    "digest_enabled": "y",
    "digest_hour": "8",
    "thank_you_after_days": "1",
    "stale_after_days": "7",
    "feedback_after_days": "7",
    "status_check_after_days": "7",
    "first_check_in_days": "90",
    "second_check_in_days": "180",
    "repeat_check_in_days": "180",
}
LABELS = [
    "Thank-you note: days after the interview",
    "Don't plan anything already more than N days overdue",
    "Ask for feedback N days after a rejection",
    "Status check N days after an interview with no news",
    "First check-in N days after",
    "Second check-in N days after",
    "Then every N days",
]


@pytest.fixture(autouse=True)
def fixed_clock(app):
    app.config["NOW"] = utc(2026, 11, 21, 9, 0)


def settings_form(**changes) -> dict:
    data = {**DEFAULTS, **changes}
    return {key: value for key, value in data.items() if value is not None}


def stored(app, user_id: int) -> dict:
    with app.app_context():
        user = db.session.get(User, user_id)
        return {name: getattr(user, name) for name in DEFAULTS}


def test_page_shows_the_defaults_with_plain_labels(client, login, make_user):
    login(make_user(timezone="Europe/Berlin"))

    page = client.get("/settings/")

    assert page.status_code == 200
    text = page.get_data(as_text=True)
    for label in LABELS:
        assert label.replace("'", "&#39;") in text
    assert field_value(text, "thank_you_after_days") == "1"
    assert field_value(text, "stale_after_days") == "7"
    assert field_value(text, "first_check_in_days") == "90"
    assert field_value(text, "second_check_in_days") == "180"
    assert field_value(text, "repeat_check_in_days") == "180"
    assert selected_option(text, "digest_hour") == "8"
    assert '<option selected value="8">08:00</option>' in text or ">08:00<" in text
    assert "In your time zone, Europe/Berlin" in text
    assert 'href="/delivery/"' in text


def test_settings_is_in_the_navigation(client, login, make_user):
    login(make_user())
    assert 'href="/settings/"' in client.get("/").get_data(as_text=True)


def test_saving_changes_everything_and_says_so(app, client, login, make_user):
    user = make_user()
    login(user)

    response = client.post(
        "/settings/",
        data=settings_form(
            digest_enabled=None,
            digest_hour="18",
            thank_you_after_days="2",
            stale_after_days="14",
            feedback_after_days="10",
            status_check_after_days="5",
            first_check_in_days="60",
            second_check_in_days="120",
            repeat_check_in_days="365",
        ),
        follow_redirects=True,
    )

    assert response.status_code == 200
    assert "Settings saved." in response.get_data(as_text=True)
    assert stored(app, user.id) == {
        "digest_enabled": False,
        "digest_hour": 18,
        "thank_you_after_days": 2,
        "stale_after_days": 14,
        "feedback_after_days": 10,
        "status_check_after_days": 5,
        "first_check_in_days": 60,
        "second_check_in_days": 120,
        "repeat_check_in_days": 365,
    }


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("thank_you_after_days", "", "Enter a whole number from 0 to 60."),
        ("stale_after_days", "seven", "Enter a whole number of days, like 7."),
        ("thank_you_after_days", "7.5", "Enter a whole number of days, like 7."),
        ("status_check_after_days", "0", "Enter a whole number from 1 to 365."),
        ("first_check_in_days", "-5", "Enter a whole number from 1 to 3650."),
        ("repeat_check_in_days", "9" * 40, "Enter a whole number from 1 to 3650."),
        ("repeat_check_in_days", "9" * 5000, "Enter a whole number of days, like 7."),
        ("second_check_in_days", "90", "Make the second check-in later than the first."),
        ("digest_hour", "24", "Pick an hour from the list."),
        ("digest_hour", "eight", "Pick an hour from the list."),
    ],
)
def test_bad_values_are_named_next_to_their_field_and_nothing_is_saved(
    app, client, login, make_user, field, value, message
):
    user = make_user()
    login(user)
    before = stored(app, user.id)

    response = client.post(
        "/settings/",
        data=settings_form(**{"digest_enabled": None, "feedback_after_days": "8", field: value}),
    )

    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert field_error(text, field) == message
    assert "Nothing was saved." in text
    assert stored(app, user.id) == before


def test_a_missing_field_is_an_error_too(app, client, login, make_user):
    user = make_user()
    login(user)
    data = settings_form()
    del data["first_check_in_days"]

    response = client.post("/settings/", data=data)

    assert response.status_code == 400
    assert field_error(response.get_data(as_text=True), "first_check_in_days")
    assert stored(app, user.id)["first_check_in_days"] == 90


def test_other_fields_in_the_form_are_ignored(app, client, login, make_user):
    user = make_user()
    other = make_user()
    login(user)

    client.post(
        "/settings/",
        data=settings_form(
            thank_you_after_days="3", id=str(other.id), user_id=str(other.id), email="x@y.z"
        ),
    )

    assert stored(app, user.id)["thank_you_after_days"] == 3
    assert stored(app, other.id)["thank_you_after_days"] == 1
    with app.app_context():
        assert db.session.get(User, user.id).email == user.email


def test_saved_numbers_plan_the_next_follow_ups(app, client, login, make_user, make_interview):
    user = make_user()
    login(user)
    client.post(
        "/settings/",
        data=settings_form(
            thank_you_after_days="3", status_check_after_days="10", stale_after_days="20"
        ),
    )

    interview_day = date(2026, 11, 5)  # 16 days ago: only within the new stale limit
    make_interview(user, people=[{"name": "Dana Smith"}], held_on=interview_day)

    with app.app_context():
        owner = db.session.get(User, user.id)
        assert settings_of(owner).thank_you_after_days == 3
        due = dict(
            db.session.execute(
                db.select(FollowUp.kind, FollowUp.due_on).filter_by(user_id=user.id)
            ).all()
        )
    assert due == {
        FollowUpKind.THANK_YOU: interview_day + timedelta(days=3),
        FollowUpKind.STATUS_CHECK: interview_day + timedelta(days=10),
    }


def test_check_in_numbers_are_used_after_a_declined_offer(
    app, client, login, make_user, make_interview
):
    user = make_user()
    login(user)
    client.post("/settings/", data=settings_form(first_check_in_days="30"))

    make_interview(
        user, people=[{"name": "Dana Smith"}], held_on=date(2026, 11, 20), outcome=Outcome.DECLINED
    )

    with app.app_context():
        check_in = db.session.execute(
            db.select(FollowUp.due_on).filter_by(user_id=user.id, kind=FollowUpKind.CHECK_IN)
        ).scalar_one()
    assert check_in == date(2026, 12, 20)


def test_settings_need_a_login(client):
    assert client.get("/settings/").status_code == 302
    assert client.post("/settings/", data=settings_form()).status_code == 302


def test_test_email_is_queued_for_the_user_and_shown_on_the_delivery_page(
    app, client, login, make_user
):
    user = make_user()
    login(user)

    response = client.post("/settings/test-email")

    assert response.status_code == 302
    assert response.headers["Location"].endswith("/delivery/")
    with app.app_context():
        rows = db.session.execute(db.select(Outbox)).scalars().all()
        assert [(row.user_id, row.recipient) for row in rows] == [(user.id, user.email)]
    page = client.get("/delivery/").get_data(as_text=True)
    assert "is queued" in page
    assert rows[0].subject in page


def test_test_email_needs_the_csrf_token(app, client, login, make_user):
    login(make_user())

    assert client.post("/settings/test-email", csrf=False).status_code == 400
    with app.app_context():
        assert db.session.execute(db.select(Outbox)).first() is None
