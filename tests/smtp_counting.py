"""An SMTP server on 127.0.0.1 that counts what it accepts by Message-ID.

Unlike tests/mailserver.py it keeps only the headers that matter (so thousands of
messages stay cheap), can be slowed down, and can hold one message *before* accepting
it: a sender killed while it waits has not delivered that message, so a later attempt
is its only delivery.
"""

import asyncio
import threading
import time
from collections import Counter
from email.parser import BytesHeaderParser
from email.policy import default as default_policy

from aiosmtpd.controller import Controller
from mailserver import free_port


class CountingHandler:
    def __init__(self, delay: float = 0.0, hold_at: int | None = None) -> None:
        self.delay = delay
        self.hold_at = hold_at
        self.held = threading.Event()
        self.release = threading.Event()
        self.accepted: list[tuple[str, str]] = []  # (Message-ID, To)
        self.arrived = 0
        self.connections = 0
        self._lock = threading.Lock()

    async def handle_EHLO(self, server, session, envelope, hostname, responses) -> list[str]:
        with self._lock:
            self.connections += 1
        session.host_name = hostname
        return responses

    async def handle_DATA(self, server, session, envelope) -> str:
        with self._lock:
            self.arrived += 1
            number = self.arrived
        if number == self.hold_at:
            self.held.set()
            while not self.release.is_set():
                await asyncio.sleep(0.02)
            return "451 4.3.0 Held; not accepted"
        if self.delay:
            await asyncio.sleep(self.delay)
        headers = BytesHeaderParser(policy=default_policy).parsebytes(envelope.content)
        with self._lock:
            self.accepted.append((str(headers["Message-ID"]), str(headers["To"])))
        return "250 2.0.0 Queued"


class CountingServer:
    def __init__(self, delay: float = 0.0, hold_at: int | None = None) -> None:
        self.port = free_port()
        self.handler = CountingHandler(delay, hold_at)
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> "CountingServer":
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.handler.release.set()
        self.controller.stop()

    def by_message_id(self) -> Counter:
        return Counter(message_id for message_id, _ in list(self.handler.accepted))

    def count(self) -> int:
        return len(self.handler.accepted)

    def wait_for(self, count: int, timeout: float, alive=lambda: True) -> None:
        """Until `count` messages were accepted; `alive()` false fails at once."""
        deadline = time.monotonic() + timeout
        while self.count() < count:
            assert alive(), "a process it waits on has died"
            assert time.monotonic() < deadline, f"{self.count()} of {count} messages arrived"
            time.sleep(0.05)

    def environment(self) -> dict:
        return {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(self.port), "SMTP_SECURITY": "none"}
