"""Sending many emails: one SMTP connection per pass, and a new one after a failure."""

import pytest
from helpers import utc
from smtp_counting import CountingServer

from tracker.db import db
from tracker.mail import enqueue_test_email
from tracker.mail.sender import dispatch
from tracker.models import User

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
