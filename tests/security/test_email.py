"""Line 15: no CR/LF from user data reaches an email header; SMTP has a timeout (TLS
verification is proven in tests/test_transport.py)."""

import socket
import threading
import time
from datetime import UTC, datetime

import pytest

from tracker.mail import compose
from tracker.mail.transport import DeliveryError, Envelope, SMTPTransport, from_config
from tracker.models import User

NOW = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
FORGED = [
    "lee@example.com\r\nBcc: evil@example.com",
    "lee@example.com\nSubject: forged",
    "lee@example.com\rX-Injected: yes",
]


@pytest.mark.parametrize("address", FORGED)
def test_an_address_with_a_line_break_cannot_become_a_header(app, address):
    user = User(id=1, email=address, timezone="UTC", digest_hour=8)
    with app.test_request_context(), pytest.raises(ValueError, match="linefeed or carriage"):
        compose.delivery_check(user, NOW)
    with app.test_request_context(), pytest.raises(ValueError, match="linefeed or carriage"):
        compose.password_reset(user, "https://k.example/reset/x", 60, NOW)
    with app.test_request_context(), pytest.raises(ValueError, match="linefeed or carriage"):
        compose.digest(user, [], NOW.date(), NOW)


@pytest.mark.parametrize("address", FORGED)
def test_registration_never_stores_such_an_address(app, client, address):
    response = client.post(
        "/register", data={"email": address, "password": "a fine passphrase", "timezone": "UTC"}
    )
    assert response.status_code == 400


def test_a_mail_from_setting_with_a_line_break_is_refused_too(app):
    app.config["MAIL_FROM"] = "Keepwarm <k@example.com>\r\nBcc: evil@example.com"
    user = User(id=1, email="lee@example.com", timezone="UTC", digest_hour=8)
    with app.test_request_context(), pytest.raises(ValueError):
        compose.delivery_check(user, NOW)


@pytest.fixture
def silent_server():
    """A TCP server that accepts connections and never says a word."""
    listener = socket.create_server(("127.0.0.1", 0))
    accepted = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join()
    for connection in accepted:
        connection.close()
    listener.close()


def test_a_mail_server_that_never_answers_times_out(silent_server):
    transport = SMTPTransport("127.0.0.1", silent_server, security="starttls", timeout=1)
    envelope = Envelope("k@example.com", "lee@example.com", 1, NOW)
    started = time.monotonic()
    with pytest.raises(DeliveryError) as error:
        transport.send(b"Subject: hi\r\n\r\nhello\r\n", envelope)
    assert time.monotonic() - started < 5
    assert error.value.temporary  # tried again later, with backoff


def test_the_timeout_setting_reaches_the_transport(app):
    app.config.update(SMTP_HOST="smtp.example.org", SMTP_TIMEOUT_SECONDS=7)
    transport = from_config(app.config, app.instance_path)
    assert isinstance(transport, SMTPTransport) and transport.timeout == 7
