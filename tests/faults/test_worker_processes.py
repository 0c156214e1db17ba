"""Real `flask --app app worker` processes: one scheduler at a time, crashes, clean stops.

Each worker runs against the test's SQLite file and SMTP server, with its clock started
at a chosen moment (KEEPWARM_NOW) so digests are due without waiting for 08:00.
"""

import contextlib
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from helpers import utc
from maildata import meet, outbox
from mailserver import free_port

from tracker.db import db
from tracker.mail import enqueue_test_email
from tracker.models import OutboxStatus, User

ROOT = Path(__file__).resolve().parents[2]
T0 = utc(2026, 11, 21, 7, 0)  # 08:00 in Berlin
LEASE = 300

# SQLite's own settings and lock file: the PostgreSQL pass has nothing to run here.
sqlite_only = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


class Process:
    """A flask command running in the background, its output collected line by line."""

    def __init__(self, args: list[str], env: dict) -> None:
        self.lines: list[str] = []
        self._new: queue.Queue[str] = queue.Queue()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "app", *args],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line)
            self._new.put(line)

    @property
    def pid(self) -> int:
        return self.process.pid

    def wait_for(self, text: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not any(text in line for line in self.lines):
            assert time.monotonic() < deadline, f"no {text!r} in:\n{self.output()}"
            assert self.process.poll() is None, f"exited early:\n{self.output()}"
            with contextlib.suppress(queue.Empty):
                self._new.get(timeout=0.05)

    def output(self) -> str:
        return "".join(self.lines)

    def signal(self, sig: int, timeout: float = 60) -> int | None:
        self.process.send_signal(sig)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self._reader.join(5)
        self.process.stdout.close()


@pytest.fixture
def processes():
    started: list[Process] = []
    yield started
    for process in started:
        process.stop()


@pytest.fixture
def environment(app, smtp_server, tmp_path):
    """What a worker needs to share the test's database, instance folder and SMTP server."""

    def build(now: datetime = T0) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SMTP_", "KEEPWARM_"))}
        env.pop("BASE_URL", None)
        env.update(
            DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
            KEEPWARM_INSTANCE=str(tmp_path / "instance"),
            KEEPWARM_NOW=now.isoformat(),
            SECRET_KEY=app.config["SECRET_KEY"],
            SMTP_HOST="127.0.0.1",
            SMTP_PORT=str(smtp_server.port),
            SMTP_SECURITY="none",
            SMTP_TIMEOUT_SECONDS="20",
            SCHEDULER_TICK_SECONDS="1",
            SCHEDULER_LOCK_POLL_SECONDS="1",
            OUTBOX_LEASE_SECONDS=str(LEASE),
            PYTHONUNBUFFERED="1",
        )
        return env

    return build


@pytest.fixture
def users_with_digests(app, make_user, make_interview):
    """Berlin users, each with a thank-you due today, all before 08:00."""

    def make(count: int) -> list:
        app.config["NOW"] = utc(2026, 11, 21, 6, 0)
        users = []
        for n in range(count):
            user = make_user(f"user{n}@example.com", timezone="Europe/Berlin")
            meet(make_interview, user, f"Org {n}", f"Person {n}", held_on=date(2026, 11, 20))
            users.append(user)
        app.config["NOW"] = T0
        return users

    return make


def wait_for_http(port: int, timeout: float = 60) -> None:
    """Until the server answers: Ctrl-C before waitress runs would not be its to handle."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2):
                return
        except OSError:
            assert time.monotonic() < deadline, "the server never answered"
            time.sleep(0.1)


def lock_holder(app) -> int:
    path = Path(app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///"))
    return int(Path(f"{path}.scheduler.lock").read_text())


def start(processes: list, env: dict, *args: str) -> Process:
    process = Process(list(args or ["worker"]), env)
    processes.append(process)
    return process


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_second_worker_waits_then_takes_over(
    app, backend, smtp_server, environment, processes, users_with_digests
):
    [user] = users_with_digests(1)
    lock = "file lock" if backend == "sqlite" else "PostgreSQL advisory lock"
    first = start(processes, environment())
    first.wait_for(f"Scheduler running (pid {first.pid}, holding the {lock}")
    second = start(processes, environment())
    second.wait_for(f"Another scheduler holds the {lock}")
    assert f"waiting (pid {second.pid})" in second.output()
    if backend == "sqlite":
        assert lock_holder(app) == first.pid

    [digest] = smtp_server.wait_for(1)
    assert digest["To"] == user.email

    first.signal(signal.SIGKILL)
    second.wait_for(f"Scheduler running (pid {second.pid}, holding the {lock}")
    if backend == "sqlite":
        assert lock_holder(app) == second.pid
    with app.app_context():
        enqueue_test_email(db.session.get(User, user.id))
        db.session.commit()
    subjects = [m["Subject"] for m in smtp_server.wait_for(2)]
    assert subjects == ["1 follow-up due today", "Keepwarm test email"]
    assert second.signal(signal.SIGTERM) == 0
    assert "Scheduler stopped." in second.output()


def test_killed_mid_batch_every_digest_arrives_at_most_one_twice(
    app, smtp_server, environment, processes, users_with_digests
):
    users = users_with_digests(4)
    smtp_server.handler.stall_at = 2  # the second message hangs: the sender is mid-send
    crashed = start(processes, environment())
    assert smtp_server.handler.stalled.wait(20), crashed.output()
    crashed.signal(signal.SIGKILL)
    smtp_server.handler.release.set()  # the server had the message; the sender never knew

    # Restarted after the lease ran out (its clock is set that much later).
    restarted = start(processes, environment(T0 + timedelta(seconds=LEASE + 60)))
    messages = smtp_server.wait_for(5)
    deadline = time.monotonic() + 10
    while any(row.status is not OutboxStatus.SENT for row in outbox(app)):
        assert time.monotonic() < deadline, [(r.key, r.status) for r in outbox(app)]
        time.sleep(0.05)
    assert restarted.signal(signal.SIGTERM) == 0

    messages = smtp_server.messages()
    assert sorted({m["To"] for m in messages}) == sorted(u.email for u in users)
    counts = Counter(m["Message-ID"] for m in messages)
    assert sorted(counts.values()) == [1, 1, 1, 2]
    twice = next(mid for mid, n in counts.items() if n == 2)
    resent = [row for row in outbox(app) if row.message_id == twice]
    assert len(resent) == 1 and resent[0].attempts == 2
    assert len(messages) == 5


def test_sigterm_finishes_the_current_message_and_claims_nothing_new(
    app, smtp_server, environment, processes, users_with_digests
):
    users_with_digests(3)
    smtp_server.handler.stall_at = 1
    worker = start(processes, environment())
    assert smtp_server.handler.stalled.wait(20), worker.output()
    worker.process.send_signal(signal.SIGTERM)
    worker.wait_for("finishing the current message")
    smtp_server.handler.release.set()
    assert worker.process.wait(20) == 0, worker.output()

    rows = outbox(app)
    assert [row.status for row in rows] == [
        OutboxStatus.SENT,
        OutboxStatus.PENDING,
        OutboxStatus.PENDING,
    ]
    assert [row.attempts for row in rows] == [1, 0, 0]
    assert len(smtp_server.messages()) == 1


@sqlite_only
def test_serve_runs_one_scheduler_beside_the_web_server(
    app, smtp_server, environment, processes, users_with_digests
):
    users_with_digests(1)
    env = {**environment(), "PORT": str(free_port())}
    served = start(processes, env, "serve")
    served.wait_for("Scheduler running")
    served.wait_for("Keepwarm is running")
    assert lock_holder(app) == served.pid
    assert len(smtp_server.wait_for(1)) == 1

    worker = start(processes, environment())
    worker.wait_for("Another scheduler holds the file lock")
    assert served.signal(signal.SIGINT) == 0, served.output()
    worker.wait_for("Scheduler running")
    assert worker.signal(signal.SIGTERM) == 0, worker.output()

    port = free_port()
    pages_only = start(processes, {**env, "PORT": str(port)}, "serve", "--no-scheduler")
    wait_for_http(port)
    assert pages_only.signal(signal.SIGINT) == 0
    assert "Scheduler" not in pages_only.output()
