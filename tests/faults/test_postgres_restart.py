"""PostgreSQL restarted under load while the worker sends: nothing lost, nothing twice.

gunicorn (two workers) and one `worker` process on the test's PostgreSQL database, a
logged-in visitor loading pages without pause, and 300 digests on their way to a slow
SMTP server on loopback. The real server is restarted (`pg_ctlcluster … restart`, fast
mode) in the middle of it. This restarts the machine's PostgreSQL for everyone on it:
only this test does it, the outage lasts a second or two, and the test does not end
before the server answers again.
"""

import signal
import subprocess
import sys
import threading
import time

import pytest
from fleet import T0, environment, outbox_statuses, users_with_a_digest_due
from mailserver import free_port
from running import PYTHON_BIN, Browser, Command, wait_for_http
from smtp_counting import CountingServer
from sqlalchemy import func

from tracker.db import db
from tracker.models import Outbox, OutboxStatus

DIGESTS = 300
GRACE = 5.0  # seconds after PostgreSQL is back by which every request must succeed again


def cluster() -> tuple[str, str]:
    """The version and name of the local cluster (Debian's pg_lsclusters)."""
    listing = subprocess.run(["pg_lsclusters", "--no-header"], capture_output=True, text=True)
    assert listing.returncode == 0, "this test needs Debian's postgresql-common (pg_lsclusters)"
    version, name = listing.stdout.split()[:2]
    return version, name


def postgres_ready() -> bool:
    return subprocess.run(["pg_isready", "-q", "-h", "127.0.0.1"], check=False).returncode == 0


def wait_for_postgres(timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not postgres_ready():
        assert time.monotonic() < deadline, "PostgreSQL did not come back"
        time.sleep(0.1)


def restart_postgres() -> None:
    version, name = cluster()
    result = subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", "-m", "fast", version, name, "restart"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr


class Visitor(threading.Thread):
    """Loads the contacts page over and over, noting when each request started and how it
    ended (a status, or 0 for no answer at all)."""

    def __init__(self, browser: Browser) -> None:
        super().__init__(daemon=True)
        self.browser = browser
        self.results: list[tuple[float, int]] = []
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            started = time.monotonic()
            try:
                status, _ = self.browser.get("/contacts/", timeout=10)
            except OSError:
                status = 0
            self.results.append((started, status))
            time.sleep(0.02)

    def between(self, start: float, end: float) -> list[int]:
        return [status for at, status in self.results if start <= at < end]


@pytest.fixture
def started():
    commands: list[Command] = []
    yield commands
    for command in commands:
        command.stop()
    if not postgres_ready():  # never leave the machine without its database
        version, name = cluster()
        subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, name, "start"])
        wait_for_postgres()


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_requests_fail_only_while_it_is_down_and_every_digest_arrives_once(
    app, tmp_path, started, make_user, make_interview
):
    dana = make_user("dana@example.com")
    make_interview(dana, "Acme", people=[{"name": "Lee Park"}])
    users_with_a_digest_due(app, DIGESTS)
    with CountingServer(delay=0.03) as server:
        env = environment(app, tmp_path, server, T0, WEB_CONCURRENCY="2", PORT=str(free_port()))
        web = Command(
            [str(PYTHON_BIN / "gunicorn"), "--config", "python:tracker.gunicorn_conf", "app:app"],
            env,
        )
        sender = Command([sys.executable, "-m", "flask", "--app", "app", "worker"], env)
        started.extend([web, sender])
        base = f"http://127.0.0.1:{env['PORT']}"
        wait_for_http(base + "/login")
        browser = Browser(base)
        browser.log_in("dana@example.com", "correct horse battery staple")
        visitor = Visitor(browser)
        visitor.start()

        # Every digest is planned, and sending is under way, when the database goes.
        deadline = time.monotonic() + 60
        while True:
            with app.app_context():
                planned = db.session.execute(db.select(func.count()).select_from(Outbox)).scalar()
                db.session.remove()
            if planned == DIGESTS and server.count() >= 40:
                break
            assert time.monotonic() < deadline, (planned, server.count(), sender.output())
            time.sleep(0.1)
        down = time.monotonic()
        restart_postgres()
        wait_for_postgres()
        up = time.monotonic()
        sent_before_back = server.count()
        assert sent_before_back < DIGESTS, "the restart came too late to interrupt the sending"

        # The worker carries on by itself; pages work again within the grace period.
        server.wait_for(DIGESTS, timeout=120, alive=lambda: sender.process.poll() is None)
        while time.monotonic() < up + GRACE + 3:
            time.sleep(0.1)
        visitor.stop.set()
        visitor.join(15)
        time.sleep(1)  # a duplicate, were there one, would arrive now

        counts = server.by_message_id()
        assert len(counts) == DIGESTS and set(counts.values()) == {1}
        assert outbox_statuses(app) == {OutboxStatus.SENT: DIGESTS}
        assert set(visitor.between(0, down)) == {200}
        assert set(visitor.between(down, up)) - {200}, "the outage was never noticed"
        recovered = visitor.between(up + GRACE, float("inf"))
        assert len(recovered) >= 10 and set(recovered) == {200}, recovered
        deadline = time.monotonic() + 30
        while Browser(base).get("/healthz")[0] != 200:
            assert time.monotonic() < deadline, "/healthz never recovered"
            time.sleep(0.5)

        assert sender.signal_group(signal.SIGTERM) == 0, sender.output()
        assert web.signal_group(signal.SIGTERM) == 0, web.output()
