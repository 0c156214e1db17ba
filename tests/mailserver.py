"""A real SMTP server for tests (aiosmtpd on 127.0.0.1) that can be told to misbehave.

Every message that reaches DATA is in `attempts`; accepted ones also in `received`.
`server.mode` decides the answer to the next messages: "ok" (250, recorded), "4xx"
(451, not recorded), "5xx" (550), "drop" (the connection is cut mid-transaction) or
"stall" (recorded, then no answer until `handler.release.set()`); `handler.stall_at = n`
stalls only the n-th accepted message.
"""

import asyncio
import email
import socket
import threading
import time
from collections.abc import Callable
from email.message import EmailMessage
from email.policy import default as default_policy

from aiosmtpd.controller import Controller


def free_port() -> int:
    """A port nobody listens on now (aiosmtpd cannot be given port 0)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Recorder:
    """The aiosmtpd handler: records accepted messages, answers as `mode` says."""

    def __init__(self) -> None:
        self.mode = "ok"
        self.received: list[bytes] = []
        self.attempts: list[bytes] = []
        self.refused = 0
        self.stall_at: int | None = None
        self.stalled = threading.Event()
        self.release = threading.Event()
        # Called with the count accepted so far as each message arrives whole.
        self.on_arrival: Callable[[int], None] | None = None
        self._lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope) -> str:
        mode = self.mode
        with self._lock:
            self.attempts.append(envelope.content)
        if mode in ("4xx", "5xx", "drop"):
            with self._lock:
                self.refused += 1
        if mode == "4xx":
            return "451 4.3.0 Mailbox busy, try again later"
        if mode == "5xx":
            return "550 5.1.1 No such mailbox here"
        if mode == "drop":
            server.transport.abort()
            return "421 4.4.2 Connection dropped"
        if self.on_arrival is not None:
            self.on_arrival(len(self.received))
        with self._lock:
            self.received.append(envelope.content)
            count = len(self.received)
        if mode == "stall" or count == self.stall_at:
            self.stalled.set()
            while not self.release.is_set():
                await asyncio.sleep(0.02)
        return "250 2.0.0 Queued"


class MailServer:
    """A started SMTP server: `port`, `messages()`, `mode`, `stop()` and `start()`."""

    def __init__(self) -> None:
        self.port = free_port()
        self.handler = Recorder()
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    @property
    def mode(self) -> str:
        return self.handler.mode

    @mode.setter
    def mode(self, value: str) -> None:
        self.handler.mode = value

    @property
    def refused(self) -> int:
        return self.handler.refused

    def messages(self) -> list[EmailMessage]:
        """Every accepted message, parsed by the standard library."""
        return [
            email.message_from_bytes(raw, policy=default_policy)
            for raw in list(self.handler.received)
        ]

    def attempted(self) -> list[EmailMessage]:
        """Every message that reached DATA, accepted or not."""
        return [
            email.message_from_bytes(raw, policy=default_policy)
            for raw in list(self.handler.attempts)
        ]

    def wait_for(self, count: int, timeout: float = 10) -> list[EmailMessage]:
        """Poll until at least `count` messages arrived; fails the test on timeout."""
        deadline = time.monotonic() + timeout
        while len(self.handler.received) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"expected {count} messages, got {len(self.handler.received)}")
            time.sleep(0.02)
        return self.messages()

    def config(self) -> dict:
        """App settings that send to this server."""
        return {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": self.port, "SMTP_SECURITY": "none"}
