"""The feed token: random, stored hashed, valid for the feed alone, rotated at once,
uniform 404s, misses throttled, never in a log."""

import hashlib
import logging
import os
import re
import secrets
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from datetime import date, timedelta
from pathlib import Path
from urllib.error import HTTPError

import pytest
from feed_helpers import add_follow_up, feed_path, subscribe
from helpers import row_counts, utc
from mailserver import free_port
from werkzeug.serving import make_server

from tracker import feed
from tracker.db import db
from tracker.models import LoginThrottle, User

ROOT = Path(__file__).resolve().parent.parent
PARAMETER = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")  # <int:id>, <token>
both_databases = pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)


@pytest.fixture
def ann(app, make_user):
    app.config["NOW"] = utc(2026, 11, 21, 6, 0)
    user = make_user("ann@example.com")
    add_follow_up(app, user, "Write to Ann's contact at Zebra Labs", date(2026, 11, 22))
    return user


@pytest.fixture
def bob(app, make_user):
    user = make_user("bob@example.com")
    add_follow_up(app, user, "Call Bob's recruiter at Yak Industries", date(2026, 11, 23))
    return user


def not_found_page(client) -> bytes:
    return client.get("/no-such-page").data


def test_a_token_is_256_random_bits_and_only_its_hash_is_stored(app, ann):
    token = subscribe(app, ann)
    again = subscribe(app, ann)
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", token) and token != again  # 32 bytes, base64url
    with app.app_context():
        user = db.session.get(User, ann.id)
        assert user.feed_token_hash == hashlib.sha256(again.encode()).hexdigest()
        dump = repr([tuple(row) for row in db.session.execute(User.__table__.select())])
    assert token not in dump and again not in dump


def test_unknown_malformed_and_rotated_tokens_get_the_same_404(app, client, ann):
    old = subscribe(app, ann)
    assert client.get(feed_path(old)).status_code == 200
    new = subscribe(app, ann)  # rotate
    generic = not_found_page(client)
    for token in (old, secrets.token_urlsafe(32), "short", "x" * 500, new[:-1] + "!"):
        response = client.get(feed_path(token))
        assert response.status_code == 404, token
        assert response.data == generic
        assert "WWW-Authenticate" not in response.headers
        assert response.headers["Cache-Control"] == "no-store"
    assert client.get(feed_path(new)).status_code == 200


def test_each_token_opens_only_its_owners_feed(app, client, ann, bob):
    ann_feed = client.get(feed_path(subscribe(app, ann))).get_data(as_text=True)
    bob_feed = client.get(feed_path(subscribe(app, bob))).get_data(as_text=True)
    assert "Zebra Labs" in ann_feed and "Yak Industries" not in ann_feed
    assert "Yak Industries" in bob_feed and "Zebra Labs" not in bob_feed


def test_the_token_opens_nothing_but_the_feed(app, ann):
    """Every other route, with the token in every place a credential could go."""
    token = subscribe(app, ann)
    before = row_counts(app)
    markers = ("Zebra Labs", "ann@example.com")
    walked = 0
    for rule in app.url_map.iter_rules():
        if rule.endpoint in ("feed.subscription", "static"):
            continue
        values = {
            name: 1 if converter == "int" else token
            for converter, name in PARAMETER.findall(rule.rule)
        }
        url = rule.build(values, append_unknown=False)[1]
        for method in sorted(rule.methods & {"GET", "POST"}):
            client = app.test_client()
            client.set_cookie("session", token)
            response = client.open(
                url,
                method=method,
                query_string={"token": token, "feed": token},
                headers={"Authorization": f"Bearer {token}", "X-Feed-Token": token},
                data={"token": token} if method == "POST" else None,
            )
            page = response.get_data(as_text=True)
            assert not [m for m in markers if m in page], (method, url)
            if response.status_code == 200:
                assert "text/calendar" not in response.headers["Content-Type"], url
            assert not (response.status_code == 302 and "/login" not in response.location), url
            walked += 1
    assert walked > 30
    assert row_counts(app) == before


def test_settings_makes_and_rotates_the_url_behind_login_and_csrf(app, client, login, ann):
    assert client.post("/settings/calendar-feed").status_code == 302  # to the login page
    with app.app_context():
        assert db.session.get(User, ann.id).feed_token_hash is None
    login(ann)
    assert client.post("/settings/calendar-feed", csrf=False).status_code == 400
    assert client.post("/settings/calendar-feed").status_code == 302
    page = client.get("/settings/").get_data(as_text=True)
    [url] = set(re.findall(r'value="(http://[^"]+/feed/[^"]+\.ics)"', page))
    assert client.get(url.removeprefix(app.config["BASE_URL"])).status_code == 200
    assert "webcal://" + url.split("://")[1] in page
    # Shown again on later visits: the sealed copy opens only with the secret key.
    again = client.get("/settings/").get_data(as_text=True)
    assert f'value="{url}"' in again and "Rotate feed address" in again
    with app.app_context():
        stored = db.session.get(User, ann.id)
        token = url.rsplit("/", 1)[1].removesuffix(".ics")
        assert token not in (stored.feed_token_sealed or "") and token != stored.feed_token_hash
    assert client.get(url.removeprefix(app.config["BASE_URL"])).status_code == 200
    client.post("/settings/calendar-feed")
    assert client.get(url.removeprefix(app.config["BASE_URL"])).status_code == 404


@both_databases
def test_misses_from_one_address_are_throttled(app, ann):
    token = subscribe(app, ann)
    client = app.test_client()
    here = {"REMOTE_ADDR": "203.0.113.7"}
    for _ in range(feed.MISS_LIMIT):
        assert (
            client.get(feed_path(secrets.token_urlsafe(32)), environ_base=here).status_code == 404
        )
    blocked = client.get(feed_path(secrets.token_urlsafe(32)), environ_base=here)
    assert blocked.status_code == 429
    assert 0 < int(blocked.headers["Retry-After"]) <= feed.MISS_WINDOW.total_seconds()
    # Another address is not affected; the real token is still served to everyone, since
    # calendar services fetch many users' feeds from a few shared addresses.
    elsewhere = {"REMOTE_ADDR": "198.51.100.9"}
    assert (
        client.get(feed_path(secrets.token_urlsafe(32)), environ_base=elsewhere).status_code == 404
    )
    assert client.get(feed_path(token), environ_base=here).status_code == 200
    with app.app_context():
        row = db.session.get(LoginThrottle, feed.MISS_KEY + "203.0.113.7")
        assert row.failures == feed.MISS_LIMIT + 1
        assert db.session.get(LoginThrottle, "address:203.0.113.7") is None  # logins apart
    app.config["NOW"] = utc(2026, 11, 21, 6, 0) + feed.MISS_WINDOW + timedelta(seconds=1)
    assert client.get(feed_path(secrets.token_urlsafe(32)), environ_base=here).status_code == 404


def test_a_malformed_token_costs_no_query_and_no_write(app, client, ann):
    before = row_counts(app)
    for token in ("not-a-token", "a" * 42, "a" * 44, "é" * 43):
        assert client.get(feed_path(token)).status_code == 404
    assert row_counts(app) == before


class Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def captured():
    """Every record that reaches the root logger, formatted."""
    handler = Capture()
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    logging.getLogger("werkzeug").setLevel(logging.INFO)
    yield handler.lines
    root.removeHandler(handler)
    root.setLevel(level)


def test_the_token_never_reaches_a_log(app, ann, captured, monkeypatch):
    token = subscribe(app, ann)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_port}"
        with urllib.request.urlopen(base + feed_path(token)) as response:  # noqa: S310
            assert response.status == 200
        with pytest.raises(HTTPError):
            urllib.request.urlopen(base + feed_path(secrets.token_urlsafe(32)))  # noqa: S310
        # A failure inside the feed: Flask logs "Exception on <path>".
        app.config["PROPAGATE_EXCEPTIONS"] = False
        monkeypatch.setattr(feed, "current_feed", lambda subscriber: 1 / 0)
        with pytest.raises(HTTPError):
            urllib.request.urlopen(base + feed_path(token))  # noqa: S310
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
    # A gunicorn-style access record: the format and its atoms as arguments.
    logging.getLogger("gunicorn.access").info(
        '"%(r)s" %(s)s', {"r": f"GET /feed/{token}.ics HTTP/1.1", "s": "200"}
    )

    text = "\n".join(captured)
    assert token not in text
    assert text.count("/feed/[token]") >= 4, text  # the lines are there, masked
    assert "Exception on /feed/[token]" in text
    assert "calendar feed: unknown token from 127.0.0.1" in text


def test_gunicorns_access_log_writes_the_path_with_the_token_masked(app, ann, tmp_path):
    """Several web workers run under gunicorn, whose access log has the full path."""
    token = subscribe(app, ann)
    port = free_port()
    environment = {
        **os.environ,
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "SECRET_KEY": app.config["SECRET_KEY"],
        "KEEPWARM_INSTANCE": str(tmp_path / "gunicorn-instance"),
    }
    command = [
        str(Path(sys.executable).with_name("gunicorn")),
        *("--bind", f"127.0.0.1:{port}", "--workers", "1"),
        *("--access-logfile", "-", "--error-logfile", "-", "app:app"),
    ]
    server = subprocess.Popen(
        command, cwd=ROOT, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(base + feed_path(token)) as response:  # noqa: S310
                    assert response.status == 200
                break
            except (ConnectionError, urllib.error.URLError):
                assert time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.2)
        with pytest.raises(HTTPError):
            urllib.request.urlopen(base + feed_path(secrets.token_urlsafe(32)))  # noqa: S310
    finally:
        server.terminate()
        output = server.communicate(timeout=30)[0].decode()
    assert token not in output
    assert output.count("GET /feed/[token] HTTP/1.1") == 2, output


def test_after_a_secret_key_change_the_address_is_not_shown_but_still_works(
    app, client, login, ann
):
    login(ann)
    client.post("/settings/calendar-feed")
    page = client.get("/settings/").get_data(as_text=True)
    [url] = set(re.findall(r'value="(http://[^"]+/feed/[^"]+\.ics)"', page))
    app.config["SECRET_KEY"] = "another-secret-key-" + "y" * 40
    login(ann)
    page = client.get("/settings/").get_data(as_text=True)
    assert "/feed/" not in page and "secret key has changed" in page
    assert client.get(url.removeprefix(app.config["BASE_URL"])).status_code == 200


def test_with_the_old_key_among_the_fallbacks_the_address_is_still_shown(app, client, login, ann):
    login(ann)
    client.post("/settings/calendar-feed")
    page = client.get("/settings/").get_data(as_text=True)
    [url] = set(re.findall(r'value="(http://[^"]+/feed/[^"]+\.ics)"', page))
    old = app.config["SECRET_KEY"]
    app.config.update(SECRET_KEY="another-secret-key-" + "y" * 40, SECRET_KEY_FALLBACKS=[old])
    login(ann)
    page = client.get("/settings/").get_data(as_text=True)
    assert f'value="{url}"' in page and "secret key has changed" not in page
    assert client.get(url.removeprefix(app.config["BASE_URL"])).status_code == 200
    # A new address is sealed with the new key alone: it shows without the fallback.
    client.post("/settings/calendar-feed")
    app.config["SECRET_KEY_FALLBACKS"] = []
    page = client.get("/settings/").get_data(as_text=True)
    [new] = set(re.findall(r'value="(http://[^"]+/feed/[^"]+\.ics)"', page))
    assert new != url and client.get(new.removeprefix(app.config["BASE_URL"])).status_code == 200
