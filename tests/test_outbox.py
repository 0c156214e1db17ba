"""The outbox against a real SMTP server: retries, failures, leases, expiry, cancellation."""

import os
import smtplib
import threading
import time
from datetime import date, timedelta
from email import message_from_bytes
from email.policy import default as default_policy

import pytest
from helpers import utc
from maildata import meet, move_all, outbox, set_user
from sqlalchemy import create_engine, text

from tracker import jobs, sweeper
from tracker.db import db
from tracker.mail import outbox as box
from tracker.mail.compose import delivery_check
from tracker.mail.sender import SWEEPS, dispatch
from tracker.mail.transport import SMTPTransport, classify
from tracker.models import OutboxStatus, User

T0 = utc(2026, 11, 21, 7, 0)  # 08:00 in Berlin


@pytest.fixture
def mail_app(app, smtp_server):
    app.config.update(smtp_server.config(), NOW=T0)
    return app


@pytest.fixture
def digest_row(mail_app, make_user, make_interview):
    """Dana in Berlin with three follow-ups due, and today's digest in the outbox."""
    user = make_user("dana@example.com", timezone="Europe/Berlin")
    people = ("Lee Park", "Ana Ruiz", "Sam Jones")
    meet(make_interview, user, "Acme", *people, held_on=date(2026, 11, 20))
    with mail_app.app_context():
        assert jobs.plan_digests() == 1
    return user


def send(app, at=None) -> str:
    if at is not None:
        app.config["NOW"] = at
    with app.app_context():
        return str(dispatch())


def digests_due(make_user, make_interview, count: int) -> None:
    """`count` users in Berlin, each with a thank-you due: a digest each at T0."""
    for n in range(count):
        user = make_user(f"user{n}@example.com", timezone="Europe/Berlin")
        meet(make_interview, user, "Acme", "Lee Park", held_on=date(2026, 11, 20))


def composed_by(rows) -> set[int]:
    """The processes that composed these messages: the standard library puts its pid in
    each Message-ID."""
    return {int(row.message_id.strip("<>").split(".")[1]) for row in rows}


def only_row(app):
    [row] = outbox(app)
    return row


def test_enqueue_is_idempotent_per_key(mail_app, make_user):
    user = make_user()
    with mail_app.app_context():
        user = db.session.get(User, user.id)
        first = box.enqueue(user, "digest:1:2026-11-21", "digest", delivery_check(user, T0))
        again = box.enqueue(user, "digest:1:2026-11-21", "digest", delivery_check(user, T0))
        db.session.commit()
    assert (first, again) == (True, False)
    assert len(outbox(mail_app)) == 1


def test_4xx_is_retried_with_backoff_and_delivered_once(mail_app, smtp_server, digest_row):
    smtp_server.mode = "4xx"
    assert send(mail_app) == "1 retrying"
    row = only_row(mail_app)
    assert (row.status, row.attempts) == (OutboxStatus.PENDING, 1)
    assert "451 4.3.0 Mailbox busy" in row.last_error
    # Equal jitter around a 60-second base: between 30 and 60 seconds.
    assert T0 + timedelta(seconds=30) <= row.next_attempt_at <= T0 + timedelta(seconds=60)

    assert send(mail_app) == "nothing to send"  # not due again yet
    second = row.next_attempt_at
    assert send(mail_app, at=second) == "1 retrying"
    row = only_row(mail_app)
    assert row.attempts == 2
    assert second + timedelta(seconds=60) <= row.next_attempt_at <= second + timedelta(seconds=120)

    smtp_server.mode = "ok"
    assert send(mail_app, at=row.next_attempt_at) == "1 sent"
    assert send(mail_app, at=row.next_attempt_at + timedelta(hours=1)) == "nothing to send"
    row = only_row(mail_app)
    assert (row.status, row.attempts, row.last_error) == (OutboxStatus.SENT, 3, "")
    assert len(smtp_server.messages()) == 1
    attempts = smtp_server.attempted()
    assert len(attempts) == 3
    assert {m["Message-ID"] for m in attempts} == {row.message_id}
    assert len(set(smtp_server.handler.attempts)) == 1  # byte for byte the same message


def test_5xx_fails_at_once_and_keeps_the_error(mail_app, smtp_server, digest_row):
    smtp_server.mode = "5xx"
    assert send(mail_app) == "1 failed"
    assert send(mail_app, at=T0 + timedelta(days=1)) == "nothing to send"
    row = only_row(mail_app)
    assert (row.status, row.attempts) == (OutboxStatus.FAILED, 1)
    assert row.last_error == "550 5.1.1 No such mailbox here"
    assert smtp_server.refused == 1 and smtp_server.messages() == []


def test_dropped_connection_is_retried(mail_app, smtp_server, digest_row):
    smtp_server.mode = "drop"
    assert send(mail_app) == "1 retrying"
    row = only_row(mail_app)
    assert row.status is OutboxStatus.PENDING and row.last_error
    smtp_server.mode = "ok"
    assert send(mail_app, at=row.next_attempt_at) == "1 sent"
    assert [m["Message-ID"] for m in smtp_server.messages()] == [row.message_id]


def test_server_down_is_retried_until_it_is_back(mail_app, smtp_server, digest_row):
    smtp_server.stop()
    assert send(mail_app) == "1 retrying"
    row = only_row(mail_app)
    assert row.last_error.startswith("connection failed")
    smtp_server.start()
    assert send(mail_app, at=row.next_attempt_at) == "1 sent"
    assert len(smtp_server.messages()) == 1


def test_gives_up_after_the_last_attempt(mail_app, smtp_server, digest_row):
    mail_app.config["OUTBOX_MAX_ATTEMPTS"] = 3
    smtp_server.mode = "4xx"
    moment = T0
    for outcome in ("1 retrying", "1 retrying", "1 failed"):
        assert send(mail_app, at=moment) == outcome
        moment = only_row(mail_app).next_attempt_at
    row = only_row(mail_app)
    assert row.status is OutboxStatus.FAILED
    assert row.last_error.endswith("(gave up after 3 attempts)") and "451" in row.last_error
    assert send(mail_app, at=T0 + timedelta(hours=5)) == "nothing to send"


def test_expired_lease_resends_with_the_same_message_id(mail_app, smtp_server, digest_row):
    """A sender that delivered and died before recording it: re-sent once, same Message-ID."""
    with mail_app.app_context():
        [claimed] = box.claim(T0)
        db.session.commit()
        transport = SMTPTransport("127.0.0.1", smtp_server.port, security="none", timeout=5)
        transport.send(claimed.message.encode(), _envelope(claimed))
    assert send(mail_app) == "nothing to send"  # leased: nobody else may take it

    later = T0 + timedelta(seconds=mail_app.config["OUTBOX_LEASE_SECONDS"] + 1)
    mail_app.config["NOW"] = later
    with mail_app.app_context():
        assert jobs.reap_leases() == 1
    assert send(mail_app) == "1 sent"
    first, second = smtp_server.messages()
    assert first["Message-ID"] == second["Message-ID"] == only_row(mail_app).message_id
    with mail_app.app_context():
        # The first sender, back from the dead, can no longer change the row.
        assert box.mark_sent(claimed, later) is False
    assert only_row(mail_app).attempts == 2


def _envelope(claimed):
    from tracker.mail.transport import Envelope

    return Envelope("keepwarm@localhost", claimed.recipient, claimed.id, claimed.created_at)


def test_digest_turned_off_before_sending_is_cancelled(mail_app, smtp_server, digest_row):
    set_user(mail_app, digest_row, digest_enabled=False)
    assert send(mail_app) == "1 cancelled"
    row = only_row(mail_app)
    assert row.status is OutboxStatus.CANCELLED and "turned off" in row.last_error
    assert smtp_server.attempted() == []


def test_a_past_days_digest_is_expired_and_today_carries_everything(
    mail_app, smtp_server, digest_row
):
    smtp_server.stop()  # the 21st's digest cannot go out that day
    assert send(mail_app) == "1 retrying"
    move_all(mail_app, digest_row, date(2026, 11, 21))
    smtp_server.start()

    mail_app.config["NOW"] = T0 + timedelta(days=1)
    with mail_app.app_context():
        assert jobs.plan_digests() == 1
    assert send(mail_app) == "1 sent"
    yesterday, today = outbox(mail_app)
    assert (yesterday.status, today.status) == (OutboxStatus.EXPIRED, OutboxStatus.SENT)
    assert "next digest" in yesterday.last_error
    [message] = smtp_server.messages()
    assert message["Subject"] == "6 follow-ups due today (6 overdue)"


def test_a_past_days_digest_claimed_late_is_expired_not_sent(mail_app, smtp_server, digest_row):
    assert send(mail_app, at=T0 + timedelta(days=1)) == "1 expired"
    assert only_row(mail_app).status is OutboxStatus.EXPIRED
    assert smtp_server.attempted() == []


def test_without_smtp_host_messages_become_eml_files(mail_app, make_user, tmp_path):
    mail_app.config["SMTP_HOST"] = ""
    user = make_user("lee@example.com")
    with mail_app.app_context():
        key = box.enqueue_test_email(db.session.get(User, user.id))
        db.session.commit()
    assert key.startswith(f"test:{user.id}:")
    assert send(mail_app) == "1 sent"
    [path] = (tmp_path / "instance" / "mail").glob("*.eml")
    message = message_from_bytes(path.read_bytes(), policy=default_policy)
    assert message["To"] == "lee@example.com"
    assert message["Subject"] == "Keepwarm test email"
    assert message["Message-ID"] == only_row(mail_app).message_id
    assert "your reminder emails will reach you" in message.get_content()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_concurrent_senders_never_claim_the_same_row(app, make_user):
    app.config["NOW"] = T0
    user = make_user()
    with app.app_context():
        owner = db.session.get(User, user.id)
        for n in range(40):
            box.enqueue(owner, f"test:{n}", "test", delivery_check(owner, T0))
        db.session.commit()
    claimed: list[int] = []
    lock = threading.Lock()
    start = threading.Barrier(4)

    def sender() -> None:
        with app.app_context():
            start.wait()
            while rows := box.claim(T0, limit=3):
                db.session.commit()
                with lock:
                    claimed.extend(r.id for r in rows)

    threads = [threading.Thread(target=sender) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(claimed) == sorted(set(claimed)) and len(claimed) == 40


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_postgres_claim_skips_rows_locked_by_another_session(app, make_user):
    """Two open transactions at once: the second skips what the first holds, never waits."""
    app.config["NOW"] = T0
    user = make_user()
    with app.app_context():
        owner = db.session.get(User, user.id)
        for n in range(2):
            box.enqueue(owner, f"test:{n}", "test", delivery_check(owner, T0))
        db.session.commit()
    first_claim: list[list[int]] = []
    holding, done = threading.Event(), threading.Event()

    def first() -> None:
        with app.app_context():
            first_claim.append([c.id for c in box.claim(T0)])
            holding.set()
            done.wait(10)  # the transaction stays open, the row locked
            db.session.rollback()

    thread = threading.Thread(target=first)
    thread.start()
    assert holding.wait(10)
    with app.app_context():
        second = [c.id for c in box.claim(T0)]
        third = [c.id for c in box.claim(T0)]
        db.session.commit()
    done.set()
    thread.join(10)
    assert len(first_claim[0]) == 1 and len(second) == 1
    assert first_claim[0] != second and third == []


@pytest.mark.parametrize(
    ("error", "temporary"),
    [
        (smtplib.SMTPResponseException(451, b"busy"), True),
        (smtplib.SMTPResponseException(421, b"closing"), True),
        (smtplib.SMTPResponseException(550, b"no such user"), False),
        (smtplib.SMTPAuthenticationError(535, b"bad credentials"), False),
        (smtplib.SMTPRecipientsRefused({"a@b": (450, b"later")}), True),
        (smtplib.SMTPRecipientsRefused({"a@b": (550, b"unknown")}), False),
        (smtplib.SMTPServerDisconnected("gone"), True),
        (ConnectionRefusedError(111, "refused"), True),
        (TimeoutError("timed out"), True),
    ],
)
def test_errors_are_classified_temporary_or_permanent(error, temporary):
    assert classify(error).temporary is temporary


def test_a_sender_keeps_sending_while_a_sweep_stores_digests(mail_app, smtp_server, make_user):
    """The worker runs the sweep and the sender side by side: a sender that finds nothing
    due while a sweep runs waits for its next batch instead of returning until its next
    tick, and returns once the sweep has ended and nothing is left."""
    user = make_user("lee@example.com")
    reports: list[str] = []

    def store_one() -> None:
        with mail_app.app_context():
            box.enqueue_test_email(db.session.get(User, user.id))
            db.session.commit()
        SWEEPS.stored()

    def sender() -> None:
        reports.append(send(mail_app))

    with SWEEPS.sweeping():
        thread = threading.Thread(target=sender)
        thread.start()
        store_one()
        smtp_server.wait_for(1)
        assert thread.is_alive(), reports  # waiting for the sweep's next batch
        store_one()
        smtp_server.wait_for(2)
        assert thread.is_alive(), reports
    thread.join(10)
    assert not thread.is_alive()
    assert reports == ["2 sent"]
    assert {row.status for row in outbox(mail_app)} == {OutboxStatus.SENT}


def test_a_sweep_tells_the_sender_after_each_batch_it_stores(
    mail_app, make_user, make_interview, monkeypatch
):
    monkeypatch.setattr(jobs, "SWEEP_BATCH", 2)
    digests_due(make_user, make_interview, 5)
    before = SWEEPS.batches()
    with mail_app.app_context():
        assert jobs.plan_digests() == 5
        assert jobs.plan_digests() == 0  # all served today: nothing stored, no one told
    assert SWEEPS.batches() - before == 3


def test_a_sender_with_no_sweep_running_returns_when_nothing_is_due(mail_app):
    finished = threading.Event()

    def sender() -> None:
        send(mail_app)
        finished.set()

    thread = threading.Thread(target=sender)
    thread.start()
    assert finished.wait(5)
    thread.join()


def test_a_large_sweep_composes_in_a_child_process(
    mail_app, smtp_server, make_user, make_interview, monkeypatch
):
    """Composing computes: a large sweep does it in a process of its own, so that the
    worker's sender keeps a core. The digests are the same; each Message-ID names the
    process that composed it (the standard library puts its pid in)."""
    monkeypatch.setattr(jobs, "SWEEP_BATCH", 2)
    monkeypatch.setattr(sweeper, "CHILD_FROM_USERS", 3)
    digests_due(make_user, make_interview, 5)
    before = SWEEPS.batches()
    with mail_app.app_context():
        assert jobs.plan_digests() == 5
        assert jobs.plan_digests() == 0  # in the child too: everyone is served today
    assert SWEEPS.batches() - before == 3  # the sender was told of each batch
    rows = outbox(mail_app)
    assert len(rows) == 5 and {row.kind for row in rows} == {"digest"}
    pids = composed_by(rows)
    assert len(pids) == 1 and os.getpid() not in pids
    assert send(mail_app) == "5 sent"
    [message, *_] = smtp_server.messages()
    assert message["Subject"] == "1 follow-up due today"
    assert "Lee Park" in message.get_body(("plain",)).get_content()


def test_settings_that_cannot_cross_to_a_child_process_are_left_behind(mail_app):
    mail_app.config["NOW"] = lambda: T0  # a running clock: the child starts its own
    settings = sweeper.portable_settings(mail_app.config)
    assert "NOW" not in settings
    assert settings["SQLALCHEMY_DATABASE_URI"] == mail_app.config["SQLALCHEMY_DATABASE_URI"]
    assert settings["SECRET_KEY"] == mail_app.config["SECRET_KEY"]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_each_message_arrives_only_after_the_previous_one_is_recorded(
    mail_app, smtp_server, make_user, monkeypatch
):
    """Deliveries are recorded in a thread of their own while the next message goes out,
    but the next is completed only once the last is recorded: whenever a message
    arrives, every one before it is already marked sent. Each record is made slow (a
    disk that takes its time), so a message that did not wait would arrive first."""
    mark_sent = box.mark_sent

    def slowly(*args, **kwargs):
        time.sleep(0.02)
        return mark_sent(*args, **kwargs)

    monkeypatch.setattr(box, "mark_sent", slowly)
    user = make_user("lee@example.com")
    with mail_app.app_context():
        for _ in range(30):
            box.enqueue_test_email(db.session.get(User, user.id))
        db.session.commit()
    engine = create_engine(mail_app.config["SQLALCHEMY_DATABASE_URI"])
    behind: list[tuple[int, int]] = []

    def on_arrival(before: int) -> None:
        with engine.connect() as connection:
            recorded = connection.execute(
                text("SELECT count(*) FROM outbox WHERE status = 'sent'")
            ).scalar_one()
        if recorded < before:
            behind.append((before, recorded))

    smtp_server.handler.on_arrival = on_arrival
    try:
        assert send(mail_app) == "30 sent"
    finally:
        engine.dispose()
    assert behind == []
    assert {row.status for row in outbox(mail_app)} == {OutboxStatus.SENT}


def test_a_sweep_whose_child_process_fails_composes_in_the_worker(
    mail_app, make_user, make_interview, monkeypatch, caplog
):
    """The child cannot start (here: settings it refuses); the sweep still stores every
    digest, composed in the worker's own thread, and says why in the log."""
    monkeypatch.setattr(sweeper, "CHILD_FROM_USERS", 1)
    portable = sweeper.portable_settings
    monkeypatch.setattr(
        sweeper, "portable_settings", lambda settings: {**portable(settings), "SECRET_KEY": "x"}
    )
    digests_due(make_user, make_interview, 3)
    with mail_app.app_context():
        assert jobs.plan_digests() == 3
    rows = outbox(mail_app)
    assert len(rows) == 3
    assert composed_by(rows) == {os.getpid()}
    assert "the sweep's child process failed" in caplog.text
