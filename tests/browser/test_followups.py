"""Flow 2 in a real browser: log an interview, act on the follow-ups it planned."""

import re
from datetime import date, timedelta

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_thank_yous_appear_done_with_a_note_logs_and_snooze_moves(
    new_context, make_user, log_in_page
):
    user = make_user("flow@example.com", timezone="Europe/Berlin")
    page = new_context(timezone_id="Europe/Berlin").new_page()
    log_in_page(page, user)
    expect(page.get_by_text("No follow-ups due — log your last interview.")).to_be_visible()

    page.get_by_role("link", name="Log an interview").first.click()
    page.get_by_label("Organisation", exact=True).fill("Acme Robotics")
    page.get_by_label("Role", exact=True).fill("Backend Engineer")
    page.get_by_label("Outcome").select_option(label="I declined")
    rows = page.locator("[data-person]")
    rows.nth(0).get_by_label("Name", exact=True).fill("Dana Smith")
    rows.nth(0).get_by_label("What you talked about").fill("event sourcing")
    page.get_by_role("button", name="Add another person").click()
    rows.nth(1).get_by_label("Name", exact=True).fill("Lee Park")
    page.get_by_role("button", name="Save interview").click()
    expect(page.locator(".flash")).to_contain_text("Interview logged")

    page.get_by_role("link", name=re.compile(r"^Home")).click()
    week = page.locator("section", has=page.get_by_role("heading", name=re.compile("This week")))
    dana = week.locator(".followup", has_text="Thank-you note: Dana Smith, Acme Robotics")
    lee = week.locator(".followup", has_text="Thank-you note: Lee Park, Acme Robotics")
    expect(dana).to_contain_text("due tomorrow")
    expect(page.locator(".badge")).to_have_count(0)  # nothing due today yet: due tomorrow

    # Done, with a note: it logs an interaction and plans the next check-in.
    dana.get_by_text("More").click()
    dana.get_by_label("What you did").fill("Sent a thank-you by email")
    dana.get_by_role("button", name="Done, with note").click()
    expect(page.locator(".flash")).to_contain_text("Done: Thank-you note: Dana Smith")
    expect(page.locator(".flash")).to_contain_text("Next check-in planned for")
    page.get_by_role("link", name="Contacts", exact=True).click()
    page.get_by_role("link", name="Dana Smith").click()
    expect(page.get_by_text("Sent a thank-you by email", exact=True)).to_be_visible()
    expect(page.locator(".followup", has_text="Check-in: Dana Smith")).to_be_visible()

    # Snooze Lee's a week: from tomorrow to a week from today.
    page.get_by_role("link", name=re.compile(r"^Home")).click()
    lee.get_by_text("More").click()
    lee.get_by_role("button", name="Snooze 1 week").click()
    expect(page.locator(".flash")).to_contain_text("Snoozed until")
    expect(lee).to_contain_text("due in 7 days")


def test_a_follow_ups_actions_share_one_form_and_enter_in_the_date_snoozes(
    new_context, make_user, make_interview, log_in_page
):
    user = make_user("row@example.com")
    # Yesterday's: a thank-you is planned only for an interview of the last week.
    make_interview(
        user,
        "Acme Robotics",
        people=[{"name": "Dana Smith"}, {"name": "Lee Park"}],
        held_on=date.today() - timedelta(days=1),
    )
    page = new_context().new_page()
    log_in_page(page, user)
    dana = page.locator(".followup", has_text="Thank-you note: Dana Smith")
    lee = page.locator(".followup", has_text="Thank-you note: Lee Park")
    expect(dana.locator("form")).to_have_count(2)  # the actions, and snoozing to a date

    # Enter in the date field snoozes: it does not press the first button, Done.
    until = date.today() + timedelta(days=10)
    dana.get_by_text("More").click()
    dana.get_by_label("Snooze until").fill(until.isoformat())
    dana.get_by_label("Snooze until").press("Enter")
    expect(page.locator(".flash")).to_contain_text(f"Snoozed until {until.day} {until:%b %Y}")
    expect(dana).to_contain_text("due in 10 days")

    # Skip is a button of the same form, sent to its own address.
    lee.get_by_text("More").click()
    lee.get_by_role("button", name="Skip").click()
    expect(page.locator(".flash")).to_contain_text("Skipped: Thank-you note: Lee Park")
    expect(lee).to_have_count(0)
