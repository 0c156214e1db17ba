"""Links in emails: a GET only asks, a POST acts once, and a bad link changes nothing."""

from datetime import date, timedelta

import pytest
from helpers import row_counts, utc

from tracker import followups, tokens
from tracker.db import db
from tracker.models import (
    FollowUp,
    FollowUpKind,
    FollowUpStatus,
    Interaction,
    InteractionKind,
    User,
)

NOW = utc(2026, 11, 21, 9, 0)
TODAY = date(2026, 11, 21)


@pytest.fixture(autouse=True)
def fixed_clock(app):
    app.config["NOW"] = NOW


@pytest.fixture
def thank_you(app, make_user, make_interview):
    """A user and the open thank-you planned for Dana after yesterday's interview."""

    def make(email: str = "ann@example.com", name: str = "Dana Smith", organisation="Acme"):
        user = make_user(email)
        make_interview(
            user, organisation=organisation, people=[{"name": name}], held_on=date(2026, 11, 20)
        )
        with app.app_context():
            follow_up = db.session.execute(
                db.select(FollowUp).filter_by(user_id=user.id, kind=FollowUpKind.THANK_YOU)
            ).scalar_one()
            return user, follow_up.id

    return make


def link(app, follow_up_id: int, action: str) -> str:
    with app.app_context():
        revision = db.session.get(FollowUp, follow_up_id).revision
        return f"/email/action/{tokens.action_token(follow_up_id, action, revision)}"


def state(app, follow_up_id: int) -> tuple:
    with app.app_context():
        f = db.session.get(FollowUp, follow_up_id)
        return f.status, f.revision, f.due_on, f.moved, f.completed_at, f.changed_at


def user_follow_ups(app, user_id: int) -> list[tuple]:
    with app.app_context():
        rows = db.session.execute(
            db.select(FollowUp).filter_by(user_id=user_id).order_by(FollowUp.id)
        ).scalars()
        return [(f.id, f.status, f.revision, f.due_on) for f in rows]


def test_get_shows_what_will_happen_and_changes_nothing(app, client, thank_you):
    _, ident = thank_you()
    before, counts = state(app, ident), row_counts(app)

    page = client.get(link(app, ident, "done"))

    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Mark “Thank-you note: Dana Smith, Acme” as done?" in text
    assert ">Mark as done</button>" in text
    assert state(app, ident) == before
    assert row_counts(app) == counts


def test_each_action_says_what_it_will_do(app, client, thank_you):
    _, ident = thank_you()
    reached = client.get(link(app, ident, "reached-out")).get_data(as_text=True)
    snooze = client.get(link(app, ident, "snooze")).get_data(as_text=True)
    assert "Log that you reached out" in reached
    assert "for a week, until 28 Nov?" in snooze


def test_done_works_without_logging_in_and_only_once(app, client, thank_you):
    _, ident = thank_you()
    url = link(app, ident, "done")
    client.get(url)  # a fresh browser: the confirmation page starts the anonymous session

    first = client.post(url)

    assert first.status_code == 200
    assert "“Thank-you note: Dana Smith, Acme” is done." in first.get_data(as_text=True)
    done = state(app, ident)
    assert done[0] is FollowUpStatus.DONE
    counts = row_counts(app)

    second = client.post(url)

    assert second.status_code == 410
    assert "already been used or the follow-up has changed" in second.get_data(as_text=True)
    assert state(app, ident) == done
    assert row_counts(app) == counts


def test_reached_out_logs_an_interaction(app, client, thank_you):
    _, ident = thank_you()

    response = client.post(link(app, ident, "reached-out"))

    assert response.status_code == 200
    assert state(app, ident)[0] is FollowUpStatus.DONE
    with app.app_context():
        follow_up = db.session.get(FollowUp, ident)
        interaction = db.session.execute(db.select(Interaction)).scalar_one()
        assert interaction.contact_id == follow_up.contact_id
        assert interaction.occurred_on == TODAY
        assert interaction.kind is InteractionKind.MESSAGE


def test_snooze_moves_it_a_week_from_the_users_today(app, client, make_user, make_interview):
    # 23:30 UTC on the 21st is already the 22nd in Auckland.
    app.config["NOW"] = utc(2026, 11, 21, 23, 30)
    user = make_user("kiwi@example.com", timezone="Pacific/Auckland")
    make_interview(user, people=[{"name": "Dana Smith"}], held_on=date(2026, 11, 21))
    with app.app_context():
        ident = db.session.execute(
            db.select(FollowUp.id).filter_by(user_id=user.id, kind=FollowUpKind.THANK_YOU)
        ).scalar_one()
    url = link(app, ident, "snooze")

    response = client.post(url)

    assert response.status_code == 200
    assert "snoozed until 29 Nov" in response.get_data(as_text=True)
    status, _, due_on, moved, *_ = state(app, ident)
    assert (status, due_on, moved) == (FollowUpStatus.OPEN, date(2026, 11, 29), True)
    again = state(app, ident)
    assert client.post(url).status_code == 410  # the revision moved on
    assert state(app, ident) == again


def test_a_follow_up_changed_since_the_email_is_left_alone(app, client, thank_you):
    _, ident = thank_you()
    url = link(app, ident, "done")
    with app.app_context():
        followups.snooze(db.session.get(FollowUp, ident), date(2026, 12, 1))
        db.session.commit()
    changed = state(app, ident)

    assert client.get(url).status_code == 410
    response = client.post(url)

    assert response.status_code == 410
    assert "already been used or the follow-up has changed" in response.get_data(as_text=True)
    assert state(app, ident) == changed


def test_a_follow_up_done_in_the_app_cannot_be_snoozed_by_an_old_link(app, client, thank_you):
    user, ident = thank_you()
    with app.app_context():
        follow_up = db.session.get(FollowUp, ident)
        revision = follow_up.revision
        followups.complete(db.session.get(User, user.id), follow_up)
        follow_up.revision = revision  # even if the revision had not moved on
        db.session.commit()
        url = f"/email/action/{tokens.action_token(ident, 'snooze', revision)}"
    done = state(app, ident)

    assert client.post(url).status_code == 410
    assert state(app, ident) == done


def tampered(url: str) -> str:
    """The same link with one character of the signed payload changed."""
    prefix, token = url.rsplit("/", 1)
    flipped = "A" if token[0] != "A" else "B"
    return f"{prefix}/{flipped}{token[1:]}"


@pytest.mark.parametrize(
    "make_url",
    [
        pytest.param(lambda app, ident: tampered(link(app, ident, "done")), id="tampered"),
        pytest.param(lambda app, ident: link(app, ident, "done")[:-3], id="truncated"),
        pytest.param(lambda app, ident: "/email/action/not-a-token", id="garbage"),
        pytest.param(lambda app, ident: "/email/action/" + "x" * 3000, id="huge"),
        pytest.param(
            lambda app, ident: f"/email/action/{unsubscribe_token(app, ident)}",
            id="unsubscribe-token-as-action",
        ),
        pytest.param(
            lambda app, ident: f"/email/action/{foreign_token(ident)}", id="signed-elsewhere"
        ),
        pytest.param(lambda app, ident: unknown_follow_up_link(app), id="unknown-follow-up"),
    ],
)
def test_bad_links_show_a_clear_page_and_change_nothing(app, client, thank_you, make_url):
    _, ident = thank_you()
    url = make_url(app, ident)
    before, counts = state(app, ident), row_counts(app)

    shown = client.get(url)
    posted = client.post(url)

    for response in (shown, posted):
        assert response.status_code == 404
        assert "This link is not valid" in response.get_data(as_text=True)
        assert "Dana" not in response.get_data(as_text=True)
    assert state(app, ident) == before
    assert row_counts(app) == counts


def unsubscribe_token(app, user_or_follow_up_id: int) -> str:
    with app.app_context():
        return tokens.unsubscribe_token(user_or_follow_up_id)


def unknown_follow_up_link(app) -> str:
    with app.app_context():
        return f"/email/action/{tokens.action_token(999_999, 'done', 0)}"


def foreign_token(ident: int) -> str:
    """A well-formed token signed with another key."""
    from flask import Flask

    other = Flask("other")
    other.config["SECRET_KEY"] = "another-secret-" + "y" * 40
    with other.app_context():
        return tokens.action_token(ident, "done", 0)


def test_links_survive_a_new_secret_key_while_the_old_one_is_a_fallback(
    app, client, make_user, thank_you
):
    _, ident = thank_you()
    action = link(app, ident, "done")
    unsubscribe = f"/email/unsubscribe/{unsubscribe_token(app, make_user().id)}"
    old = app.config["SECRET_KEY"]
    app.config.update(SECRET_KEY="another-secret-" + "y" * 40, SECRET_KEY_FALLBACKS=[old])
    assert client.get(action).status_code == 200
    assert client.get(unsubscribe).status_code == 200
    assert link(app, ident, "done") != action  # new links are signed with the new key
    app.config["SECRET_KEY_FALLBACKS"] = []
    assert client.get(action).status_code == 404
    assert client.get(unsubscribe).status_code == 404
    assert client.get(link(app, ident, "done")).status_code == 200


def test_an_expired_link_changes_nothing(app, client, thank_you):
    _, ident = thank_you()
    url = link(app, ident, "done")
    app.config["NOW"] = NOW + timedelta(days=15)
    before = state(app, ident)

    assert client.get(url).status_code == 404
    response = client.post(url)

    assert response.status_code == 404
    assert "expired" in response.get_data(as_text=True)
    assert state(app, ident) == before


def test_a_post_without_the_confirmation_pages_csrf_token_changes_nothing(app, thank_you):
    _, ident = thank_you()
    before = state(app, ident)

    response = app.test_client().post(link(app, ident, "done"), csrf=False)

    assert response.status_code == 400
    assert state(app, ident) == before


def test_a_link_for_one_user_never_shows_or_touches_another_users_data(
    app, client, login, thank_you
):
    ann, ann_follow_up = thank_you("ann@example.com", "Dana Smith", "Acme")
    bob, _ = thank_you("bob@example.com", "Zed Quinn", "Globex")
    bob_before = user_follow_ups(app, bob.id)
    login(bob)  # Bob is logged in and opens a link from Ann's email

    shown = client.get(link(app, ann_follow_up, "done"))
    acted = client.post(link(app, ann_follow_up, "done"))

    assert acted.status_code == 200
    assert state(app, ann_follow_up)[0] is FollowUpStatus.DONE
    assert user_follow_ups(app, bob.id) == bob_before
    for response in (shown, acted):
        text = response.get_data(as_text=True)
        assert "Zed Quinn" not in text and "Globex" not in text
        assert ann.email not in text


# --- Unsubscribe --------------------------------------------------------------------------


def digest_enabled(app, user_id: int) -> bool:
    with app.app_context():
        return db.session.get(User, user_id).digest_enabled


def test_unsubscribe_page_asks_first_and_changes_nothing(app, client, make_user):
    user = make_user()
    url = f"/email/unsubscribe/{unsubscribe_token(app, user.id)}"

    page = client.get(url)

    assert page.status_code == 200
    assert ">Unsubscribe</button>" in page.get_data(as_text=True)
    assert user.email not in page.get_data(as_text=True)
    assert digest_enabled(app, user.id) is True


def test_one_click_unsubscribe_needs_no_cookie_and_no_csrf_token(app, make_user):
    user = make_user()
    url = f"/email/unsubscribe/{unsubscribe_token(app, user.id)}"
    mail_provider = app.test_client(use_cookies=False)

    response = mail_provider.post(url, data={"List-Unsubscribe": "One-Click"}, csrf=False)

    assert response.status_code == 200
    assert "Location" not in response.headers
    assert "Set-Cookie" not in response.headers
    assert "no longer get the daily digest" in response.get_data(as_text=True)
    assert digest_enabled(app, user.id) is False
    again = mail_provider.post(url, data={"List-Unsubscribe": "One-Click"}, csrf=False)
    assert again.status_code == 200
    assert digest_enabled(app, user.id) is False


def test_unsubscribe_button_works_in_a_browser(app, client, make_user):
    user = make_user()
    url = f"/email/unsubscribe/{unsubscribe_token(app, user.id)}"
    client.get(url)

    assert client.post(url).status_code == 200
    assert digest_enabled(app, user.id) is False


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(lambda app, user: "nonsense", id="garbage"),
        pytest.param(lambda app, user: unsubscribe_token(app, user.id)[:-2], id="truncated"),
        pytest.param(lambda app, user: unsubscribe_token(app, 999_999), id="unknown-user"),
        pytest.param(
            lambda app, user: link(app, first_follow_up(app, user.id), "done").rsplit("/")[-1],
            id="action-token",
        ),
    ],
)
def test_bad_unsubscribe_links_change_nothing(app, make_user, make_interview, token):
    user = make_user()
    make_interview(user, people=[{"name": "Dana Smith"}], held_on=date(2026, 11, 20))
    url = f"/email/unsubscribe/{token(app, user)}"
    fresh = app.test_client(use_cookies=False)

    assert fresh.get(url).status_code == 404
    response = fresh.post(url, data={"List-Unsubscribe": "One-Click"}, csrf=False)

    assert response.status_code == 404
    assert digest_enabled(app, user.id) is True


def first_follow_up(app, user_id: int) -> int:
    with app.app_context():
        return db.session.execute(
            db.select(FollowUp.id).filter_by(user_id=user_id).order_by(FollowUp.id)
        ).scalar()


def test_a_stale_login_in_the_browser_does_not_get_in_the_way(app, client, login, thank_you):
    user, ident = thank_you()
    login(user)
    url = link(app, ident, "done")
    app.config["NOW"] = NOW + timedelta(days=1)  # the session has long been idle

    page = client.get(url)

    assert page.status_code == 200
    assert "Mark as done" in page.get_data(as_text=True)
    assert user.email not in page.get_data(as_text=True)  # the stale login ended
    assert client.post(url).status_code == 200
    assert state(app, ident)[0] is FollowUpStatus.DONE
