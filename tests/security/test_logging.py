"""Line 19: logins (success and failure) and denied access are logged, in UTC; never a
password or token; CR/LF in a logged value cannot forge a line.

The whole run's logs are also searched for every password and token the tests made
(tests/logcheck.py, at the end of the session).
"""

import logging
import os
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tracker.db import db
from tracker.models import User
from tracker.security import LogFormatter, log_denied, mask_tokens, one_line

from .walk import PASSWORD

ROOT = Path(__file__).resolve().parents[2]
AUTH, ACCESS = "keepwarm.auth", "keepwarm.access"


@pytest.fixture
def logs(caplog):
    """The messages logged during the test at INFO and above, by the app's loggers."""
    caplog.set_level(logging.INFO)

    def messages(name: str | None = None) -> list[str]:
        return [r.getMessage() for r in caplog.records if name is None or r.name == name]

    return messages


def test_logins_that_succeed_and_fail_are_logged(client, make_user, logs):
    user = make_user("lee@example.com")
    client.post("/login", data={"email": "lee@example.com", "password": "a wrong guess"})
    client.post("/login", data={"email": "nobody@example.com", "password": "another guess"})
    client.post("/login", data={"email": "lee@example.com", "password": PASSWORD})
    assert logs(AUTH) == [
        "login failed for lee@example.com from 127.0.0.1",
        "login failed for nobody@example.com from 127.0.0.1",
        f"login succeeded for user {user.id}",
    ]


def test_throttled_logins_are_logged(app, client, make_user, logs):
    make_user("lee@example.com")
    for _ in range(6):
        client.post("/login", data={"email": "lee@example.com", "password": "a wrong guess"})
    assert logs(AUTH)[-1] == "login throttled for lee@example.com from 127.0.0.1"


def test_denied_access_is_logged(app, make_owner, logs):
    ann, bob = make_owner("ann", "Zebra Labs"), make_owner("bob", "Yak Industries")
    contact = ann.ids["contact_id"]
    assert bob.client.get(f"/contacts/{contact}").status_code == 404
    assert bob.client.post("/logout", csrf=False).status_code == 400
    anonymous = app.test_client()
    assert anonymous.get("/contacts/").status_code == 302
    assert anonymous.get("/email/action/not-a-token").status_code == 404
    assert anonymous.get("/reset/" + "A" * 43).status_code == 404
    bob_id = bob.user.id
    assert logs(ACCESS) == [
        f"access denied (another user's contact): GET /contacts/{contact} by user {bob_id}"
        " from 127.0.0.1",
        f"access denied (CSRF: The CSRF token is missing.): POST /logout by user {bob_id}"
        " from 127.0.0.1",
        "access denied (login required): GET /contacts/ by anonymous from 127.0.0.1",
        "access denied (email link invalid or expired): GET /email/action/[token]"
        " by anonymous from 127.0.0.1",
        "access denied (password reset link unknown, used or expired): GET /reset/[token]"
        " by anonymous from 127.0.0.1",
    ]


def test_a_missing_row_is_not_logged_as_another_users(make_owner, logs):
    ann = make_owner("ann", "Zebra Labs")
    assert ann.client.get("/contacts/987654").status_code == 404
    assert logs(ACCESS) == []


def test_values_with_line_breaks_stay_on_one_line(make_owner, client, logs):
    """What a request chooses (an email, a path) reaches the log as a stand-in or a route
    pattern; whatever else slips through is escaped (the tests below)."""
    owner = make_owner("ann", "Zebra Labs")
    forged = "x@example.com\r\n2026-11-20T09:00:00.000Z INFO keepwarm.auth: login succeeded"
    client.post("/login", data={"email": forged, "password": "a wrong guess"})
    client.get("/reset/abc%0d%0aforged%e2%80%a8line")
    client.get("/import/abc%0d%0aforged%e2%80%a8line")
    owner.client.post("/import/abc%0d%0aforged/discard", csrf=False)
    messages = logs()
    for message in messages:
        assert message.splitlines() == [message], message
        assert "forged" not in message
    assert "login failed for (not an email address) from 127.0.0.1" in logs(AUTH)
    assert [m.split(" by ")[0] for m in logs(ACCESS)] == [
        "access denied (password reset link unknown, used or expired): GET /reset/[token]",
        "access denied (login required): GET /import/[token]",
        "access denied (CSRF: The CSRF token is missing.): POST /import/[token]/discard",
    ]


def test_a_denied_path_shows_numbers_but_never_text_parameters(app, client, logs):
    """Any text in a URL may be a secret, on any route, today's or a later one's."""

    def probe(word: str, number: int):
        log_denied("probe")
        return "", 204

    app.add_url_rule("/probe/<word>/<int:number>", "probe", probe)
    assert client.get("/probe/s3cret-w0rd/7").status_code == 204
    [message] = logs(ACCESS)
    assert message == "access denied (probe): GET /probe/<word>/7 by anonymous from 127.0.0.1"


@pytest.mark.parametrize("breaker", ["\n", "\r", "\v", "\f", "\x1c", "\x85", "\u2028", "\u2029"])
def test_one_line_escapes_every_line_break_python_knows(breaker):
    value = f"before{breaker}after"
    assert len(value.splitlines()) == 2
    assert one_line(value).splitlines() == [one_line(value)]


def record(message: str, *args) -> logging.LogRecord:
    made = logging.LogRecord("keepwarm.test", logging.WARNING, __file__, 1, message, args, None)
    made.created = datetime(2026, 11, 20, 9, 0, 5, 250_000, tzinfo=UTC).timestamp()
    made.msecs = 250
    return made


def test_the_log_format_is_utc_one_line_and_masks_tokens(monkeypatch):
    monkeypatch.setenv("TZ", "Pacific/Auckland")  # 22:00 local: the log still says 09:00Z
    import time

    time.tzset()
    try:
        line = LogFormatter().format(record("got %s", "a\r\nb /feed/sEcReT.ics /reset/tok3n"))
    finally:
        monkeypatch.undo()
        time.tzset()
    assert line == (
        "2026-11-20T09:00:05.250Z WARNING keepwarm.test: got a\\r\\nb /feed/[token] /reset/[token]"
    )


def test_serve_and_worker_log_through_that_format():
    """configure_logging, as the serve and worker commands call it, in a fresh process."""
    script = (
        "import logging; from tracker.security import configure_logging; configure_logging(); "
        "logging.getLogger('keepwarm.auth').info('login failed for %s', 'a\\nb'); "
        "logging.getLogger('keepwarm.auth').debug('not at INFO')"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={**os.environ, "TZ": "America/New_York"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    [line] = result.stderr.splitlines()
    stamp, rest = line.split(" ", 1)
    assert stamp.endswith("Z") and datetime.fromisoformat(stamp).tzinfo == UTC
    assert rest == "INFO keepwarm.auth: login failed for a\\nb"


@pytest.mark.parametrize(
    "logger", ["werkzeug", "gunicorn.access", "gunicorn.error", "waitress", "tracker"]
)
def test_request_logs_mask_tokens_in_paths(app, logger, caplog):
    caplog.set_level(logging.INFO)
    token = "Zm9vYmFyYmF6cXV4eHl6enlYWVpaeXh3dnV0c3JxcG9u"
    logging.getLogger(logger).info(
        '127.0.0.1 "GET /feed/%s.ics HTTP/1.1" 200 "https://k.example/reset/%s"', token, token
    )
    [message] = [r.getMessage() for r in caplog.records]
    assert token not in message
    assert message == '127.0.0.1 "GET /feed/[token] HTTP/1.1" 200 "https://k.example/reset/[token]"'


@pytest.mark.parametrize(
    ("path", "masked"),
    [
        ("/email/action/eyJhIjoxfQ.sig", "/email/action/[token]"),
        ("/email/unsubscribe/eyJ1IjoxfQ.sig?x=1", "/email/unsubscribe/[token]?x=1"),
        ("/reset/abc", "/reset/[token]"),
        ("/feed/abc.ics", "/feed/[token]"),
        ("/reset-password", "/reset-password"),
        ("/contacts/3", "/contacts/3"),
    ],
)
def test_which_paths_are_masked(path, masked):
    assert mask_tokens(path) == masked


def test_password_and_secret_flows_log_no_secret(app, client, make_user, login, logs):
    """Register, change the password, make a feed token: what is logged holds none of them."""
    new_password = "a secret new passphrase"
    client.post(
        "/register",
        data={"email": "kim@example.com", "password": "kims own passphrase", "timezone": "UTC"},
    )
    client.post(
        "/account/password",
        data={"current_password": "kims own passphrase", "new_password": new_password},
    )
    client.post("/settings/calendar-feed")
    page = client.get("/settings/").get_data(as_text=True)
    token = re.search(r"/feed/([A-Za-z0-9_-]{43})\.ics", page).group(1)
    assert client.get(f"/feed/{token}.ics").status_code == 200
    text = "\n".join(logs())
    assert "password changed for user" in text and "calendar feed address created" in text
    for secret in ("kims own passphrase", new_password, token):
        assert secret not in text


# The search of the whole run's logs (tests/logcheck.py)


def test_the_run_log_is_written_and_every_new_secret_is_noted(request, app, make_user):
    from logcheck import RUN_LOG

    run = request.config.stash[RUN_LOG]
    logging.getLogger("keepwarm.test").info("a line for the run log")
    assert "keepwarm.test: a line for the run log" in run.path.read_text()
    user = make_user("noted@example.com", password="a password the tests made")
    with app.app_context():
        from tracker import feed, reset, twofactor

        token, link = reset.new_token(), reset.new_token()
        codes = twofactor.new_recovery_codes(db.session.get(User, user.id))
        feed_token = feed.new_token(db.session.get(User, user.id))
    for secret in ("a password the tests made", token, link, codes[0], feed_token):
        assert secret in run.secrets


def test_the_search_finds_a_secret_and_redacts_it(tmp_path):
    from logcheck import RunLog

    run = RunLog(tmp_path / "run.log")
    run.note("accounts.hash_password", "hunter2 is long enough")
    run.note("twofactor.new_recovery_codes", ["abcd-efgh-ijkl-mnop", "short"])
    run.path.write_text(
        "INFO keepwarm.auth: nothing here\n"
        "WARNING x: oops hunter2 is long enough\n"
        "INFO y: code abcdefghijklmnop\n"
    )
    assert run.search() == [
        (2, "accounts.hash_password", "WARNING x: oops <accounts.hash_password>"),
        (3, "twofactor.new_recovery_codes", "INFO y: code <twofactor.new_recovery_codes>"),
    ]


def test_a_password_typed_into_the_email_field_is_not_logged(client, make_user, logs):
    make_user("lee@example.com")
    client.post("/login", data={"email": PASSWORD, "password": "typed in the wrong box"})
    client.post("/forgot-password", data={"email": "my secret phrase"})
    assert logs(AUTH)[0] == "login failed for (not an email address) from 127.0.0.1"
    assert logs(AUTH)[1].startswith("password reset asked for (not an email address)")
    assert not any(PASSWORD in m or "my secret phrase" in m for m in logs())
