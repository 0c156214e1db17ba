"""The daily digest as delivered: headers, parts, grouping, links, and when it goes out."""

import re
from dataclasses import astuple
from datetime import date, datetime, timedelta
from email.utils import parsedate_to_datetime
from zoneinfo import ZoneInfo

import icalendar
import pytest
from helpers import add_follow_ups, utc
from maildata import meet, move_all, note, open_follow_ups, outbox, set_user

from tracker import jobs, tokens
from tracker.agenda import DIGEST_ROWS
from tracker.db import db
from tracker.models import FollowUp, OutboxStatus

BERLIN = "Europe/Berlin"


@pytest.fixture
def mail_app(app, smtp_server):
    app.config.update(smtp_server.config())
    return app


def run_jobs(app, now: datetime) -> None:
    """One scheduler tick at `now`: plan, then send."""
    app.config["NOW"] = now
    with app.app_context():
        jobs.plan_digests()
        jobs.dispatch_outbox()


@pytest.fixture
def dana(mail_app, make_user, make_interview):
    """A Berlin user who met two people at Acme yesterday and one at Globex four days ago."""
    mail_app.config["NOW"] = utc(2026, 11, 21, 6, 0)
    user = make_user("dana@example.com", timezone=BERLIN)
    meet(make_interview, user, "Globex", "Sam <b>Jones</b>", held_on=date(2026, 11, 17))
    meet(make_interview, user, "Acme", "Lee Park", "Ana Ruiz", held_on=date(2026, 11, 20))
    sam = next(f for f in open_follow_ups(mail_app, user) if f.organisation_id == 1)
    said = "Said to write after the reorg & the holidays"
    note(mail_app, user, sam.contact_id, said, date(2026, 11, 17))
    return user


def test_digest_headers_parts_and_calendar(mail_app, smtp_server, dana):
    run_jobs(mail_app, utc(2026, 11, 21, 7, 0))  # 08:00 in Berlin

    [message] = smtp_server.wait_for(1)
    [row] = outbox(mail_app)
    assert row.status is OutboxStatus.SENT and row.key == "digest:1:2026-11-21"
    assert message["Subject"] == "3 follow-ups due today (1 overdue)"
    assert message["To"] == "dana@example.com"
    assert message["From"] == mail_app.config["MAIL_FROM"]
    assert message["Message-ID"] == row.message_id
    assert re.fullmatch(r"<[^<>@\s]+@127\.0\.0\.1>", message["Message-ID"])
    assert parsedate_to_datetime(message["Date"]) == utc(2026, 11, 21, 7, 0)
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe = re.fullmatch(
        r"<http://127\.0\.0\.1:5000/email/unsubscribe/([^>]+)>", message["List-Unsubscribe"]
    )
    with mail_app.app_context():
        assert tokens.read_unsubscribe_token(unsubscribe.group(1)) == dana.id

    assert message.get_content_type() == "multipart/mixed"
    alternative, attachment = message.get_payload()
    assert alternative.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in alternative.get_payload()] == ["text/plain", "text/html"]
    assert attachment.get_content_type() == "text/calendar"
    assert attachment.get_param("charset") == "utf-8"
    assert attachment.get_filename().endswith(".ics")
    calendar = icalendar.Calendar.from_ical(attachment.get_content())
    events = calendar.walk("VEVENT")
    follow_ups = open_follow_ups(mail_app, dana, due_by=date(2026, 11, 21))
    assert len(follow_ups) == 3
    assert sorted(str(e["UID"]) for e in events) == sorted(
        f"followup-{f.id}@127.0.0.1" for f in follow_ups
    )
    assert {e.decoded("DTSTART") for e in events} == {date(2026, 11, 18), date(2026, 11, 21)}


def test_digest_groups_by_organisation_with_context_and_links(mail_app, smtp_server, dana):
    run_jobs(mail_app, utc(2026, 11, 21, 7, 0))
    [message] = smtp_server.wait_for(1)
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()

    # Globex holds the overdue item, so it comes first; each group lists its people.
    assert text.index("== Globex ==") < text.index("Sam <b>Jones</b>") < text.index("== Acme ==")
    assert text.index("== Acme ==") < text.index("Lee Park") < text.index("Ana Ruiz")
    assert "3 days overdue" in text and "due today" in text
    assert "Met at the onsite interview for Backend Engineer on 17 Nov" in text
    assert "Last note: Said to write after the reorg & the holidays" in text

    # The HTML part escapes what users typed; the text part shows it as typed.
    assert "Sam &lt;b&gt;Jones&lt;/b&gt;" in html and "<b>Jones" not in html
    assert "reorg &amp; the holidays" in html

    # Each item has its three one-click links, signed for that follow-up and revision.
    found = re.findall(r"http://127\.0\.0\.1:5000/email/action/([\w.\-]+)", text)
    assert re.findall(r'href="http://127\.0\.0\.1:5000/email/action/([\w.\-]+)"', html) == found
    with mail_app.app_context():
        claims = {astuple(tokens.read_action_token(token)) for token in found}
    due = open_follow_ups(mail_app, dana, due_by=date(2026, 11, 21))
    assert claims == {
        (f.id, action, f.revision) for f in due for action in ("done", "reached-out", "snooze")
    }
    for label in ("Done", "I reached out", "Snooze 1 week"):
        assert f">{label}</a>" in html


def test_no_digest_on_a_day_with_nothing_due(mail_app, smtp_server, dana):
    move_all(mail_app, dana, date(2026, 11, 23))
    for hour in range(7, 24):
        run_jobs(mail_app, utc(2026, 11, 21, hour, 0))
    assert outbox(mail_app) == [] and smtp_server.messages() == []

    run_jobs(mail_app, utc(2026, 11, 23, 7, 0))
    [message] = smtp_server.wait_for(1)
    count = len(open_follow_ups(mail_app, dana))
    assert message["Subject"] == f"{count} follow-ups due today"


def test_digest_hour_and_zone_of_each_user(mail_app, smtp_server, make_user, make_interview):
    """Three zones, one custom hour: each user's digest comes once a day at their hour."""
    mail_app.config["NOW"] = utc(2026, 11, 20, 12, 0)
    users = {
        "Pacific/Auckland": make_user("nz@example.com", timezone="Pacific/Auckland"),
        BERLIN: make_user("de@example.com", timezone=BERLIN),
        "America/Los_Angeles": make_user("us@example.com", timezone="America/Los_Angeles"),
    }
    for user in users.values():
        meet(make_interview, user, "Acme", "Lee Park", held_on=date(2026, 11, 19))
        move_all(mail_app, user, date(2026, 11, 21))
    set_user(mail_app, users["America/Los_Angeles"], digest_hour=7)

    moment = utc(2026, 11, 20, 18, 0)
    delivered: dict[str, list[tuple[date, int, int]]] = {zone: [] for zone in users}
    while moment <= utc(2026, 11, 22, 18, 0):
        before = len(smtp_server.handler.received)
        run_jobs(mail_app, moment)
        for message in smtp_server.messages()[before:]:
            zone = next(z for z, u in users.items() if u.email == message["To"])
            local = moment.astimezone(ZoneInfo(zone))
            delivered[zone].append((local.date(), local.hour, local.minute))
        moment += timedelta(minutes=15)

    days = [date(2026, 11, 21), date(2026, 11, 22)]
    assert delivered["Pacific/Auckland"] == [(day, 8, 0) for day in days]
    assert delivered[BERLIN] == [(day, 8, 0) for day in days]
    assert delivered["America/Los_Angeles"] == [(day, 7, 0) for day in days]
    assert len(outbox(mail_app)) == 6


def test_digest_turned_off_sends_nothing(mail_app, smtp_server, dana):
    set_user(mail_app, dana, digest_enabled=False)
    run_jobs(mail_app, utc(2026, 11, 21, 7, 0))
    assert outbox(mail_app) == [] and smtp_server.messages() == []


def test_done_follow_ups_are_left_out(mail_app, smtp_server, dana):
    with mail_app.app_context():
        first = db.session.execute(db.select(FollowUp).order_by(FollowUp.id)).scalars().first()
        first.status = "done"
        db.session.commit()
    run_jobs(mail_app, utc(2026, 11, 21, 7, 0))
    [message] = smtp_server.wait_for(1)
    assert message["Subject"] == "2 follow-ups due today"
    assert "Globex" not in message.get_body(("plain",)).get_content()


def test_the_digest_hour_follows_the_clocks_across_daylight_saving(
    mail_app, smtp_server, make_user, make_interview
):
    """Berlin moves to summer time on 28 March 2027: 08:00 is 07:00 UTC, then 06:00 UTC."""
    mail_app.config["NOW"] = utc(2027, 3, 25, 12, 0)
    user = make_user(timezone=BERLIN)
    meet(make_interview, user, "Acme", "Lee Park", held_on=date(2027, 3, 25))
    move_all(mail_app, user, date(2027, 3, 26))
    sent_at = []
    moment = utc(2027, 3, 26, 23, 0)
    while moment <= utc(2027, 3, 28, 12, 0):
        before = len(smtp_server.handler.received)
        run_jobs(mail_app, moment)
        sent_at += [moment] * (len(smtp_server.handler.received) - before)
        moment += timedelta(minutes=30)
    assert sent_at == [utc(2027, 3, 27, 7, 0), utc(2027, 3, 28, 6, 0)]


def days_before(today: date, count: int, prefix: str = "Task") -> dict[str, date]:
    """`count` titles, "Task 000" due today to "Task <count-1>" due that many days before."""
    return {f"{prefix} {n:03}": today - timedelta(days=n) for n in range(count)}


TODAY = date(2026, 11, 21)
MORE = re.compile(r"And ([\d,]+) more due\. This email lists the (\d+) oldest")


@pytest.fixture
def kim(mail_app, make_user):
    return make_user("kim@example.com", timezone=BERLIN)


def test_a_long_digest_lists_the_oldest_and_says_how_many_more(mail_app, smtp_server, kim):
    assert DIGEST_ROWS == 50
    tasks = days_before(TODAY, DIGEST_ROWS + 7)  # Task 056 is the oldest
    add_follow_ups(mail_app, kim, tasks)
    add_follow_ups(mail_app, kim, {"Not yet": TODAY + timedelta(days=1)})
    run_jobs(mail_app, utc(2026, 11, 21, 7, 0))

    [message] = smtp_server.wait_for(1)
    assert message["Subject"] == "57 follow-ups due today (56 overdue)"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    oldest = [f"Task {n:03}" for n in range(56, 6, -1)]
    assert re.findall(r"^\* (Task \d+) ", text, re.MULTILINE) == oldest
    for newest in ("Task 006", "Task 000", "Not yet"):
        assert newest not in text and newest not in html
    assert MORE.search(text).groups() == ("7", "50")
    assert MORE.search(html).groups() == ("7", "50")
    assert re.search(r"see them all in Keepwarm:\s+http://127\.0\.0\.1:5000/\s", text)
    assert '<a href="http://127.0.0.1:5000/" style="color:#8f3413">see them all' in html
    assert len(re.findall(r"/email/action/", text)) == 3 * 50

    [attachment] = message.iter_attachments()
    events = icalendar.Calendar.from_ical(attachment.get_content()).walk("VEVENT")
    listed = [f for f in open_follow_ups(mail_app, kim) if f.title in oldest]
    assert sorted(str(e["UID"]) for e in events) == sorted(
        f"followup-{f.id}@127.0.0.1" for f in listed
    )


def test_thousands_due_make_one_email_of_the_oldest(mail_app, smtp_server, kim):
    add_follow_ups(mail_app, kim, days_before(TODAY, 2500))
    run_jobs(mail_app, utc(2026, 11, 21, 7, 0))
    [message] = smtp_server.wait_for(1)
    assert message["Subject"] == "2,500 follow-ups due today (2,499 overdue)"
    text = message.get_body(("plain",)).get_content()
    assert MORE.search(text).groups() == ("2,450", "50")
    assert text.count("\n* Task ") == 50 and "* Task 2499 " in text
    assert len(smtp_server.handler.received[0]) < 200_000


def test_at_the_cap_the_digest_has_no_more_line(mail_app, smtp_server, kim, dana):
    add_follow_ups(mail_app, kim, days_before(TODAY, DIGEST_ROWS))
    run_jobs(mail_app, utc(2026, 11, 21, 7, 0))
    messages = {m["To"]: m for m in smtp_server.wait_for(2)}
    for message in messages.values():
        assert not MORE.search(message.get_body(("plain",)).get_content())
        assert not MORE.search(message.get_body(("html",)).get_content())
        assert "more due" not in message.get_body(("html",)).get_content()
    text = messages["kim@example.com"].get_body(("plain",)).get_content()
    assert text.count("\n* Task ") == DIGEST_ROWS


def test_the_cap_counts_only_what_is_open_and_due(mail_app, smtp_server, kim):
    """Closed follow-ups and those due later never fill the list or count as due."""
    add_follow_ups(mail_app, kim, days_before(TODAY, 60, "Finished"), status="done")
    later = {f"Later {n:03}": TODAY + timedelta(days=1 + n) for n in range(60)}
    add_follow_ups(mail_app, kim, later)
    run_jobs(mail_app, utc(2026, 11, 21, 7, 0))
    assert outbox(mail_app) == [] and smtp_server.messages() == []

    add_follow_ups(mail_app, kim, days_before(TODAY, 3))
    run_jobs(mail_app, utc(2026, 11, 21, 7, 1))
    [message] = smtp_server.wait_for(1)
    assert message["Subject"] == "3 follow-ups due today (2 overdue)"
    text = message.get_body(("plain",)).get_content()
    assert text.count("\n* Task ") == 3 and not MORE.search(text)
    assert "Finished" not in text and "Later" not in text
