"""Follow-ups through the use cases and the pages: planned, shown, acted on."""

from datetime import date, timedelta

import pytest
from helpers import interview_form, utc

from tracker import agenda
from tracker.clock import local_today
from tracker.db import db
from tracker.models import (
    Contact,
    FollowUp,
    FollowUpKind,
    FollowUpStatus,
    Interaction,
    InteractionKind,
    Interview,
    Outcome,
    Stage,
    User,
)

NOW = utc(2026, 11, 25, 12, 0)  # Wednesday 25 Nov 2026
TODAY = date(2026, 11, 25)


@pytest.fixture(autouse=True)
def fixed_clock(app):
    app.config["NOW"] = NOW


def open_follow_ups(app, **filters) -> list[FollowUp]:
    with app.app_context():
        rows = db.session.execute(
            db.select(FollowUp)
            .filter_by(status=FollowUpStatus.OPEN, **filters)
            .order_by(FollowUp.due_on, FollowUp.id)
        ).scalars()
        result = list(rows)
        for row in result:
            db.session.expunge(row)
        return result


def kinds(rows) -> list[tuple[str, date]]:
    return sorted((f.kind.value, f.due_on) for f in rows)


def test_logging_an_interview_plans_a_thank_you_and_check_ins_per_person(
    app, client, make_user, login
):
    login(make_user())
    response = client.post(
        "/interviews/new",
        data=interview_form(
            held_on="2026-11-24",
            outcome="declined",
            people=[{"name": "Dana Smith"}, {"name": "Lee Chen"}],
        ),
    )
    assert response.status_code == 302
    rows = open_follow_ups(app)
    assert kinds(rows) == sorted(
        [("thank_you", date(2026, 11, 25))] * 2 + [("check_in", date(2027, 2, 22))] * 2
    )
    page = client.get("/").get_data(as_text=True)
    assert "Thank-you note: Dana Smith, Acme" in page
    assert "Thank-you note after the onsite interview on 24 Nov" in page
    assert "due today" in page
    assert 'aria-label="2 due"' in page


def test_home_page_groups_overdue_today_this_week_and_later(
    app, client, make_user, login, make_interview
):
    user = make_user()
    make_interview(
        user, held_on=date(2026, 11, 20), outcome=Outcome.PENDING, people=[{"name": "Dana"}]
    )
    login(user)
    page = client.get("/").get_data(as_text=True)
    overdue = page.index('id="h-overdue"')
    week = page.index('id="h-week"')
    assert overdue < page.index("Thank-you note: Dana") < page.index('id="h-today"') < week
    assert week < page.index("Status check: Dana") < page.index('id="h-later"')
    assert "4 days overdue" in page
    assert "due in 2 days" in page


def test_done_with_a_note_logs_an_interaction_and_plans_the_next_check_in(
    app, client, make_user, login, make_interview
):
    user = make_user()
    make_interview(
        user, held_on=date(2026, 11, 24), outcome=Outcome.DECLINED, people=[{"name": "Dana"}]
    )
    login(user)
    thank_you = [f for f in open_follow_ups(app) if f.kind is FollowUpKind.THANK_YOU][0]
    response = client.post(
        f"/follow-ups/{thank_you.id}/done", data={"kind": "email", "note": "Sent a thank-you 🙏"}
    )
    assert response.status_code == 302
    with app.app_context():
        interaction = db.session.execute(db.select(Interaction)).scalar_one()
        assert interaction.note == "Sent a thank-you 🙏" and interaction.occurred_on == TODAY
        assert interaction.kind is InteractionKind.EMAIL
        assert db.session.get(FollowUp, thank_you.id).status is FollowUpStatus.DONE
    # The check-in series restarts from the interaction: 25 Nov + 90 days.
    assert kinds(open_follow_ups(app)) == [("check_in", date(2027, 2, 23))]
    contact_page = client.get(f"/contacts/{thank_you.contact_id}").get_data(as_text=True)
    assert "Sent a thank-you 🙏" in contact_page
    flashed = client.get("/").get_data(as_text=True)
    assert flashed  # page renders after the action


def test_snooze_week_month_and_a_chosen_date(app, client, make_user, login, make_interview):
    user = make_user()
    make_interview(
        user, held_on=date(2026, 11, 24), outcome=Outcome.ACCEPTED, people=[{"name": "Dana"}]
    )
    login(user)
    [thank_you] = open_follow_ups(app)
    for period, extra, expected in [
        ("week", {}, TODAY + timedelta(days=7)),
        ("month", {}, TODAY + timedelta(days=30)),
        ("date", {"until": "2027-01-15"}, date(2027, 1, 15)),
    ]:
        response = client.post(
            f"/follow-ups/{thank_you.id}/snooze", data={"period": period, **extra}
        )
        assert response.status_code == 302
        [moved] = open_follow_ups(app)
        assert moved.due_on == expected and moved.moved
    assert moved.revision == 3


@pytest.mark.parametrize(
    ("until", "message"),
    [
        ("", "Pick the date to snooze until."),
        ("2026-02-30", "Not a valid date value."),
        ("2026-11-25", "Pick a date after today."),
    ],
)
def test_snooze_to_a_bad_date_says_why_and_changes_nothing(
    app, client, make_user, login, make_interview, until, message
):
    user = make_user()
    make_interview(
        user, held_on=date(2026, 11, 24), outcome=Outcome.ACCEPTED, people=[{"name": "Dana"}]
    )
    login(user)
    [thank_you] = open_follow_ups(app)
    response = client.post(
        f"/follow-ups/{thank_you.id}/snooze", data={"period": "date", "until": until}
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert f'<p class="error" id="until-error">{message}</p>' in page
    [unchanged] = open_follow_ups(app)
    assert unchanged.due_on == thank_you.due_on and unchanged.revision == thank_you.revision


def test_skip_and_reopen(app, client, make_user, login, make_interview):
    user = make_user()
    make_interview(
        user, held_on=date(2026, 11, 24), outcome=Outcome.ACCEPTED, people=[{"name": "Dana"}]
    )
    login(user)
    [thank_you] = open_follow_ups(app)
    assert client.post(f"/follow-ups/{thank_you.id}/skip").status_code == 302
    assert open_follow_ups(app) == []
    assert client.post(f"/follow-ups/{thank_you.id}/reopen").status_code == 302
    [reopened] = open_follow_ups(app)
    assert reopened.id == thank_you.id and reopened.revision == thank_you.revision + 2


def test_changing_the_outcome_re_plans_what_is_not_yet_due(
    app, client, make_user, login, make_interview
):
    user = make_user()
    interview_id = make_interview(
        user, held_on=date(2026, 11, 24), outcome=Outcome.PENDING, people=[{"name": "Dana"}]
    )
    login(user)
    assert kinds(open_follow_ups(app)) == [
        ("status_check", date(2026, 12, 1)),
        ("thank_you", TODAY),
    ]
    response = client.post(
        f"/interviews/{interview_id}/edit",
        data=interview_form(
            held_on="2026-11-24",
            outcome="rejected",
            people=[{"name": "Dana", "contact_id": str(open_follow_ups(app)[0].contact_id)}],
        ),
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    assert kinds(open_follow_ups(app)) == [
        ("check_in", date(2027, 2, 22)),
        ("feedback", date(2026, 12, 1)),
        ("thank_you", TODAY),
    ]


def test_logging_an_interaction_completes_what_is_due(
    app, client, make_user, login, make_interview
):
    user = make_user()
    make_interview(
        user, held_on=date(2026, 11, 20), outcome=Outcome.DECLINED, people=[{"name": "Dana"}]
    )
    login(user)
    [check_in, thank_you] = sorted(open_follow_ups(app), key=lambda f: f.kind.value)
    response = client.post(
        f"/contacts/{thank_you.contact_id}/interactions",
        data={"kind": "coffee", "occurred_on": "2026-11-25", "note": "Coffee at the café"},
    )
    assert response.status_code == 302
    assert kinds(open_follow_ups(app)) == [("check_in", date(2027, 2, 23))]


def test_an_interaction_in_the_future_is_refused(app, client, make_user, login, make_interview):
    user = make_user()
    make_interview(user, held_on=date(2026, 11, 24), people=[{"name": "Dana"}])
    login(user)
    contact_id = open_follow_ups(app)[0].contact_id
    response = client.post(
        f"/contacts/{contact_id}/interactions",
        data={"kind": "call", "occurred_on": "2026-12-25", "note": "typed note"},
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert '<p class="error" id="occurred_on-error">Pick today or a day in the past.</p>' in page
    assert "typed note" in page
    with app.app_context():
        assert db.session.execute(db.select(Interaction)).first() is None


def test_dont_remind_me_cancels_planned_follow_ups(app, client, make_user, login, make_interview):
    user = make_user()
    make_interview(
        user, held_on=date(2026, 11, 24), outcome=Outcome.DECLINED, people=[{"name": "Dana"}]
    )
    login(user)
    contact_id = open_follow_ups(app)[0].contact_id
    response = client.post(f"/contacts/{contact_id}/edit", data={"name": "Dana", "remind": ""})
    assert response.status_code == 302
    # The thank-you due today stays for the user to decide; the future check-in goes.
    assert kinds(open_follow_ups(app)) == [("thank_you", TODAY)]


def test_manual_follow_up_for_a_contact_and_for_an_organisation(
    app, client, make_user, login, make_interview
):
    user = make_user()
    interview_id = make_interview(user, held_on=date(2026, 11, 1), people=[{"name": "Dana"}])
    login(user)
    with app.app_context():
        interview = db.session.get(Interview, interview_id)
        contact_id, organisation_id = (
            interview.participants[0].contact_id,
            interview.organisation_id,
        )
    missing = client.post(
        f"/follow-ups/new?contact={contact_id}", data={"title": "", "due_on": "2026-12-01"}
    )
    assert missing.status_code == 400 and "Say what to do." in missing.get_data(as_text=True)
    for query in (f"contact={contact_id}", f"organisation={organisation_id}"):
        response = client.post(
            f"/follow-ups/new?{query}",
            data={"title": "Send the <b>article</b>", "due_on": "2026-12-01", "due_time": "09:30"},
        )
        assert response.status_code == 302
    manual = open_follow_ups(app, kind=FollowUpKind.MANUAL)
    assert len(manual) == 2 and all(f.title == "Send the <b>article</b>" for f in manual)
    page = client.get("/").get_data(as_text=True)
    assert "Send the &lt;b&gt;article&lt;/b&gt;" in page and "<b>article</b>" not in page


def test_editing_a_follow_up_bumps_its_revision(app, client, make_user, login, make_interview):
    user = make_user()
    make_interview(
        user, held_on=date(2026, 11, 24), outcome=Outcome.ACCEPTED, people=[{"name": "Dana"}]
    )
    login(user)
    [thank_you] = open_follow_ups(app)
    response = client.post(
        f"/follow-ups/{thank_you.id}/edit",
        data={"title": "", "due_on": "2026-11-27", "note": "Handwritten"},
    )
    assert response.status_code == 302
    [edited] = open_follow_ups(app)
    assert (edited.due_on, edited.note, edited.revision) == (date(2026, 11, 27), "Handwritten", 1)


def test_mailto_draft_is_prefilled_and_encoded(app, client, make_user, login, make_interview):
    user = make_user()
    make_interview(
        user,
        held_on=date(2026, 11, 24),
        people=[
            {"name": "Zoë Ñúñez", "email": "zoe@example.com", "topics": "Rust & async; 100% fun"}
        ],
    )
    login(user)
    page = client.get("/").get_data(as_text=True)
    assert (
        "mailto:zoe@example.com?subject=Thank%20you%20%E2%80%94%20Backend%20Engineer%20interview"
        in page
    )
    assert "Hi%20Zo%C3%AB%2C%0D%0A" in page
    assert "Rust%20%26%20async%3B%20100%25%20fun" in page


def test_each_draft_speaks_of_its_own_meeting(app, make_user, make_interview):
    """A person met twice: each meeting's thank-you recalls what was talked about there,
    and the drafts of people met elsewhere are not given either meeting's topics."""
    user = make_user()
    first = make_interview(
        user,
        held_on=date(2026, 11, 23),
        people=[{"name": "Dana Smith", "email": "dana@example.com", "topics": "Kafka"}],
    )
    with app.app_context():
        dana = db.session.execute(db.select(Contact).filter_by(name="Dana Smith")).scalar_one()
        dana_id = dana.id
    second = make_interview(
        user,
        held_on=date(2026, 11, 24),
        stage=Stage.FINAL,
        people=[
            {"name": "Dana Smith", "contact_id": dana_id, "topics": "team rituals"},
            {"name": "Lee Park", "email": "lee@example.com"},
        ],
    )
    with app.app_context():
        thank_yous = db.session.execute(
            db.select(FollowUp).filter_by(kind=FollowUpKind.THANK_YOU)
        ).scalars()
        # As objects (the contact page, digests), and as the home page's rows read them.
        loaded = agenda.describe(list(thank_yous), TODAY)
        shown = agenda.agenda(db.session.get(User, user.id), TODAY)
        listed = agenda.describe(shown.overdue + shown.today, TODAY)
    for items in (loaded, listed):
        bodies = {
            (item.follow_up.interview_id, item.contact_name): item.draft[1]
            for item in items
            if item.follow_up.kind is FollowUpKind.THANK_YOU
        }
        assert "our conversation about Kafka." in bodies[(first, "Dana Smith")]
        assert "team rituals" not in bodies[(first, "Dana Smith")]
        assert "our conversation about team rituals." in bodies[(second, "Dana Smith")]
        assert "Kafka" not in bodies[(second, "Dana Smith")]
        assert "conversation about" not in bodies[(second, "Lee Park")]


def test_another_users_follow_up_is_not_found(app, client, make_user, login, make_interview):
    owner = make_user()
    make_interview(
        owner, held_on=date(2026, 11, 24), outcome=Outcome.ACCEPTED, people=[{"name": "Dana"}]
    )
    [thank_you] = open_follow_ups(app)
    login(make_user())
    for method, url in [
        ("get", f"/follow-ups/{thank_you.id}"),
        ("post", f"/follow-ups/{thank_you.id}/done"),
        ("post", f"/follow-ups/{thank_you.id}/skip"),
        ("post", f"/follow-ups/{thank_you.id}/snooze"),
        ("get", f"/follow-ups/{thank_you.id}/edit"),
    ]:
        assert getattr(client, method)(url).status_code == 404
    [unchanged] = open_follow_ups(app)
    assert unchanged.revision == 0


@pytest.mark.parametrize(
    ("zone", "before", "after", "held_on"),
    [
        # Spring forward and autumn back in Berlin and New York: local midnight decides.
        ("Europe/Berlin", utc(2027, 3, 28, 21, 59), utc(2027, 3, 28, 22, 0), date(2027, 3, 28)),
        ("Europe/Berlin", utc(2027, 10, 31, 22, 59), utc(2027, 10, 31, 23, 0), date(2027, 10, 31)),
        ("America/New_York", utc(2027, 3, 15, 3, 59), utc(2027, 3, 15, 4, 0), date(2027, 3, 14)),
        ("America/New_York", utc(2027, 11, 8, 4, 59), utc(2027, 11, 8, 5, 0), date(2027, 11, 7)),
    ],
)
def test_dst_changes_never_move_a_due_date(
    app, make_user, make_interview, zone, before, after, held_on
):
    user = make_user(timezone=zone)
    app.config["NOW"] = before
    make_interview(user, held_on=held_on, outcome=Outcome.ACCEPTED, people=[{"name": "Dana"}])
    [thank_you] = open_follow_ups(app)
    assert thank_you.due_on == held_on + timedelta(days=1)
    with app.app_context():
        assert local_today(zone) == held_on
        assert agenda.due_count(db.session.get(User, user.id), local_today(zone)) == 0
        app.config["NOW"] = after
        assert local_today(zone) == thank_you.due_on
        assert agenda.due_count(db.session.get(User, user.id), local_today(zone)) == 1


def test_changing_the_time_zone_does_not_move_due_dates(
    app, client, make_user, login, make_interview
):
    user = make_user(timezone="Pacific/Honolulu")
    make_interview(
        user, held_on=date(2026, 11, 24), outcome=Outcome.DECLINED, people=[{"name": "Dana"}]
    )
    before = kinds(open_follow_ups(app))
    login(user)
    assert (
        client.post("/account/profile", data={"timezone": "Pacific/Kiritimati"}).status_code == 302
    )
    assert kinds(open_follow_ups(app)) == before
    with app.app_context():
        assert db.session.get(Contact, open_follow_ups(app)[0].contact_id) is not None


def test_deleting_an_interview_re_plans_from_the_remaining_ones(
    app, client, make_user, login, make_interview
):
    user = make_user()
    make_interview(
        user, held_on=date(2026, 6, 1), outcome=Outcome.DECLINED, people=[{"name": "Dana"}]
    )
    later = make_interview(
        user, held_on=date(2026, 11, 1), outcome=Outcome.WITHDREW, people=[{"name": "Dana"}]
    )
    assert kinds(open_follow_ups(app)) == [("check_in", date(2027, 1, 30))]
    login(user)
    assert client.post(f"/interviews/{later}/delete").status_code == 302
    # Back to the series of the June interview: 1 Jun + 180 days.
    assert kinds(open_follow_ups(app)) == [("check_in", date(2026, 11, 28))]


def test_contact_page_shows_follow_ups_and_logs_interactions(
    app, client, make_user, login, make_interview
):
    user = make_user()
    make_interview(
        user, held_on=date(2026, 11, 24), outcome=Outcome.DECLINED, people=[{"name": "Dana"}]
    )
    login(user)
    contact_id = open_follow_ups(app)[0].contact_id
    page = client.get(f"/contacts/{contact_id}").get_data(as_text=True)
    assert "Thank-you note: Dana, Acme" in page and "Check-in: Dana, Acme" in page
    assert "Log an interaction" in page
    response = client.post(
        f"/contacts/{contact_id}/interactions",
        data={"kind": "call", "occurred_on": "2026-11-25", "note": "Called about the offer"},
        follow_redirects=True,
    )
    page = response.get_data(as_text=True)
    assert "Interaction with Dana logged. Next check-in planned for 23 Feb 2027." in page
    assert "Called about the offer" in page


def test_organisation_page_shows_the_next_follow_up(app, client, make_user, login, make_interview):
    user = make_user()
    interview_id = make_interview(
        user, held_on=date(2026, 11, 24), outcome=Outcome.DECLINED, people=[{"name": "Dana"}]
    )
    with app.app_context():
        organisation_id = db.session.get(Interview, interview_id).organisation_id
    login(user)
    page = client.get(f"/organisations/{organisation_id}").get_data(as_text=True)
    assert "Next follow-up" in page and "25 Nov</a> (due today)" in page
    assert "Check-in: Dana, Acme" in page


def test_a_check_in_says_why_and_for_which_role(app, client, make_user, login, make_interview):
    user = make_user()
    make_interview(
        user, held_on=date(2026, 8, 27), outcome=Outcome.DECLINED, people=[{"name": "Kevin"}]
    )
    login(user)
    page = client.get("/").get_data(as_text=True)
    assert "Keep-warm check-in after the onsite interview on 27 Aug" in page
    assert "Backend Engineer role" in page
    assert "due today" in page  # 27 Aug + 90 days = 25 Nov
