"""Flow 4 in a real browser: get the feed address, copy it, subscribe, rotate it."""

from datetime import timedelta
from urllib.parse import quote

import pytest
from playwright.sync_api import expect

from tracker import followups
from tracker.clock import local_today
from tracker.db import db
from tracker.models import User

pytestmark = pytest.mark.browser


def test_settings_shows_copies_and_rotates_the_feed_address(
    app, live_server, new_context, make_user, log_in_page
):
    app.config["BASE_URL"] = live_server.url  # the addresses on the page point here
    user = make_user("feed@example.com", timezone="Europe/London")
    with app.app_context():
        owner = db.session.get(User, user.id)
        followups.add_manual(owner, "Call Dana at Acme", local_today("Europe/London"))
        db.session.commit()
    context = new_context(permissions=["clipboard-read", "clipboard-write"])
    page = context.new_page()
    log_in_page(page, user)

    page.get_by_role("link", name="Settings").click()
    feed = page.locator("#calendar-feed")
    expect(feed).to_contain_text("Google Calendar refreshes subscribed calendars only every")
    feed.get_by_role("button", name="Make my feed address").click()

    https_field = page.get_by_label("Feed address")
    webcal_field = page.get_by_label("The same address for Apple Calendar and Outlook (webcal)")
    url = https_field.input_value()
    assert url.startswith(f"{live_server.url}/feed/") and url.endswith(".ics")
    assert webcal_field.input_value() == "webcal://" + url.split("://", 1)[1]
    google = page.get_by_role("link", name="Add to Google Calendar")
    expected = "https://calendar.google.com/calendar/render?cid=" + quote(
        webcal_field.input_value(), safe=""
    )
    expect(google).to_have_attribute("href", expected)

    feed.get_by_role("button", name="Copy").first.click()
    expect(feed.get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == url

    subscribed = page.request.get(url)
    assert subscribed.status == 200
    assert subscribed.headers["content-type"] == "text/calendar; charset=utf-8"
    assert "SUMMARY:Call Dana at Acme" in subscribed.text()

    # Coming back later shows the same address.
    page.reload()
    expect(page.get_by_label("Feed address")).to_have_value(url)

    feed.get_by_role("button", name="Rotate feed address").click()
    expect(page.locator(".flash")).to_contain_text("The old one has stopped working")
    rotated = page.get_by_label("Feed address").input_value()
    assert rotated != url and rotated.startswith(f"{live_server.url}/feed/")
    assert page.request.get(url).status == 404
    assert page.request.get(rotated).status == 200


def test_a_follow_up_offers_its_calendar_file(
    app, live_server, new_context, make_user, log_in_page
):
    user = make_user("one@example.com")
    with app.app_context():
        owner = db.session.get(User, user.id)
        due = local_today("UTC") + timedelta(days=3)
        follow_up = followups.add_manual(owner, "Coffee with Lee", due)
        db.session.commit()
        ident = follow_up.id
    page = new_context().new_page()
    log_in_page(page, user)
    page.goto(f"/follow-ups/{ident}")
    with page.expect_download() as download:
        page.get_by_role("link", name="Add to calendar").click()
    assert download.value.suggested_filename == f"keepwarm-follow-up-{ident}.ics"
    data = download.value.path().read_bytes()
    assert f"DTSTART;VALUE=DATE:{due:%Y%m%d}".encode() in data
    assert b"SUMMARY:Coffee with Lee" in data
