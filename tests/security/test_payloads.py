"""Line 12, 15, 16 and 17: the payload corpus through every text field of the real forms,
then everywhere it is shown. Pages (parsed) gain no element, attribute or script; the
digest email gains no header and shows the text literally in both parts; CSV cells never
start a formula; vCards and calendars gain no property or component.
"""

import csv
import io
import json
from email import message_from_string
from email.policy import default as default_policy

import icalendar
import pytest
import vobject
from calendar_checks import byte_checked, unescape
from helpers import utc

from tracker import feed, jobs
from tracker.db import db
from tracker.exports import csv_unescape
from tracker.models import Contact, FollowUp, FollowUpStatus, Outbox, User

from .payloads import (
    PAYLOADS,
    TODAY,
    fill_account,
    html_problems,
    refused_pages,
    shown_marker,
    shown_pages,
    stored_form,
    template_tags,
)

EXPECTED_HEADERS = {
    "Auto-Submitted",
    "Content-Type",
    "Date",
    "From",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
    "MIME-Version",
    "Message-ID",
    "Subject",
    "To",
}
CALENDAR_COMPONENTS = {"VCALENDAR", "VTIMEZONE", "STANDARD", "DAYLIGHT", "VEVENT", "VALARM"}
INJECTED_PROPERTIES = {"X-INJECTED", "ATTENDEE"}
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@pytest.fixture
def filled(app, make_user, login):
    """Pat's account with every payload typed into every text field; (user, client, rows)."""
    app.config["NOW"] = utc(2026, 11, 20, 6, 0)
    user = make_user("pat@example.com")
    client = login(user)
    rows = {name: fill_account(client, name, value) for name, value in PAYLOADS.items()}
    return user, client, rows


def feed_token(app, user_id: int) -> str:
    with app.app_context():
        token = feed.new_token(db.session.get(User, user_id))
        db.session.commit()
        return token


def get(client, url: str):
    """A GET with the body read and the response closed (downloads are streamed)."""
    response = client.get(url)
    response.get_data()
    response.close()
    return response


def assert_plain_headers(response) -> None:
    """No header a payload made, and no header value that could start another."""
    for name, value in response.headers.items():
        assert "\r" not in value and "\n" not in value, (name, value)
        assert name.lower() not in ("x-injected", "bcc"), name


# Pages


def test_every_page_shows_the_payloads_as_text_and_nothing_more(app, filled):
    user, client, _ = filled
    allowed = template_tags()
    shown, checked = [], 0
    for url in shown_pages(app, user.id, feed_token(app, user.id)):
        response = get(client, url)
        expected = (404,) if url == "/reset-password" else (200, 302)  # needs a reset link
        assert response.status_code in expected, (url, response.status_code)
        assert_plain_headers(response)
        if response.mimetype != "text/html":
            continue
        problems, text = html_problems(response.get_data(as_text=True), allowed)
        assert problems == [], (url, problems)
        shown.append(text)
        checked += 1
    assert checked > 200
    everything = "\n".join(shown)
    for name in PAYLOADS:
        assert shown_marker(name) in everything, name
    assert "kw{{7*7}}kw" in everything


def test_pages_that_refuse_a_payload_show_it_harmlessly(app, filled):
    _, client, rows = filled
    allowed = template_tags()
    anonymous = app.test_client()
    for name, value in PAYLOADS.items():
        for url, response in refused_pages(client, anonymous, rows[name], value):
            assert response.status_code in (200, 302, 400, 401, 429), (name, url)
            assert_plain_headers(response)
            if response.status_code != 302:
                problems, _ = html_problems(response.get_data(as_text=True), allowed)
                assert problems == [], (name, url, problems)
    assert client.get("/account").status_code == 200  # no payload changed the password


# Email


def digest_of(app, user_id: int):
    with app.app_context():
        assert jobs.plan_digests(utc(2026, 11, 20, 8, 0)) == 1
        row = db.session.execute(db.select(Outbox).filter_by(kind="digest")).scalar_one()
        due = db.session.scalar(
            db.select(db.func.count())
            .select_from(FollowUp)
            .where(
                FollowUp.user_id == user_id,
                FollowUp.status == FollowUpStatus.OPEN,
                FollowUp.due_on <= TODAY,
            )
        )
        return message_from_string(row.message, policy=default_policy), due


def test_the_digest_shows_the_payloads_as_text_in_both_parts(app, filled):
    user, _, _ = filled
    message, due = digest_of(app, user.id)
    assert set(message.keys()) == EXPECTED_HEADERS
    assert message["To"] == "pat@example.com"
    assert message["Subject"].startswith(f"{due} follow-ups due today")
    parts = [part.get_content_type() for part in message.walk()]
    assert parts == [
        "multipart/mixed",
        "multipart/alternative",
        "text/plain",
        "text/html",
        "text/calendar",
    ]
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    problems, shown = html_problems(html, template_tags(), inline_styles=True)
    assert problems == []
    for name in PAYLOADS:
        marker = shown_marker(name)
        assert marker in shown, name
        assert marker in text, name  # plain text: shown as typed, not HTML-escaped
    assert "&lt;" not in text and "&#39;" not in text
    [attachment] = message.iter_attachments()
    check_calendar(attachment.get_content().encode(), events=due)


# Calendars


def check_calendar(data: bytes, events: int) -> list[str]:
    """Read by a strict line parser, icalendar and vobject: the expected number of events,
    no other component, no injected property. Returns the summaries (unescaped)."""
    strict = byte_checked(data)
    components = {component.name for component in _walk(strict)}
    assert components <= CALENDAR_COMPONENTS, components
    found = strict.walk("VEVENT")
    assert len(found) == events
    for event in found:
        names = {name for name, _, _ in event.properties}
        assert not names & INJECTED_PROPERTIES, names
    parsed = icalendar.Calendar.from_ical(data)
    assert len(parsed.walk("VEVENT")) == events
    for component in parsed.walk():
        assert component.name in CALENDAR_COMPONENTS
        assert not set(component.keys()) & INJECTED_PROPERTIES
    read = vobject.readOne(data.decode())
    assert len(read.contents.get("vevent", [])) == events
    for event in read.vevent_list:
        assert not {key.upper() for key in event.contents} & INJECTED_PROPERTIES
    return [unescape(event.value("SUMMARY")) for event in found]


def _walk(component):
    yield component
    for child in component.children:
        yield from _walk(child)


def test_the_feed_and_calendar_downloads_hold_no_injected_property(app, filled):
    user, client, rows = filled
    with app.app_context():
        everyone = db.select(FollowUp.id).filter_by(user_id=user.id)
        all_ids = list(db.session.execute(everyone).scalars())
        open_ids = list(
            db.session.execute(everyone.filter_by(status=FollowUpStatus.OPEN)).scalars()
        )
    assert len(all_ids) > len(open_ids)  # done ones too: the export holds every one
    response = get(client, f"/feed/{feed_token(app, user.id)}.ics")
    assert response.status_code == 200
    assert_plain_headers(response)
    summaries = check_calendar(response.get_data(), events=len(open_ids))
    for name in PAYLOADS:
        assert any(shown_marker(name) in summary for summary in summaries), name

    response = get(client, "/export/follow-ups.ics")
    check_calendar(response.get_data(), events=len(all_ids))
    for follow_up in open_ids:
        response = get(client, f"/follow-ups/{follow_up}/calendar.ics")
        assert_plain_headers(response)
        check_calendar(response.get_data(), events=1)


# Exports


def test_csv_export_cells_never_start_a_formula(app, filled):
    user, client, _ = filled
    response = get(client, "/export/contacts.csv")
    assert response.status_code == 200
    assert_plain_headers(response)
    text = response.get_data(as_text=True).removeprefix("\ufeff")
    header, *rows = list(csv.reader(io.StringIO(text, newline="")))
    with app.app_context():
        contacts = db.session.execute(db.select(Contact).filter_by(user_id=user.id)).scalars()
        stored = {c.name: c for c in contacts}
    assert len(rows) == len(stored)
    for row in rows:
        assert len(row) == len(header), row
        for cell in row:
            assert not cell.startswith(FORMULA_STARTS), cell
        name, *_ = row
        contact = stored[csv_unescape(name)]  # the text comes back exactly
        assert csv_unescape(row[header.index("Notes")]) == contact.notes
    for name in ("formula", "plus", "at", "minus", "tab"):
        value = stored_form(PAYLOADS[name], 200)
        assert value in stored, name
        assert f"'{value}" in [row[0] for row in rows], name


def test_vcard_export_holds_one_card_per_contact_and_no_injected_property(app, filled):
    user, client, _ = filled
    response = get(client, "/export/contacts.vcf")
    assert response.status_code == 200
    cards = list(vobject.readComponents(response.get_data(as_text=True)))
    with app.app_context():
        names = set(
            db.session.execute(db.select(Contact.name).filter_by(user_id=user.id)).scalars()
        )

    def lines(text: str) -> str:  # a vCard line break is a line break, whichever was typed
        return text.replace("\r\n", "\n").replace("\r", "\n")

    assert {card.fn.value for card in cards} == {lines(name) for name in names}
    assert len(cards) == len(names)
    for card in cards:
        keys = {key.upper() for key in card.contents}
        assert not keys & (INJECTED_PROPERTIES | {"BCC", "END", "BEGIN"}), keys


def test_the_backup_gives_the_text_back_exactly(app, filled):
    user, client, _ = filled
    backup = json.loads(get(client, "/export/backup.json").get_data(as_text=True))
    text = json.dumps(backup, ensure_ascii=False)
    for name in PAYLOADS:
        assert json.dumps(stored_form(PAYLOADS[name]), ensure_ascii=False)[1:-1] in text, name
