"""Follow-up items as iCalendar bytes: deterministic, one event per follow-up."""

from datetime import date

import icalendar
from helpers import utc
from maildata import meet, note, open_follow_ups

from tracker import agenda
from tracker.calendar import calendar_bytes, uid_for
from tracker.db import db
from tracker.models import FollowUp


def items(app, user, today):
    with app.app_context():
        due = agenda.due_for_digest(db.session.get(type(user), user.id), today)
        return agenda.describe(due, today)


def test_one_all_day_event_per_follow_up(app, make_user, make_interview):
    app.config["NOW"] = utc(2026, 11, 21, 6, 0)
    user = make_user()
    meet(make_interview, user, "Acme", "Lee Park", "Ana Ruiz", held_on=date(2026, 11, 20))
    lee = open_follow_ups(app, user)[0]
    note(app, user, lee.contact_id, "Likes Rust; call, don't write", date(2026, 11, 20))
    with app.app_context():
        db.session.get(FollowUp, lee.id).revision = 3
        db.session.commit()
        described = items(app, user, date(2026, 11, 21))
        data = calendar_bytes(described, "https://keepwarm.example.org/app")

    calendar = icalendar.Calendar.from_ical(data)
    assert str(calendar["VERSION"]) == "2.0" and calendar["PRODID"]
    events = calendar.walk("VEVENT")
    assert len(events) == 2
    first = events[0]
    assert str(first["UID"]) == f"followup-{lee.id}@keepwarm.example.org"
    assert first.decoded("DTSTART") == date(2026, 11, 21)
    assert first.decoded("DTEND") == date(2026, 11, 22)
    assert b"DTSTART;VALUE=DATE:20261121" in data
    assert int(first["SEQUENCE"]) == 3
    assert first.decoded("DTSTAMP") == lee.changed_at
    assert str(first["SUMMARY"]) == "Thank-you note: Lee Park, Acme"
    description = str(first["DESCRIPTION"])
    assert "Thank-you note after the onsite interview on 20 Nov" in description
    assert "Met at the onsite interview for Backend Engineer on 20 Nov" in description
    assert "Last note: Likes Rust; call, don't write" in description
    assert b"\r\n" in data


def test_the_same_items_give_the_same_bytes(app, make_user, make_interview):
    app.config["NOW"] = utc(2026, 11, 21, 6, 0)
    user = make_user()
    meet(make_interview, user, "Acme", "Lee Park", held_on=date(2026, 11, 20))
    with app.app_context():
        first = calendar_bytes(items(app, user, date(2026, 11, 21)), "http://x.test")
    app.config["NOW"] = utc(2026, 11, 21, 9, 0)  # later: nothing in the output depends on it
    with app.app_context():
        again = calendar_bytes(items(app, user, date(2026, 11, 21)), "http://x.test")
    assert first == again


def test_uid_names_the_host_of_the_base_url():
    assert uid_for(7, "https://keepwarm.example.org:8443/sub") == "followup-7@keepwarm.example.org"
    assert uid_for(7, "") == "followup-7@localhost"
