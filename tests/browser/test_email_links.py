"""An action link from a digest, opened in a browser that has never logged in."""

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from tracker import tokens
from tracker.clock import local_today
from tracker.db import db
from tracker.models import FollowUp, FollowUpKind, FollowUpStatus

pytestmark = pytest.mark.browser


def test_done_from_an_email_in_a_fresh_browser(app, new_context, make_user, make_interview):
    user = make_user()
    yesterday = local_today("UTC") - timedelta(days=1)
    make_interview(user, people=[{"name": "Dana Smith"}], held_on=yesterday)
    with app.app_context():
        follow_up = db.session.execute(
            db.select(FollowUp).filter_by(user_id=user.id, kind=FollowUpKind.THANK_YOU)
        ).scalar_one()
        ident = follow_up.id
        path = f"/email/action/{tokens.action_token(ident, 'done', follow_up.revision)}"
    page = new_context().new_page()  # no cookies, never logged in

    page.goto(path)
    expect(page.get_by_text("Mark “Thank-you note: Dana Smith, Acme” as done?")).to_be_visible()
    with app.app_context():
        assert db.session.get(FollowUp, ident).status is FollowUpStatus.OPEN
    page.get_by_role("button", name="Mark as done").click()

    expect(page.get_by_role("status")).to_have_text("“Thank-you note: Dana Smith, Acme” is done.")
    with app.app_context():
        assert db.session.get(FollowUp, ident).status is FollowUpStatus.DONE

    page.goto(path)  # the same link again
    expect(page.get_by_role("heading", level=1)).to_have_text("This link has already been used")


# Wider than the viewport, or an input without a visible label: what a phone user would hit.
PROBLEMS = """() => [
  ...(document.documentElement.scrollWidth > document.documentElement.clientWidth
    ? ["wider than the screen"] : []),
  ...[...document.querySelectorAll("input, select, textarea")]
    .filter((el) => !["hidden", "submit", "button"].includes(el.type) && el.checkVisibility())
    .filter((el) => ![...el.labels].some((l) => l.checkVisibility() && l.innerText.trim()))
    .map((el) => `no label for ${el.name}`),
]"""


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_settings_delivery_and_email_pages_fit_and_are_labelled(
    size, app, viewports, new_context, make_user, make_interview, log_in_page
):
    from tracker.models import Outbox, OutboxStatus

    user = make_user()
    make_interview(
        user, people=[{"name": "Dana Smith"}], held_on=local_today("UTC") - timedelta(days=1)
    )
    with app.app_context():
        follow_up = db.session.execute(db.select(FollowUp).filter_by(user_id=user.id)).scalar()
        action = f"/email/action/{tokens.action_token(follow_up.id, 'snooze', follow_up.revision)}"
        unsubscribe = f"/email/unsubscribe/{tokens.unsubscribe_token(user.id)}"
        failed = Outbox(
            user_id=user.id,
            key="failed",
            kind="digest",
            recipient=user.email,
            subject="3 follow-ups due today (1 overdue)",
            message="Subject: 3 follow-ups due today\n\nHello.\n",
            message_id="<failed@example.com>",
            status=OutboxStatus.FAILED,
            attempts=5,
            last_error="550 5.1.1 <" + "x" * 80 + "@example.com>: mailbox unavailable",
        )
        db.session.add(failed)
        db.session.commit()
        failed_id = failed.id
    page = new_context(viewport=viewports[size]).new_page()
    problems = []

    def check(url: str | None, status: int = 200) -> None:
        if url is not None:
            assert page.goto(url).status == status, url
        expect(page.locator("h1")).to_have_count(1)
        problems.extend(f"{page.url}: {p}" for p in page.evaluate(PROBLEMS))

    check(action)
    check("/email/action/not-a-token", 404)
    check(unsubscribe)
    page.get_by_role("button", name="Unsubscribe").click()
    check(None)
    log_in_page(page, user)
    check("/settings/")
    page.get_by_label("Then every N days").fill("0")
    page.get_by_role("button", name="Save settings").click()
    expect(page.locator("#repeat_check_in_days-error")).to_be_visible()
    check(None)
    check("/delivery/")
    check(f"/delivery/{failed_id}")

    assert problems == [], "\n".join(problems)
