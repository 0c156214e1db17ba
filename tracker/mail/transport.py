"""Getting a composed message out: to an SMTP server, or into `.eml` files without one.

Every failure is raised as DeliveryError, which says whether trying again later can help:
a 4xx reply or a broken connection is temporary, a 5xx reply is permanent.
"""

import contextlib
import functools
import os
import re
import smtplib
import socket
import ssl
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from email.utils import parseaddr
from pathlib import Path
from typing import Protocol

SECURITY_MODES = ("none", "starttls", "ssl")
# A kept connection that carried a message this recently is used without asking the server
# first (NOOP): servers close idle connections after minutes (RFC 5321 suggests 5).
FRESH_SECONDS = 5.0


class DeliveryError(Exception):
    """Sending failed; `temporary` when a later attempt may succeed."""

    def __init__(self, message: str, temporary: bool) -> None:
        super().__init__(message)
        self.temporary = temporary


def _nothing() -> None:
    return None


@dataclass(frozen=True)
class Envelope:
    """What a transport needs besides the bytes: who from, who to, and a name for files."""

    sender: str
    recipient: str
    outbox_id: int
    created_at: datetime


class Transport(Protocol):
    def send(
        self, raw: bytes, envelope: Envelope, before_delivery: Callable[[], None] = _nothing
    ) -> None:
        """Deliver `raw`; `before_delivery` runs at the last moment the message can still
        be withdrawn (before SMTP's final dot, before a file takes its name). If it
        raises, the message is not delivered and its error goes up as it is."""


def classify(error: Exception) -> DeliveryError:
    """Temporary (4xx, connection trouble, timeouts) or permanent (5xx and the rest)."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in error.recipients.values()]
        temporary = bool(codes) and all(400 <= code < 500 for code in codes)
        return DeliveryError(f"recipient refused: {error.recipients}", temporary)
    if isinstance(error, smtplib.SMTPResponseException):
        text = error.smtp_error
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        # smtplib reports "connection unexpectedly closed" as code -1: temporary.
        temporary = not 500 <= error.smtp_code < 600
        return DeliveryError(f"{error.smtp_code} {text}", temporary)
    if isinstance(error, smtplib.SMTPServerDisconnected | OSError):
        # Refused, reset, timed out, TLS handshake failed: the server may be back later.
        return DeliveryError(f"connection failed: {error}", temporary=True)
    if isinstance(error, smtplib.SMTPNotSupportedError):
        return DeliveryError(f"server does not support it: {error}", temporary=False)
    return DeliveryError(f"{type(error).__name__}: {error}", temporary=True)


class SMTPTransport:
    """TLS verified against the system's certificates; one connection per message, or one
    for many inside `with transport.kept_open():` (a dispatch pass)."""

    def __init__(
        self,
        host: str,
        port: int,
        security: str = "starttls",
        username: str = "",
        password: str = "",
        timeout: float = 30,
    ) -> None:
        if security not in SECURITY_MODES:
            raise ValueError(f"SMTP_SECURITY must be one of {SECURITY_MODES}, not {security!r}")
        self.host, self.port, self.security = host, port, security
        self.username, self.password, self.timeout = username, password, timeout
        self._keep = False
        self._open: smtplib.SMTP | None = None
        self._used_at = 0.0

    @functools.cached_property
    def _tls(self) -> ssl.SSLContext:
        """A verifying context, made once: loading the system's certificates takes tens of
        milliseconds, more than sending a message. (smtplib's starttls() without a context
        would accept any certificate.)"""
        return ssl.create_default_context()

    def _connect(self) -> smtplib.SMTP:
        if self.security == "none":
            connection = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        elif self.security == "ssl":
            connection = smtplib.SMTP_SSL(
                self.host, self.port, timeout=self.timeout, context=self._tls
            )
        else:
            connection = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            connection.starttls(context=self._tls)
        # The final dot goes in a write of its own (see send): without this, the kernel
        # holds it back until the server acknowledges the message, up to 40 ms later.
        connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.username:
            connection.login(self.username, self.password)
        return connection

    def _connection(self) -> smtplib.SMTP:
        """The kept connection if it was just used or the server still answers on it
        (NOOP), else a new one."""
        if self._open is not None:
            if time.monotonic() - self._used_at < FRESH_SECONDS:
                return self._open
            try:
                if self._open.noop()[0] == 250:
                    return self._open
            except (smtplib.SMTPException, OSError):
                pass  # closed while idle: the server's timeout, or a restart
            self._drop()
        connection = self._connect()
        if self._keep:
            self._open = connection
        return connection

    def _drop(self) -> None:
        if self._open is not None:
            _close(self._open)
            self._open = None

    @contextlib.contextmanager
    def kept_open(self) -> Iterator["SMTPTransport"]:
        """Send many messages over one connection (QUIT at the end, or after an error)."""
        self._keep = True
        try:
            yield self
        finally:
            self._keep = False
            self._drop()

    def send(
        self, raw: bytes, envelope: Envelope, before_delivery: Callable[[], None] = _nothing
    ) -> None:
        """smtplib's sendmail in two halves: everything up to the final dot, then
        `before_delivery`, then the dot, which is when the server takes the message."""
        try:
            connection = self._connection()
        except Exception as error:  # noqa: BLE001 - every failure is classified, none escapes
            raise classify(error) from error
        try:
            _send_all_but_the_dot(connection, envelope, raw)
        except Exception as error:  # noqa: BLE001
            self._abandon(connection)
            raise classify(error) from error
        try:
            before_delivery()
        except BaseException:
            # Withdrawn: closed in the middle of DATA, the server discards the message.
            self._abandon(connection, mid_data=True)
            raise
        try:
            connection.send(b".\r\n")
            code, reply = connection.getreply()
            if code != 250:
                raise smtplib.SMTPDataError(code, reply)
        except Exception as error:  # noqa: BLE001
            self._abandon(connection)
            raise classify(error) from error
        self._used_at = time.monotonic()
        if connection is not self._open:
            _close(connection)

    def _abandon(self, connection: smtplib.SMTP, mid_data: bool = False) -> None:
        """After a failure the connection's state is unknown: it is closed, and the next
        message opens another. In the middle of DATA even QUIT would be read as part of
        the message, so the socket is simply closed."""
        if mid_data:
            connection.close()
        else:
            _close(connection)
        if connection is self._open:
            self._open = None


# A line of the message that starts with a dot gets a second one (RFC 5321 4.5.2).
_LEADING_DOT = re.compile(rb"(?m)^\.")


def _send_all_but_the_dot(connection: smtplib.SMTP, envelope: Envelope, raw: bytes) -> None:
    """MAIL, RCPT, DATA and the message, as smtplib's sendmail sends them."""
    connection.ehlo_or_helo_if_needed()
    options = [f"size={len(raw)}"] if connection.has_extn("size") else []
    code, reply = connection.mail(envelope.sender, options)
    if code != 250:
        _reset(connection)
        raise smtplib.SMTPSenderRefused(code, reply, envelope.sender)
    code, reply = connection.rcpt(envelope.recipient)
    if code not in (250, 251):
        _reset(connection)
        raise smtplib.SMTPRecipientsRefused({envelope.recipient: (code, reply)})
    connection.putcmd("data")
    code, reply = connection.getreply()
    if code != 354:
        _reset(connection)
        raise smtplib.SMTPDataError(code, reply)
    body = _LEADING_DOT.sub(b"..", raw)
    connection.send(body if body.endswith(b"\r\n") else body + b"\r\n")


def _reset(connection: smtplib.SMTP) -> None:
    """RSET after a refusal, as sendmail does; a dead connection is found out next time."""
    with contextlib.suppress(smtplib.SMTPServerDisconnected, OSError):
        connection.rset()


def _close(connection: smtplib.SMTP) -> None:
    """QUIT politely; the message is already accepted or refused, so errors do not matter."""
    try:
        connection.quit()
    except (smtplib.SMTPException, OSError):
        connection.close()


class FileTransport:
    """Writes each message to `<folder>/<created>-<outbox id>.eml` (no SMTP server set).

    The name depends only on the outbox row, so a retry overwrites rather than duplicates,
    and the write goes through a temporary file so a reader never sees half a message.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def send(
        self, raw: bytes, envelope: Envelope, before_delivery: Callable[[], None] = _nothing
    ) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            name = f"{envelope.created_at:%Y%m%d-%H%M%S}-{envelope.outbox_id}.eml"
            target = self.folder / name
            partial = self.folder / f".{name}.partial"
            partial.write_bytes(raw)
            try:
                before_delivery()
            except BaseException:
                partial.unlink(missing_ok=True)
                raise
            os.replace(partial, target)
        except OSError as error:
            problem = f"could not write {self.folder}: {error}"
            raise DeliveryError(problem, temporary=True) from error


def from_config(config: dict, instance_path: str) -> Transport:
    """SMTP when SMTP_HOST is set, else `.eml` files under instance/mail/."""
    if not config.get("SMTP_HOST"):
        return FileTransport(Path(instance_path) / "mail")
    return SMTPTransport(
        host=config["SMTP_HOST"],
        port=int(config["SMTP_PORT"]),
        security=config.get("SMTP_SECURITY", "starttls"),
        username=config.get("SMTP_USERNAME", ""),
        password=config.get("SMTP_PASSWORD", ""),
        timeout=float(config.get("SMTP_TIMEOUT_SECONDS", 30)),
    )


def envelope_sender(mail_from: str) -> str:
    """The bare address of MAIL_FROM ("Keepwarm <a@b>" -> "a@b") for the SMTP envelope."""
    return parseaddr(mail_from)[1] or mail_from
