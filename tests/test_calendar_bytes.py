"""Calendar bytes: line rules, user text that survives exactly and injects nothing
(also under `python -O`), and dates that are the user's local dates in any zone."""

import subprocess
import sys
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest
from calendar_checks import byte_checked, libical, line_problems, strict_ical, unfold
from feed_helpers import add_follow_up, feed_path, open_follow_ups, subscribe
from helpers import utc

from tracker import calendar

ROOT = Path(__file__).resolve().parent.parent
BASE = "https://keepwarm.example.org"

# Everything a user might type, and everything an attacker would.
NASTY = [
    "Commas, semicolons; and a back\\slash, C:\\Notes\\New and \\n typed out",
    "Two lines\nin LF, two\r\nin CRLF, one\rafter a bare CR",
    "Emoji 😀👩🏽‍💻 and accents: Zoë, Ångström, 東京, עברית, ﬁ ligature",
    "Injected\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:evil@example.com\r\nSUMMARY:pwned",
    "Bare CR injection\rX-INJECTED:1\rATTENDEE:mailto:evil@example.com",
    "Unicode breaks\u2028END:VCALENDAR\u2029\x85BEGIN:VTODO and \x0bvertical\x0cfeed",
    "Controls \x00\x01\x07\x1b\x7f gone; a tab\tstays",
    "\"Quoted\" <angled> :colon: ^caret^ 'single'",
    "é" * 40 + "😀" * 30 + "東" * 30,
]
# What calendars show for each: line breaks as LF, control characters dropped.
SHOWN = [calendar.clean_text(text) for text in NASTY]


def nasty_feed(app, client, user) -> tuple[bytes, list[int]]:
    # PostgreSQL cannot store NUL at all; the feed drops it anyway, so SHOWN is the same.
    postgresql = app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql")
    texts = [text.replace("\x00", "") for text in NASTY] if postgresql else NASTY
    ids = [
        add_follow_up(app, user, text, date(2026, 11, 22) + timedelta(days=i), note=text)
        for i, text in enumerate(texts)
    ]
    return client.get(feed_path(subscribe(app, user))).data, ids


def test_clean_text_turns_every_line_break_into_lf_and_drops_controls():
    assert calendar.clean_text("a\r\nb\rc\nd\u2028e\x85f") == "a\nb\nc\nd\ne\nf"
    assert calendar.clean_text("x\x00\x07\x1b\x7fy\tz") == "xy\tz"
    assert calendar.escape_text("a,b;c\\d\ne\rf\\N") == "a\\,b\\;c\\\\d\\ne\\nf\\\\N"


def test_every_line_is_crlf_and_at_most_75_octets_never_splitting_a_character(
    app, client, make_user
):
    app.config["NOW"] = utc(2026, 11, 21, 6, 0)
    data, _ = nasty_feed(app, client, make_user())
    assert line_problems(data) == []
    lines = data.split(b"\r\n")
    assert max(len(line) for line in lines) <= 75
    assert any(len(line) >= 70 and line.decode()[-1] in "é😀東" for line in lines)


def test_user_text_survives_exactly_and_injects_nothing(app, client, make_user):
    app.config["NOW"] = utc(2026, 11, 21, 6, 0)
    data, ids = nasty_feed(app, client, make_user())
    parsed = byte_checked(data)
    events = parsed.walk("VEVENT")
    host = app.config["BASE_URL"]
    assert [e.value("UID") for e in events] == [calendar.uid_for(i, host) for i in ids]
    assert [c.name for c in parsed.children] == ["VEVENT"] * len(NASTY)
    allowed = {
        *("UID", "DTSTAMP", "LAST-MODIFIED", "SEQUENCE", "DTSTART", "DTEND", "SUMMARY"),
        *("DESCRIPTION", "URL", "CATEGORIES", "TRANSP"),
    }
    for event, shown in zip(events, SHOWN, strict=True):
        assert {name for name, _, _ in event.properties} == allowed
        assert [c.name for c in event.children] == ["VALARM"]
        assert event.text("SUMMARY") == shown  # unfolding gives back the exact text
        assert f"\nNote: {shown}\n" in event.text("DESCRIPTION")
    names = [line.split(":", 1)[0].split(";", 1)[0] for line in unfold(data)]
    assert not {"X-INJECTED", "ATTENDEE"} & set(names)
    assert names.count("BEGIN") == names.count("END") == 1 + 2 * len(NASTY)  # events, alarms

    # Three independent parsers read the same texts back.
    summaries = [str(e["SUMMARY"]) for e in icalendar.Calendar.from_ical(data).walk("VEVENT")]
    assert summaries == SHOWN
    assert [e.summary for e in strict_ical(data).events] == SHOWN
    judged = libical(data)["as_is"]
    assert judged["errors"] == [] and judged["restrictions_pass"]
    assert [e["summary"] for e in judged["events"]] == SHOWN


def test_nothing_injects_under_python_dash_o_either():
    """Assertions are gone under -O; the escaping must not rely on any."""
    script = (
        f"""
import sys
from datetime import date, datetime, UTC
from tracker import calendar
from tracker.agenda import Item
from tracker.models import FollowUp, FollowUpKind
texts = {NASTY!r}
assert False, "assertions are on"
"""
        + """
def item(i, t):
    follow_up = FollowUp(
        id=i + 1, kind=FollowUpKind.MANUAL, title=t, note=t, due_on=date(2026, 11, 22),
        due_time=None, revision=0, changed_at=datetime(2026, 11, 21, tzinfo=UTC),
    )
    return Item(
        follow_up=follow_up, reason=t, summary=t, mailto=None, where_met=t, last_note=t,
        contact_name="", organisation_name="",
    )
items = [item(i, t) for i, t in enumerate(texts)]
sys.stdout.buffer.write(calendar.calendar_bytes(items, "https://keepwarm.example.org"))
"""
    )
    result = subprocess.run(
        [sys.executable, "-O", "-c", script], cwd=ROOT, capture_output=True, check=False
    )
    assert result.returncode == 0, result.stderr.decode()
    data = result.stdout
    parsed = byte_checked(data)
    events = parsed.walk("VEVENT")
    assert [e.text("SUMMARY") for e in events] == SHOWN
    assert [c.name for c in parsed.children] == ["VEVENT"] * len(NASTY)
    assert [e.summary for e in strict_ical(data).events] == SHOWN


# UTC-10 (no DST), UTC, UTC+5:30, and UTC+13 (New Zealand's summer time, which starts on
# 27 Sep 2026 at 02:00, clocks jumping to 03:00).
ZONES = ["Pacific/Honolulu", "UTC", "Asia/Kolkata", "Pacific/Auckland"]
MOMENTS = [utc(2026, 9, 26, 11, 30), utc(2026, 9, 26, 14, 30), utc(2026, 9, 27, 11, 30)]


@pytest.mark.parametrize("zone", ZONES)
def test_all_day_dates_are_the_users_local_dates_around_a_dst_change(
    app, make_user, make_interview, zone
):
    user = make_user(timezone=zone)
    client = app.test_client()
    tomorrows = set()
    for number, moment in enumerate(MOMENTS):
        app.config["NOW"] = moment
        local_today = moment.astimezone(ZoneInfo(zone)).date()  # worked out independently
        tomorrow = local_today + timedelta(days=1)
        tomorrows.add(tomorrow)
        # Logged on the user's today: the thank-you is due on their tomorrow.
        make_interview(
            user, organisation=f"Org {number}", held_on=local_today, people=[{"name": "P"}]
        )
        add_follow_up(app, user, "Call at nine", tomorrow, time(9, 0))
    data = client.get(feed_path(subscribe(app, user))).data
    events = byte_checked(data).walk("VEVENT")

    thank_yous = {e.value("DTSTART") for e in events if "Thank-you" in e.value("CATEGORIES")}
    assert thank_yous == {f"{day:%Y%m%d}" for day in tomorrows}
    calls = []
    for event in events:
        params, start = event.one("DTSTART")
        end_params, end = event.one("DTEND")
        assert params == end_params
        if params == ";VALUE=DATE":
            first, last = (datetime.strptime(v, "%Y%m%d").date() for v in (start, end))
            assert last == first + timedelta(days=1)
        else:
            begins, ends = (
                datetime.strptime(v, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC) for v in (start, end)
            )
            assert ends > begins
            calls.append(begins.astimezone(ZoneInfo(zone)))
    # Nine o'clock on the user's wall clock, on whichever side of the DST change.
    assert len(calls) == len(MOMENTS)
    assert {call.date() for call in calls} == tomorrows
    assert all(call.time() == time(9, 0) for call in calls)

    # Each judge reads the dates the database holds.
    host = app.config["BASE_URL"]
    wanted = {
        calendar.uid_for(f.id, host): (f.due_on, f.due_time) for f in open_follow_ups(app, user)
    }
    assert {e.value("UID") for e in events} == set(wanted)
    for event in strict_ical(data).events:
        due_on, due_time = wanted[event.uid]
        if due_time is None:
            assert event.dtstart == due_on and event.dtend == due_on + timedelta(days=1)
        else:
            local = datetime.combine(due_on, due_time, tzinfo=ZoneInfo(zone))
            assert event.dtstart == local and event.dtstart.tzinfo == UTC
    judged = libical(data)["as_is"]
    assert judged["errors"] == [] and judged["restrictions_pass"]
    assert {e["uid"] for e in judged["events"]} == set(wanted)
    for event in judged["events"]:
        due_on, due_time = wanted[event["uid"]]
        assert event["start_is_date"] == event["end_is_date"] == (due_time is None)
        if due_time is None:
            assert event["dtstart"] == f"{due_on:%Y%m%d}"
        else:
            local = datetime.combine(due_on, due_time, tzinfo=ZoneInfo(zone))
            assert event["dtstart"] == f"{local.astimezone(UTC):%Y%m%dT%H%M%SZ}"
