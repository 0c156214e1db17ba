"""Sending many emails: one SMTP connection per pass, and a new one after a failure; rows
claimed in batches, and a batch given back before its lease could run out."""

import pytest
from helpers import utc
from smtp_counting import CountingServer
from sqlalchemy import event

from tracker.db import db
from tracker.mail import enqueue_test_email
from tracker.mail.sender import CLAIM_BATCH, dispatch
from tracker.models import Outbox, User

T0 = utc(2026, 11, 21, 7, 0)


@pytest.fixture
def queued(app, make_user):
    """Ask for `count` test emails to Dana."""
    user = make_user("dana@example.com")
    app.config["NOW"] = T0

    def queue(count: int) -> None:
        with app.app_context():
            for _ in range(count):
                enqueue_test_email(db.session.get(User, user.id))
            db.session.commit()

    return queue


def send(app, server: CountingServer) -> str:
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=server.port, SMTP_SECURITY="none")
    with app.app_context():
        return str(dispatch())


def test_a_pass_sends_over_one_connection(app, queued):
    queued(20)
    with CountingServer() as server:
        assert send(app, server) == "20 sent"
        assert server.count() == 20 and server.handler.connections == 1
        queued(3)
        assert send(app, server) == "3 sent"
        assert server.handler.connections == 2  # the next pass opens its own


def test_after_a_failure_the_next_message_gets_a_new_connection(app, queued):
    queued(6)
    with CountingServer(hold_at=3) as server:
        # The third message is refused (451): the connection, in an unknown state, is
        # closed; the rest go over a new one, and the refused one is retried later.
        server.handler.release.set()
        report = send(app, server)
        assert report == "1 retrying, 5 sent"
        assert server.handler.connections == 2
        assert set(server.by_message_id().values()) == {1} and server.count() == 5


def claims_made(app, work) -> int:
    """How many claim statements `work()` sent to the database."""
    seen: list[str] = []

    def record(conn, cursor, statement, *args) -> None:
        if statement.lstrip().upper().startswith(("UPDATE", "WITH")) and "picked" in statement:
            seen.append(statement)

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", record)
    try:
        work()
    finally:
        with app.app_context():
            event.remove(db.engine, "before_cursor_execute", record)
    return len(seen)


def attempts(app) -> list[int]:
    with app.app_context():
        return list(db.session.execute(db.select(Outbox.attempts).order_by(Outbox.id)).scalars())


def test_rows_are_claimed_in_batches(app, queued):
    queued(CLAIM_BATCH + 5)
    with CountingServer() as server:
        reports: list[str] = []
        made = claims_made(app, lambda: reports.append(send(app, server)))
        assert reports == [f"{CLAIM_BATCH + 5} sent"] and server.count() == CLAIM_BATCH + 5
    assert made == 3  # a full batch, the five left, then none
    assert attempts(app) == [1] * (CLAIM_BATCH + 5)


def test_a_batch_goes_back_once_half_its_lease_is_used(app, queued):
    """With no lease to speak of, each claim sends one message and gives the rest back
    untried: every row is sent once, on its first attempt."""
    app.config["OUTBOX_LEASE_SECONDS"] = 0
    queued(4)
    with CountingServer() as server:
        reports: list[str] = []
        made = claims_made(app, lambda: reports.append(send(app, server)))
        assert reports == ["4 sent"] and set(server.by_message_id().values()) == {1}
    assert made == 5
    assert attempts(app) == [1, 1, 1, 1]
