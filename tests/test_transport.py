"""Transports: SMTP over TLS with certificates verified (STARTTLS and implicit TLS), a
message completed only after `before_delivery`, and `.eml` files without a server."""

import socket
import ssl
import subprocess
from datetime import UTC, datetime

import pytest
from aiosmtpd.controller import Controller
from mailserver import Recorder, free_port

from tracker.mail.transport import DeliveryError, Envelope, FileTransport, SMTPTransport

MESSAGE = b"From: a@example.com\r\nTo: b@example.com\r\nSubject: hi\r\n\r\nhello\r\n"
ENVELOPE = Envelope("a@example.com", "b@example.com", 1, datetime(2026, 11, 21, tzinfo=UTC))


@pytest.fixture(scope="module")
def certificate(tmp_path_factory) -> tuple[str, str]:
    """A self-signed certificate for 127.0.0.1, made with the openssl command."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = str(folder / "cert.pem"), str(folder / "key.pem")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", key, "-out", cert],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


def server_context(certificate) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    return context


@pytest.fixture
def starttls_server(certificate):
    recorder, port = Recorder(), free_port()
    controller = Controller(
        recorder,
        hostname="127.0.0.1",
        port=port,
        tls_context=server_context(certificate),
        require_starttls=True,
    )
    controller.start()
    yield recorder, port
    controller.stop()


def test_starttls_refuses_a_certificate_nobody_vouches_for(starttls_server):
    recorder, port = starttls_server
    transport = SMTPTransport("127.0.0.1", port, security="starttls", timeout=5)
    with pytest.raises(DeliveryError) as failure:
        transport.send(MESSAGE, ENVELOPE)
    assert "CERTIFICATE_VERIFY_FAILED" in str(failure.value)
    assert recorder.received == []


def test_starttls_delivers_when_the_certificate_is_trusted(
    starttls_server, certificate, monkeypatch
):
    recorder, port = starttls_server
    monkeypatch.setenv("SSL_CERT_FILE", certificate[0])  # read by create_default_context()
    SMTPTransport("127.0.0.1", port, security="starttls", timeout=5).send(MESSAGE, ENVELOPE)
    assert recorder.received == [MESSAGE]


def test_a_server_requiring_starttls_refuses_plain_text(starttls_server):
    recorder, port = starttls_server
    with pytest.raises(DeliveryError) as failure:
        SMTPTransport("127.0.0.1", port, security="none", timeout=5).send(MESSAGE, ENVELOPE)
    assert failure.value.temporary is False and "530" in str(failure.value)
    assert recorder.received == []


def test_unknown_security_mode_is_refused():
    with pytest.raises(ValueError, match="SMTP_SECURITY"):
        SMTPTransport("127.0.0.1", 25, security="tls")


def test_implicit_tls_verifies_the_certificate_too(certificate, monkeypatch):
    recorder, port = Recorder(), free_port()
    controller = Controller(
        recorder, hostname="127.0.0.1", port=port, ssl_context=server_context(certificate)
    )
    controller.start()
    try:
        transport = SMTPTransport("127.0.0.1", port, security="ssl", timeout=5)
        with pytest.raises(DeliveryError, match="CERTIFICATE_VERIFY_FAILED"):
            transport.send(MESSAGE, ENVELOPE)
        monkeypatch.setenv("SSL_CERT_FILE", certificate[0])
        # A transport loads the trusted certificates once; a new one sees the change.
        SMTPTransport("127.0.0.1", port, security="ssl", timeout=5).send(MESSAGE, ENVELOPE)
    finally:
        controller.stop()
    assert recorder.received == [MESSAGE]


@pytest.fixture
def plain_server():
    recorder, port = Recorder(), free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    yield recorder, port
    controller.stop()


def test_before_delivery_runs_before_the_server_has_the_message(plain_server):
    """The sender records the previous delivery there, so at most one message is ever
    delivered and not yet recorded."""
    recorder, port = plain_server
    seen_then: list[int] = []
    transport = SMTPTransport("127.0.0.1", port, security="none", timeout=5)
    with transport.kept_open():
        for _ in range(2):
            transport.send(MESSAGE, ENVELOPE, lambda: seen_then.append(len(recorder.received)))
    assert seen_then == [0, 1]
    assert recorder.received == [MESSAGE, MESSAGE]


def test_a_failing_before_delivery_withdraws_the_message(plain_server):
    recorder, port = plain_server
    transport = SMTPTransport("127.0.0.1", port, security="none", timeout=5)

    def database_away() -> None:
        raise RuntimeError("the previous delivery could not be recorded")

    with transport.kept_open():
        with pytest.raises(RuntimeError, match="could not be recorded"):  # as it is
            transport.send(MESSAGE, ENVELOPE, database_away)
        transport.send(MESSAGE, ENVELOPE)  # a new connection, and the next one goes
    assert recorder.received == [MESSAGE]


def test_lines_starting_with_a_dot_arrive_as_written(plain_server):
    recorder, port = plain_server
    dotted = MESSAGE + b".\r\n..two\r\n.end"
    SMTPTransport("127.0.0.1", port, security="none", timeout=5).send(dotted, ENVELOPE)
    assert recorder.received == [dotted + b"\r\n"]


def test_a_refused_message_is_permanent_and_the_next_one_goes(plain_server):
    recorder, port = plain_server
    recorder.mode = "5xx"
    transport = SMTPTransport("127.0.0.1", port, security="none", timeout=5)
    with transport.kept_open():
        with pytest.raises(DeliveryError) as failure:
            transport.send(MESSAGE, ENVELOPE)
        assert failure.value.temporary is False
        recorder.mode = "ok"
        transport.send(MESSAGE, ENVELOPE)
    assert recorder.received == [MESSAGE]


def test_a_file_is_written_only_after_before_delivery(tmp_path):
    transport = FileTransport(tmp_path)

    def database_away() -> None:
        raise RuntimeError("not recorded")

    with pytest.raises(RuntimeError):
        transport.send(MESSAGE, ENVELOPE, database_away)
    assert list(tmp_path.iterdir()) == []
    transport.send(MESSAGE, ENVELOPE, lambda: None)
    assert [path.read_bytes() for path in tmp_path.glob("*.eml")] == [MESSAGE]


def test_small_writes_go_out_at_once(plain_server):
    """The final dot is a write of its own: Nagle's algorithm would hold it back until
    the server acknowledged the message (a delayed ACK, up to 40 ms per message)."""
    _, port = plain_server
    connection = SMTPTransport("127.0.0.1", port, security="none", timeout=5)._connect()
    try:
        assert connection.sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
    finally:
        connection.quit()
