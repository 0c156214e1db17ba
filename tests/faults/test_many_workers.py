"""Several senders on one PostgreSQL: every email is delivered exactly once.

Real `flask --app app worker` processes (and plain processes calling the sender directly)
against the test's PostgreSQL database and a real SMTP server on loopback that counts
what it accepts by Message-ID.
"""

import signal
import sys
import time
from datetime import timedelta

import pytest
from fleet import LEASE, T0, environment, outbox_statuses, users_with_a_digest_due
from running import Command
from smtp_counting import CountingServer
from sqlalchemy import func

from tracker.db import db
from tracker.mail import enqueue_test_email
from tracker.mail.sender import CLAIM_BATCH
from tracker.models import Outbox, OutboxStatus, User

postgresql_only = pytest.mark.parametrize("backend", ["postgresql"], indirect=True)


def worker(env: dict, started: list) -> Command:
    command = Command([sys.executable, "-m", "flask", "--app", "app", "worker"], env)
    started.append(command)
    return command


@pytest.fixture
def started():
    commands: list[Command] = []
    yield commands
    for command in commands:
        command.stop()


@postgresql_only
def test_three_workers_send_two_thousand_digests_exactly_once_through_a_takeover(
    app, tmp_path, started
):
    """The lock holder is killed mid-run; another worker takes over and finishes the job.

    Only the lock holder works (one scheduler at a time, by design); the test proves the
    hand-over loses nothing and repeats nothing. It is killed while the mail server holds
    a message it has not yet accepted, so that message's only delivery is the retry: with
    no duplicate allowed anywhere, every Message-ID must arrive exactly once. The workers
    that take over run their clocks past the lease, so the interrupted message is retried
    at once instead of minutes later.
    """
    emails = users_with_a_digest_due(app, 2000)
    with CountingServer(hold_at=700) as server:
        first = worker(environment(app, tmp_path, server, T0), started)
        first.wait_for(f"Scheduler running (pid {first.pid}")
        later = T0 + timedelta(seconds=LEASE + 60)
        others = [worker(environment(app, tmp_path, server, later), started) for _ in range(2)]
        for other in others:
            other.wait_for("Another scheduler holds the PostgreSQL advisory lock")

        assert server.handler.held.wait(60), first.output()
        assert server.count() == 699
        first.process.send_signal(signal.SIGKILL)
        first.process.wait(10)
        server.handler.release.set()

        deadline = time.monotonic() + 90
        while not any(o.count("Scheduler running") for o in others):
            assert time.monotonic() < deadline, [o.output() for o in others]
            time.sleep(0.1)
        server.wait_for(
            2000, timeout=90, alive=lambda: all(o.process.poll() is None for o in others)
        )
        time.sleep(2)  # a duplicate, were there one, would arrive in these seconds

        counts = server.by_message_id()
        assert len(counts) == 2000 and set(counts.values()) == {1}
        assert sorted(to for _, to in server.handler.accepted) == sorted(emails)
        assert outbox_statuses(app) == {OutboxStatus.SENT: 2000}
        with app.app_context():
            attempts = db.session.execute(
                db.select(Outbox.attempts, func.count()).group_by(Outbox.attempts)
            ).all()
        # The one held when the holder died was tried twice. The rest of its batch was
        # claimed, never tried, and went back when the lease ran out: that claim counts.
        tried = dict(attempts)
        assert set(tried) <= {1, 2} and sum(tried.values()) == 2000
        assert 1 <= tried[2] <= CLAIM_BATCH
        [taker] = [o for o in others if o.count("Scheduler running")]
        [waiter] = [o for o in others if o is not taker]
        assert waiter.count("Scheduler running") == 0
        for other in others:
            assert other.signal_group(signal.SIGTERM) == 0, other.output()


# A sender without a scheduler: waits for the go file, sends until nothing is due.
SENDER = """
import pathlib, sys, time
from app import app
from tracker.mail.sender import dispatch
print("READY", flush=True)
while not pathlib.Path(sys.argv[1]).exists():
    time.sleep(0.01)
with app.app_context():
    report = dispatch()
print("SENT", report.counts.get("sent", 0), flush=True)
"""


@postgresql_only
def test_concurrent_senders_claim_different_rows(app, make_user, tmp_path, started):
    """Three processes call the sender at once, no scheduler lock among them: SKIP LOCKED
    claims give each row to one of them only, and all three do part of the work."""
    user = make_user("dana@example.com")
    app.config["NOW"] = T0
    with app.app_context():
        dana = db.session.get(User, user.id)
        for _ in range(600):
            enqueue_test_email(dana)
        db.session.commit()
    with CountingServer(delay=0.01) as server:
        env = environment(app, tmp_path, server, T0)
        go = tmp_path / "go"
        senders = [Command([sys.executable, "-c", SENDER, str(go)], env) for _ in range(3)]
        started.extend(senders)
        for sender in senders:
            sender.wait_for("READY", timeout=60)
        go.touch()
        for sender in senders:
            assert sender.process.wait(120) == 0, sender.output()
        counts = server.by_message_id()
        assert len(counts) == 600, [sender.output() for sender in senders]
        assert set(counts.values()) == {1}
    shares = [int(s.output().split("SENT ")[1].split()[0]) for s in senders]
    assert sum(shares) == 600 and all(share > 0 for share in shares), shares
    assert outbox_statuses(app) == {OutboxStatus.SENT: 600}
