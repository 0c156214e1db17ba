"""Three independent parsers judge the feed, the one-event download and the digest's
attachment, and agree with the database on UIDs and dates. libical's iTIP restriction
check must pass for all three."""

from datetime import date, datetime, time, timedelta
from email import message_from_bytes
from email.policy import default as default_policy

import icalendar
import pytest
from calendar_checks import byte_checked, libical, strict_ical
from feed_helpers import add_follow_up, change, feed_path, open_follow_ups, subscribe
from helpers import utc

from tracker import agenda, calendar
from tracker.db import db
from tracker.mail import compose
from tracker.models import FollowUp, User

BASE = "https://keepwarm.example.org"
ZONE = "America/New_York"


@pytest.fixture
def busy(app, make_user, make_interview):
    """A New York user with thank-yous, status checks, a timed call, a snoozed and a
    done follow-up."""
    app.config.update(BASE_URL=BASE, NOW=utc(2026, 11, 21, 14, 0))
    user = make_user("sam@example.com", timezone=ZONE)
    make_interview(
        user,
        organisation="Acme, Inc.",
        held_on=date(2026, 11, 20),
        people=[{"name": "Dana Smith", "email": "dana@acme.example"}, {"name": "Lee; Park"}],
    )
    add_follow_up(app, user, "Call Dana\nabout the offer", date(2026, 11, 24), time(16, 45))
    snoozed = add_follow_up(app, user, "Coffee", date(2026, 11, 22))
    change(app, snoozed, "snooze", until=date(2026, 12, 1))
    done = add_follow_up(app, user, "Done already", date(2026, 11, 23))
    change(app, done, "done")
    return user


def expected(app, user) -> dict[str, tuple]:
    """UID -> (all-day date, or the UTC start) for every open follow-up."""
    result = {}
    for f in open_follow_ups(app, user):
        start, _ = calendar.span_of(f.due_on, f.due_time, ZONE)
        result[calendar.uid_for(f.id, BASE)] = start
    return result


def as_ical_value(start: date | datetime) -> str:
    return f"{start:%Y%m%dT%H%M%SZ}" if isinstance(start, datetime) else f"{start:%Y%m%d}"


def judge(data: bytes, wanted: dict[str, tuple], published: bool = False) -> None:
    """Our byte rules, then icalendar, ical and libical, each agreeing with `wanted`."""
    byte_checked(data)
    read = {
        str(e["UID"]): e.decoded("DTSTART")
        for e in icalendar.Calendar.from_ical(data).walk("VEVENT")
    }
    assert read == wanted
    strict = strict_ical(data)
    assert {e.uid: e.dtstart for e in strict.events} == wanted
    for event in strict.events:
        assert event.dtend > event.dtstart
        assert len(event.alarm) == 1
    judged = libical(data)
    as_is = judged["as_is"]
    assert as_is["errors"] == [], as_is["errors"]
    assert as_is["restrictions_pass"]
    assert {e["uid"]: e["dtstart"] for e in as_is["events"]} == {
        uid: as_ical_value(start) for uid, start in wanted.items()
    }
    assert all(e["alarms"] == 1 for e in as_is["events"])
    if not published:
        # Held to iTIP's PUBLISH rules too, only the ORGANIZER a subscription has no use
        # for is missing.
        complaints = judged["as_published"]["errors"]
        assert complaints and all("ORGANIZER" in line for line in complaints), complaints


def test_the_feed_passes_every_judge(app, client, busy):
    data = client.get(feed_path(subscribe(app, busy))).data
    wanted = expected(app, busy)
    assert len(wanted) == 6  # 2 thank-yous, 2 status checks, the call, the coffee
    judge(data, wanted)


def test_the_one_event_download_passes_every_judge_with_the_feeds_uid(app, client, login, busy):
    login(busy)
    call = next(f for f in open_follow_ups(app, busy) if f.due_time)
    response = client.get(f"/follow-ups/{call.id}/calendar.ics")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="keepwarm-follow-up-{call.id}.ics"'
    )
    assert "no-store" in response.headers["Cache-Control"]
    uid = calendar.uid_for(call.id, BASE)
    judge(response.data, {uid: utc(2026, 11, 24, 21, 45)})  # 16:45 in New York, EST
    feed = byte_checked(client.get(feed_path(subscribe(app, busy))).data)
    assert uid in {e.value("UID") for e in feed.walk("VEVENT")}
    event = byte_checked(response.data).walk("VEVENT")[0]
    assert event.text("SUMMARY") == "Call Dana\nabout the offer"
    assert byte_checked(response.data).all("METHOD") == []


def test_the_download_is_the_owners_alone(app, client, login, busy, make_user):
    call = open_follow_ups(app, busy)[0]
    assert client.get(f"/follow-ups/{call.id}/calendar.ics").status_code == 302  # to login
    login(make_user("eve@example.com"))
    assert client.get(f"/follow-ups/{call.id}/calendar.ics").status_code == 404


def test_the_digest_attachment_passes_every_judge_with_method_and_organizer(app, busy):
    with app.test_request_context():
        user = db.session.get(User, busy.id)
        today = date(2026, 11, 24)
        due = agenda.due_for_digest(user, today)
        message = compose.digest(user, agenda.describe(due, today), today, utc(2026, 11, 24))
        wire = message.text.encode()
        expected_uids = {calendar.uid_for(f.id, BASE): f for f in due}
    [attachment] = message_from_bytes(wire, policy=default_policy).iter_attachments()
    data = attachment.get_payload(decode=True)
    calendar_ = byte_checked(data)
    assert calendar_.value("METHOD") == "PUBLISH"
    for event in calendar_.walk("VEVENT"):
        assert event.value("ORGANIZER") == "mailto:keepwarm@localhost"
    wanted = {
        uid: calendar.span_of(f.due_on, f.due_time, ZONE)[0] for uid, f in expected_uids.items()
    }
    assert len(wanted) == 3  # the two thank-yous and the call, due by the 24th
    judge(data, wanted, published=True)


def test_a_scheduling_message_without_an_organizer_is_refused(app, busy):
    with app.app_context():
        follow_up = db.session.execute(db.select(FollowUp).limit(1)).scalar_one()
        items = agenda.describe([follow_up], date(2026, 11, 21))
        with pytest.raises(ValueError, match="ORGANIZER"):
            calendar.calendar_bytes(items, BASE, method="PUBLISH")
        assert b"ORGANIZER" not in calendar.calendar_bytes(items, BASE)
        assert timedelta(hours=8) == calendar.alarm_trigger(date(2026, 11, 21), ZONE, 8)


def test_a_missing_libical_fails_and_names_the_debian_packages(monkeypatch):
    import sys

    import calendar_checks

    # The virtualenv's python has no GObject bindings: like a machine without the packages.
    monkeypatch.setattr(calendar_checks, "SYSTEM_PYTHON", calendar_checks.Path(sys.executable))
    with pytest.raises(
        pytest.fail.Exception, match="apt-get install -y gir1.2-ical-3.0 python3-gi"
    ):
        calendar_checks.libical(b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n")
