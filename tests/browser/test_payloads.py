"""Security bar line 12 in a real browser: pages showing the payload corpus run none of it.

Chromium visits every page of an account whose every text field holds a payload, with
JavaScript on, listening for dialogs (alert, confirm, prompt), uncaught errors and
console errors. A payload that ran would open a dialog; one the Content-Security-Policy
blocked would log a console error. Neither happens.
"""

import pytest
from helpers import utc
from security.payloads import PAYLOADS, fill_account, shown_pages

from .conftest import PASSWORD

# What a page looks like, and what it runs, does not depend on the database: one pass.
pytestmark = [pytest.mark.browser, pytest.mark.parametrize("backend", ["sqlite"], indirect=True)]
DOWNLOADS = (".ics", ".csv", ".vcf", ".json", "/healthz")
# The payloads that could run in a page; the corpus's others (line breaks, NUL, calendar
# and spreadsheet tricks) are about other formats: tests/security/test_payloads.py.
IN_PAGES = ("script", "svg", "img", "attribute", "template", "javascript", "apostrophe", "long")


@pytest.fixture
def watched(new_context):
    """A page whose dialogs, uncaught errors and console errors are all recorded."""
    page = new_context().new_page()
    # The app has no icon; the browser's request for one would be a console error.
    page.route("**/favicon.ico", lambda route: route.fulfill(status=204))
    seen = {"dialogs": [], "errors": []}

    def on_dialog(dialog) -> None:
        seen["dialogs"].append(f"{dialog.type}: {dialog.message} on {page.url}")
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on("pageerror", lambda error: seen["errors"].append(f"{error} on {page.url}"))
    page.on(
        "console",
        lambda message: (
            message.type == "error" and seen["errors"].append(f"{message.text} on {page.url}")
        ),
    )
    return page, seen


def test_the_listeners_hear_a_script_that_runs(live_server, watched):
    """The control: a dialog and a console error are noticed."""
    page, seen = watched
    page.goto("/login")
    page.evaluate("() => { alert('control'); console.error('control error'); }")
    assert seen["dialogs"] == ["alert: control on " + live_server.url + "/login"]
    assert seen["errors"] == ["control error on " + live_server.url + "/login"]


def test_no_page_showing_the_payloads_runs_a_script(app, monkeypatch, make_user, login, watched):
    app.config["NOW"] = utc(2026, 11, 20, 6, 0)
    user = make_user("pat@example.com")
    client = login(user)
    for name in IN_PAGES:
        fill_account(client, name, PAYLOADS[name])
    client.post("/settings/calendar-feed")

    page, seen = watched
    page.goto("/login")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/")
    visited = 0
    for url in shown_pages(app, user.id, feed_token="none"):
        if url.endswith(DOWNLOADS) or url == "/reset-password":
            continue
        response = page.goto(url)
        assert response.status == 200, (url, response.status)
        page.mouse.move(5, 5)
        page.mouse.move(600, 400)  # over whatever is in the middle: a mouseover would fire
        visited += 1
    assert visited > 100
    assert seen == {"dialogs": [], "errors": []}
