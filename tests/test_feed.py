"""The calendar feed over HTTP: headers, what it holds, how it changes, conditional GETs."""

import hashlib
from datetime import date, time, timedelta

import pytest
from calendar_checks import byte_checked
from feed_helpers import add_follow_up, change, feed_path, open_follow_ups, subscribe
from helpers import utc
from sqlalchemy import update
from werkzeug.http import http_date, parse_date

from tracker.db import db
from tracker.drafts import KIND_LABELS
from tracker.models import Contact, FollowUp, Interaction, InteractionKind, Organisation, User

BASE = "https://keepwarm.example.org"
both_databases = pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
LONDON = "Europe/London"
EVENT_PROPERTIES = (
    "UID",
    "DTSTAMP",
    "LAST-MODIFIED",
    "SEQUENCE",
    "DTSTART",
    "DTEND",
    "SUMMARY",
    "DESCRIPTION",
    "URL",
    "CATEGORIES",
    "TRANSP",
)


@pytest.fixture
def feed_app(app):
    app.config["BASE_URL"] = BASE
    app.config["NOW"] = utc(2026, 11, 21, 6, 0)
    return app


@pytest.fixture
def dana(feed_app, make_user, make_interview):
    """A London user who met two people at Acme yesterday: two thank-yous due today,
    two status checks (the outcome is pending) in a week."""
    user = make_user("dana@example.com", timezone=LONDON)
    make_interview(
        user,
        organisation="Acme",
        held_on=date(2026, 11, 20),
        people=[
            {"name": "Dana Smith", "email": "dana.smith@acme.example", "topics": "Kafka"},
            {"name": "Lee Park", "email": "lee@acme.example"},
        ],
    )
    return user


def events_by_uid(body: bytes) -> dict:
    return {event.value("UID"): event for event in byte_checked(body).walk("VEVENT")}


def uid(follow_up_id: int) -> str:
    return f"followup-{follow_up_id}@keepwarm.example.org"


@both_databases
def test_the_feed_is_a_calendar_with_every_property_once(feed_app, client, dana):
    with feed_app.app_context():
        db.session.get(User, dana.id).digest_hour = 7
        db.session.commit()
    token = subscribe(feed_app, dana)
    response = client.get(feed_path(token))

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    body = response.data
    etag, weak = response.get_etag()
    assert not weak and etag == hashlib.sha256(body).hexdigest()[:40]
    assert response.headers["Cache-Control"] == "private, no-cache"
    assert response.headers["X-Robots-Tag"] == "noindex"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="keepwarm-follow-ups.ics"'
    )
    assert parse_date(response.headers["Last-Modified"]) is not None

    # icalendar 7.3 writes these two wrongly unless told: check the exact bytes.
    assert b"\r\nREFRESH-INTERVAL;VALUE=DURATION:PT4H\r\n" in body
    assert b"\r\nX-PUBLISHED-TTL:PT4H\r\n" in body
    calendar = byte_checked(body)
    assert calendar.value("VERSION") == "2.0"
    assert calendar.value("PRODID") == "-//Keepwarm//Follow-ups//EN"
    assert calendar.value("CALSCALE") == "GREGORIAN"
    assert calendar.text("NAME") == calendar.text("X-WR-CALNAME") == "Keepwarm follow-ups"
    assert calendar.value("UID") == f"follow-ups-{dana.id}@keepwarm.example.org"
    assert calendar.all("METHOD") == [] and calendar.all("X-WR-TIMEZONE") == []
    assert calendar.walk("VTODO") == []

    follow_ups = open_follow_ups(feed_app, dana)
    events = calendar.walk("VEVENT")
    assert [e.value("UID") for e in events] == [uid(f.id) for f in follow_ups]
    for event, follow_up in zip(events, follow_ups, strict=True):
        for name in EVENT_PROPERTIES:
            event.one(name)
        next_day = follow_up.due_on + timedelta(days=1)
        assert event.one("DTSTART") == (";VALUE=DATE", f"{follow_up.due_on:%Y%m%d}")
        assert event.one("DTEND") == (";VALUE=DATE", f"{next_day:%Y%m%d}")
        stamp = follow_up.changed_at.strftime("%Y%m%dT%H%M%SZ")
        assert event.value("DTSTAMP") == event.value("LAST-MODIFIED") == stamp
        assert event.value("SEQUENCE") == str(follow_up.revision)
        assert event.value("URL") == f"{BASE}/follow-ups/{follow_up.id}"
        assert event.value("CATEGORIES") == f"Keepwarm,{KIND_LABELS[follow_up.kind]}"
        assert event.value("TRANSP") == "TRANSPARENT"
        [alarm] = event.children
        assert alarm.name == "VALARM"
        assert alarm.value("ACTION") == "DISPLAY"
        assert alarm.text("DESCRIPTION") == event.text("SUMMARY")
        assert alarm.value("TRIGGER") == "PT7H"  # the digest hour, on the day

    assert [e.value("DTSTART") for e in events] == ["20261121"] * 2 + ["20261127"] * 2
    dana_event = events[0]
    assert dana_event.text("SUMMARY") == "Thank-you note: Dana Smith, Acme"
    description = dana_event.text("DESCRIPTION")
    assert description.startswith("Thank-you note after the onsite interview on 20 Nov\n")
    assert "Met at the onsite interview for Backend Engineer on 20 Nov" in description
    assert "Subject: Thank you — Backend Engineer interview" in description
    assert "I especially enjoyed our conversation about Kafka." in description
    assert description.endswith(f"Open in Keepwarm: {BASE}/follow-ups/{follow_ups[0].id}")


def test_a_user_with_nothing_to_do_gets_a_valid_empty_calendar(feed_app, client, make_user):
    user = make_user()
    response = client.get(feed_path(subscribe(feed_app, user)))
    assert response.status_code == 200
    calendar = byte_checked(response.data)
    assert calendar.walk("VEVENT") == []
    assert calendar.value("REFRESH-INTERVAL") == "PT4H"


def test_open_follow_ups_from_60_days_back_to_365_ahead(feed_app, client, make_user):
    user = make_user(timezone=LONDON)
    today = date(2026, 11, 21)
    ids = {
        days: add_follow_up(feed_app, user, f"Due {days}", today + timedelta(days=days))
        for days in (-61, -60, 0, 365, 366)
    }
    events = events_by_uid(client.get(feed_path(subscribe(feed_app, user))).data)
    assert set(events) == {uid(ids[-60]), uid(ids[0]), uid(ids[365])}
    assert events[uid(ids[-60])].value("DTSTART") == "20260922"
    assert events[uid(ids[365])].value("DTSTART") == "20271121"


def test_a_follow_up_with_a_time_is_a_half_hour_in_utc(feed_app, client, make_user):
    user = make_user(timezone="Europe/Berlin")
    ident = add_follow_up(feed_app, user, "Call Dana", date(2026, 11, 25), time(14, 30))
    event = events_by_uid(client.get(feed_path(subscribe(feed_app, user))).data)[uid(ident)]
    assert event.one("DTSTART") == ("", "20261125T133000Z")  # 14:30 in Berlin, CET
    assert event.one("DTEND") == ("", "20261125T140000Z")
    # The alarm at the digest hour, 08:00 in Berlin: 6.5 hours before the start.
    assert event.children[0].value("TRIGGER") == "-PT6H30M"


def test_the_same_state_gives_the_same_bytes_and_etag(feed_app, client, dana):
    from tracker.feed import RenderCache

    path = feed_path(subscribe(feed_app, dana))
    first = client.get(path)
    feed_app.config["NOW"] = utc(2026, 11, 21, 21, 0)  # later the same day in London
    again = client.get(path)
    feed_app.extensions["keepwarm_feed_cache"] = RenderCache()  # rendered afresh
    fresh = client.get(path)
    assert first.data == again.data == fresh.data
    assert first.headers["ETag"] == again.headers["ETag"] == fresh.headers["ETag"]
    assert first.headers["Last-Modified"] == fresh.headers["Last-Modified"]


def test_an_edit_bumps_sequence_keeps_the_uid_and_changes_the_validators(
    feed_app, client, make_user
):
    user = make_user(timezone=LONDON)
    ident = add_follow_up(feed_app, user, "Write to Dana", date(2026, 11, 25))
    path = feed_path(subscribe(feed_app, user))
    before = client.get(path)
    feed_app.config["NOW"] = utc(2026, 11, 21, 9, 0)
    change(feed_app, ident, "edit", title="Write to Dana, about Kafka")
    after = client.get(path)

    old, new = events_by_uid(before.data)[uid(ident)], events_by_uid(after.data)[uid(ident)]
    assert int(new.value("SEQUENCE")) == int(old.value("SEQUENCE")) + 1
    assert new.text("SUMMARY") == "Write to Dana, about Kafka"
    assert new.value("LAST-MODIFIED") == "20261121T090000Z"
    assert after.headers["ETag"] != before.headers["ETag"]
    assert parse_date(after.headers["Last-Modified"]) == utc(2026, 11, 21, 9, 0)

    feed_app.config["NOW"] = utc(2026, 11, 21, 10, 0)
    change(feed_app, ident, "snooze", until=date(2026, 12, 2))
    snoozed = events_by_uid(client.get(path).data)[uid(ident)]
    assert snoozed.value("DTSTART") == "20261202" and snoozed.value("DTEND") == "20261203"
    assert int(snoozed.value("SEQUENCE")) == int(new.value("SEQUENCE")) + 1


@both_databases
@pytest.mark.parametrize("action", ["done", "skip", "delete"])
def test_done_skipped_and_deleted_follow_ups_leave_the_feed(feed_app, client, dana, action):
    path = feed_path(subscribe(feed_app, dana))
    first, *others = open_follow_ups(feed_app, dana)
    before = client.get(path)
    assert uid(first.id) in events_by_uid(before.data)
    feed_app.config["NOW"] = utc(2026, 11, 21, 12, 0)
    change(feed_app, first.id, action)
    after = client.get(path)
    assert set(events_by_uid(after.data)) == {uid(f.id) for f in others}
    assert after.headers["ETag"] != before.headers["ETag"]
    assert parse_date(after.headers["Last-Modified"]) == utc(2026, 11, 21, 12, 0)
    assert parse_date(after.headers["Last-Modified"]) > parse_date(before.headers["Last-Modified"])


@both_databases
def test_the_feed_follows_changes_to_the_people_and_places_in_its_text(feed_app, client, dana):
    """Names, notes and deletions elsewhere change the text: never a stale cached feed."""
    path = feed_path(subscribe(feed_app, dana))
    client.get(path)
    first, second, *_ = open_follow_ups(feed_app, dana)
    assert first.contact_id != second.contact_id
    with feed_app.app_context():
        db.session.get(Contact, first.contact_id).name = "Dana Smith-Jones"
        db.session.get(Organisation, first.organisation_id).name = "Acme Robotics"
        db.session.commit()
    summary = events_by_uid(client.get(path).data)[uid(first.id)].text("SUMMARY")
    assert summary == "Thank-you note: Dana Smith-Jones, Acme Robotics"

    with feed_app.app_context():
        db.session.add(
            Interaction(
                user_id=dana.id,
                contact_id=first.contact_id,
                kind=InteractionKind.CALL,
                occurred_on=date(2026, 11, 20),
                note="Wants the Kafka slides",
            )
        )
        db.session.commit()
    description = events_by_uid(client.get(path).data)[uid(first.id)].text("DESCRIPTION")
    assert "Last note: Wants the Kafka slides" in description

    feed_app.config["NOW"] = utc(2026, 11, 21, 13, 0)
    before = client.get(path)
    with feed_app.app_context():
        db.session.delete(db.session.get(Contact, second.contact_id))  # cascades in SQL
        db.session.commit()
    after = client.get(path)
    left = {uid(f.id) for f in open_follow_ups(feed_app, dana)}
    assert set(events_by_uid(after.data)) == left and len(left) == 2 and uid(first.id) in left
    assert parse_date(after.headers["Last-Modified"]) == utc(2026, 11, 21, 13, 0)
    assert after.headers["ETag"] != before.headers["ETag"]

    with feed_app.app_context():  # a bulk statement, past the ORM's unit of work
        db.session.execute(
            update(FollowUp).where(FollowUp.id == first.id).values(due_on=date(2026, 11, 30))
        )
        db.session.commit()
    assert events_by_uid(client.get(path).data)[uid(first.id)].value("DTSTART") == "20261130"


@both_databases
def test_conditional_gets_answer_304_with_an_empty_body(feed_app, client, dana):
    path = feed_path(subscribe(feed_app, dana))
    full = client.get(path)
    etag, modified = full.headers["ETag"], full.headers["Last-Modified"]

    by_etag = client.get(path, headers={"If-None-Match": etag})
    assert by_etag.status_code == 304 and by_etag.data == b""
    assert by_etag.headers["ETag"] == etag
    by_date = client.get(path, headers={"If-Modified-Since": modified})
    assert by_date.status_code == 304 and by_date.data == b""
    later = http_date(parse_date(modified) + timedelta(hours=1))
    assert client.get(path, headers={"If-Modified-Since": later}).status_code == 304

    for garbage in ("yesterday", "Mon, 99 Foo 2026 25:61:00 GMT", "0", "\x00"):
        response = client.get(path, headers={"If-Modified-Since": garbage})
        assert response.status_code == 200 and response.data == full.data, garbage
    stale = client.get(path, headers={"If-None-Match": '"not-the-etag"'})
    assert stale.status_code == 200 and stale.data == full.data
    # A changed ETag wins over a date that would still match.
    both = client.get(path, headers={"If-None-Match": '"old"', "If-Modified-Since": modified})
    assert both.status_code == 200


def test_head_gives_the_headers_without_the_body(feed_app, client, dana):
    path = feed_path(subscribe(feed_app, dana))
    full = client.get(path)
    head = client.head(path)
    assert head.status_code == 200 and head.data == b""
    assert head.headers["ETag"] == full.headers["ETag"]
    assert head.headers["Content-Length"] == str(len(full.data))
    assert head.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert client.head(path, headers={"If-None-Match": full.headers["ETag"]}).status_code == 304


def test_last_modified_moves_to_local_midnight_when_the_day_turns(feed_app, client, dana):
    path = feed_path(subscribe(feed_app, dana))
    client.get(path)
    feed_app.config["NOW"] = utc(2026, 11, 23, 10, 0)
    response = client.get(path)
    assert parse_date(response.headers["Last-Modified"]) == utc(2026, 11, 23, 0, 0)


@both_databases
def test_bulk_statements_move_the_feed_of_the_users_they_touch(feed_app, make_user, dana):
    """Imports and restores insert rows in bulk, past the unit of work."""
    from sqlalchemy import insert

    other = make_user("other@example.com")

    def versions() -> tuple[int, int]:
        with feed_app.app_context():
            return tuple(db.session.get(User, u.id).feed_version for u in (dana, other))

    start = versions()
    first = open_follow_ups(feed_app, dana)[0]
    with feed_app.app_context():
        db.session.execute(
            insert(Interaction),
            [
                {
                    "user_id": dana.id,
                    "contact_id": first.contact_id,
                    "kind": "call",
                    "occurred_on": date(2026, 11, 20),
                    "note": "Imported note",
                }
            ],
        )
        db.session.commit()
    after_insert = versions()
    assert after_insert[0] > start[0] and after_insert[1] == start[1]
    with feed_app.app_context():  # a statement whose owners are unknown: every feed moves
        db.session.execute(
            update(Contact).where(Contact.id == first.contact_id).values(phone="+44 1")
        )
        db.session.commit()
    final = versions()
    assert final[0] > after_insert[0] and final[1] > after_insert[1]
