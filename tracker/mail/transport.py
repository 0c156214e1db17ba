"""Getting a composed message out: to an SMTP server, or into `.eml` files without one.

Every failure is raised as DeliveryError, which says whether trying again later can help:
a 4xx reply or a broken connection is temporary, a 5xx reply is permanent.
"""

import contextlib
import functools
import os
import smtplib
import ssl
import time
from collections.abc import Iterator
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


@dataclass(frozen=True)
class Envelope:
    """What a transport needs besides the bytes: who from, who to, and a name for files."""

    sender: str
    recipient: str
    outbox_id: int
    created_at: datetime


class Transport(Protocol):
    def send(self, raw: bytes, envelope: Envelope) -> None: ...


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

    def send(self, raw: bytes, envelope: Envelope) -> None:
        try:
            connection = self._connection()
            try:
                connection.sendmail(envelope.sender, [envelope.recipient], raw)
                self._used_at = time.monotonic()
            finally:
                if connection is not self._open:
                    _close(connection)
        except Exception as error:  # noqa: BLE001 - every failure is classified, none escapes
            self._drop()  # after a failure the connection's state is unknown: start afresh
            raise classify(error) from error


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

    def send(self, raw: bytes, envelope: Envelope) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            name = f"{envelope.created_at:%Y%m%d-%H%M%S}-{envelope.outbox_id}.eml"
            target = self.folder / name
            partial = self.folder / f".{name}.partial"
            partial.write_bytes(raw)
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
