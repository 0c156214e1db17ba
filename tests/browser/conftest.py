"""Browser fixtures: the real app over real HTTP, driven by Debian's Chromium.

`live_server` serves the `app` fixture from tests/conftest.py (a real SQLite file in
tmp_path) on 127.0.0.1 with a free port. `browser` is one headless Chromium for the
session; `page` is a fresh desktop context per test, and `new_context` makes others
(JavaScript off, another time zone, a phone-sized viewport).
"""

import threading
from datetime import timedelta
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from tracker.clock import local_today
from tracker.models import Outcome, ParticipantRole, Stage

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 360, "height": 740}
PASSWORD = "correct horse battery staple"  # the make_user default in tests/conftest.py


class LiveServer:
    """The app served by werkzeug in a background thread."""

    def __init__(self, app) -> None:
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join(timeout=10)
        self.server.server_close()


@pytest.fixture
def live_server(app):
    """The real app on a real socket; yields the server, whose `.url` is the base URL."""
    server = LiveServer(app)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for the whole run. Missing Chromium fails: it is never skipped."""
    if not CHROMIUM.exists():
        pytest.fail(
            f"Browser tests need Chromium at {CHROMIUM}. "
            "`.ci/run` installs it with `apt-get install -y chromium`; do the same here."
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def new_context(browser, live_server):
    """Make a browser context on the live server: new_context(java_script_enabled=False)."""
    contexts = []

    def make(**options):
        options.setdefault("base_url", live_server.url)
        options.setdefault("viewport", DESKTOP)
        options.setdefault("locale", "en-GB")
        context = browser.new_context(**options)
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def viewports() -> dict[str, dict[str, int]]:
    """The two widths every page must work at."""
    return {"desktop": DESKTOP, "phone": PHONE}


@pytest.fixture
def page(new_context):
    """A fresh page in a fresh desktop context, with JavaScript on."""
    return new_context().new_page()


@pytest.fixture
def log_in_page():
    """Log a page in through the real login form: log_in_page(page, user)."""

    def log_in(page, user, password: str = PASSWORD):
        page.goto("/login")
        page.get_by_label("Email").fill(user.email)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url("**/")
        return page

    return log_in


DEMO_ZONE = "Europe/London"
# (days ago, organisation, role, stage, outcome, interest, notes, people)
DEMO_INTERVIEWS = [
    (
        1,
        "Acme Robotics",
        "Senior Backend Engineer",
        Stage.ONSITE,
        Outcome.DECLINED,
        4,
        "Great team, but the offer was below my range. They are opening a Berlin office.",
        [
            (
                "Dana Smith",
                "CTO",
                "dana@acme.example",
                ParticipantRole.HIRING_MANAGER,
                "Their move to event sourcing; she asked about my Kafka work.",
            ),
            (
                "Lee Park",
                "Staff Engineer",
                "lee@acme.example",
                ParticipantRole.INTERVIEWER,
                "System design: a rate limiter.",
            ),
            (
                "Priya Natarajan",
                "Talent Partner",
                "priya@acme.example",
                ParticipantRole.RECRUITER,
                "",
            ),
        ],
    ),
    (
        6,
        "Globex",
        "Platform Engineer",
        Stage.FINAL,
        Outcome.PENDING,
        5,
        "Decision expected by the end of next week.",
        [
            (
                "Marcus Feld",
                "Engineering Manager",
                "marcus@globex.example",
                ParticipantRole.HIRING_MANAGER,
                "Team of six; on-call one week in six.",
            ),
            (
                "Aiko Tanaka",
                "Principal Engineer",
                "",
                ParticipantRole.INTERVIEWER,
                "Kubernetes operators, and her talk at KubeCon.",
            ),
        ],
    ),
    (
        24,
        "Initech",
        "Data Engineer",
        Stage.TECHNICAL,
        Outcome.REJECTED,
        3,
        "",
        [
            (
                "Joanna Reyes",
                "Head of Data",
                "joanna@initech.example",
                ParticipantRole.INTERVIEWER,
                "",
            )
        ],
    ),
    (
        61,
        "Umbrella Health",
        "Site Reliability Engineer",
        Stage.PHONE_SCREEN,
        Outcome.WITHDREW,
        2,
        "",
        [("Tom Becker", "Recruiter", "", ParticipantRole.RECRUITER, "")],
    ),
]


@pytest.fixture
def demo_account(app, make_user, make_interview):
    """A user with a realistic few weeks of interviews; returns the user."""
    user = make_user("alex@example.com", password=PASSWORD, timezone=DEMO_ZONE)
    with app.app_context():
        today = local_today(DEMO_ZONE)
    for days_ago, organisation, role, stage, outcome, interest, notes, people in reversed(
        DEMO_INTERVIEWS
    ):
        make_interview(
            user,
            organisation,
            role=role,
            held_on=today - timedelta(days=days_ago),
            stage=stage,
            outcome=outcome,
            interest=interest,
            notes=notes,
            people=[
                {"name": name, "title": title, "email": email, "role": part, "topics": topics}
                for name, title, email, part, topics in people
            ],
        )
    return user
