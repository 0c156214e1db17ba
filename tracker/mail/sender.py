"""Sending what the outbox holds: claim a batch, re-check each is still wanted, then send
and record one message at a time.

No database transaction is open while a message is on the wire, so a slow mail server
never holds SQLite's write lock. Each delivery is committed before the next message is
completed (its record is written while the next one goes out, see Recorder): a sender
killed mid-send leaves one message whose fate is unknown (sent again, with its
Message-ID, after its lease) and the rest of its batch leased, never tried, sent once
the lease runs out. Asked to stop, it finishes and records the message in hand and gives
the rest of the batch back at once.
"""

import contextlib
import logging
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import Connection, select
from sqlalchemy.exc import DBAPIError

from ..clock import utcnow
from ..db import db
from ..models import OutboxStatus, User
from . import outbox
from .transport import DeliveryError, Envelope, Transport, envelope_sender, from_config

log = logging.getLogger(__name__)
# First wait before recording a delivered message again when the database is away.
RECORD_RETRY_SECONDS = 0.25
# Rows claimed in one transaction. A stop request still waits for one message only; a
# sender that dies leaves the untried rest leased, to be sent once the lease runs out.
CLAIM_BATCH = 100
# How long a sender waits for a running sweep's next batch before it looks again.
SWEEP_WAIT_SECONDS = 0.5


class Sweeps:
    """Digest sweeps storing into the outbox in this process, for the sender to keep pace.

    A sweep stores its digests a batch at a time. A sender that finds nothing due while a
    sweep is still running waits for the next batch (`SWEEP_WAIT_SECONDS` at most, then
    looks again) instead of returning until its next tick: the digests go out as they are
    stored. The worker runs both jobs in one process; a sender with no sweep beside it
    returns as soon as nothing is due.
    """

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._running = 0
        self._stored = 0

    @contextlib.contextmanager
    def sweeping(self) -> Iterator[None]:
        with self._changed:
            self._running += 1
        try:
            yield
        finally:
            with self._changed:
                self._running -= 1
                self._changed.notify_all()

    def stored(self) -> None:
        """A batch of digests was committed to the outbox."""
        with self._changed:
            self._stored += 1
            self._changed.notify_all()

    def batches(self) -> int:
        """How many batches have been stored so far: read before claiming."""
        with self._changed:
            return self._stored

    def wait_for_more(self, seen: int) -> bool:
        """After a claim found nothing, made when `batches()` was `seen`: wait for another
        batch. False when no sweep is running and nothing was stored since."""
        with self._changed:
            self._changed.wait_for(
                lambda: self._stored != seen or not self._running, SWEEP_WAIT_SECONDS
            )
            return self._stored != seen or self._running > 0


SWEEPS = Sweeps()


@dataclass
class DispatchReport:
    """What one pass did, counted by outcome."""

    counts: dict[str, int] = field(default_factory=dict)

    def add(self, outcome: str) -> None:
        self.counts[outcome] = self.counts.get(outcome, 0) + 1

    def __str__(self) -> str:
        if not self.counts:
            return "nothing to send"
        return ", ".join(f"{count} {outcome}" for outcome, count in sorted(self.counts.items()))


def _unwanted(
    claimed: outbox.Claim, settings: dict[int, tuple[bool, str]], now: datetime
) -> tuple[OutboxStatus, str] | None:
    """Why a claimed digest must not go out any more, judged when claimed, not when queued.

    `settings` holds each user's (digest on, time zone), read with the claim."""
    if claimed.kind != "digest":
        return None
    enabled, zone = settings.get(claimed.user_id, (False, "UTC"))
    if not enabled:
        return OutboxStatus.CANCELLED, "The daily digest was turned off before it was sent."
    today = now.astimezone(ZoneInfo(zone)).date()
    if claimed.local_date is not None and claimed.local_date < today:
        return OutboxStatus.EXPIRED, "Not sent that day; the next digest lists its items."
    return None


def claim_batch(
    connection: Connection, now: datetime, size: int, report: "DispatchReport"
) -> tuple[int, list[outbox.Claim]]:
    """Claim up to `size` due rows in one transaction, and in it cancel or expire those no
    longer wanted; returns how many were claimed, and those to send."""
    with connection.begin():
        claimed = outbox.claim(now, size, on=connection)
        user_ids = {c.user_id for c in claimed if c.kind == "digest"}
        settings = {}
        if user_ids:
            query = select(User.id, User.digest_enabled, User.timezone).where(User.id.in_(user_ids))
            settings = {
                row.id: (row.digest_enabled, row.timezone) for row in connection.execute(query)
            }
        to_send = []
        for row in claimed:
            unwanted = _unwanted(row, settings, now)
            if unwanted is None:
                to_send.append(row)
                continue
            status, reason = unwanted
            finish = outbox.cancel if status is OutboxStatus.CANCELLED else outbox.expire
            finish(row, reason, on=connection)
            report.add(status.value)
    return len(claimed), to_send


class Recorder:
    """Records each delivery in a thread of its own, one at a time, so the next message
    is already on its way while the last one's record is written (on PostgreSQL, a
    commit waits for the disk). The next message is completed (the transport's
    before_delivery, just before SMTP's final dot) only once that record is written: at
    most one message is ever delivered and not yet recorded, as when each is recorded
    before the next is begun. `connection` is in autocommit mode: marking a message sent
    is a single UPDATE, one round trip.
    """

    def __init__(self, connection: Connection, lease_seconds: float) -> None:
        self._connection = connection
        self._lease = lease_seconds
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="keepwarm-recorder")
        self._pending: Future | None = None

    def wait(self) -> None:
        """Until the last delivery is recorded; raises if recording it failed for good."""
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def record(self, claimed: outbox.Claim, sent_at: datetime) -> None:
        self.wait()
        self._pending = self._thread.submit(
            _record_sent, claimed, self._connection, sent_at, self._lease
        )

    def close(self) -> None:
        try:
            self.wait()
        finally:
            self._thread.shutdown(wait=True)


def send_one(
    claimed: outbox.Claim,
    transport: Transport,
    connection: Connection,
    sender: str,
    recorder: Recorder,
) -> str:
    """Deliver one claimed row from the envelope `sender` and record the outcome (a
    delivery through `recorder`); returns the outcome's name."""
    envelope = Envelope(
        sender=sender,
        recipient=claimed.recipient,
        outbox_id=claimed.id,
        created_at=claimed.created_at,
    )
    try:
        transport.send(claimed.message.encode("utf-8"), envelope, recorder.wait)
    except DeliveryError as error:
        with connection.begin():
            status = outbox.record_failure(
                claimed, str(error), error.temporary, utcnow(), on=connection
            )
        log.warning("outbox %s attempt %s: %s", claimed.id, claimed.attempts, error)
        return "retrying" if status is OutboxStatus.PENDING else "failed"
    recorder.record(claimed, utcnow())
    return "sent"


def _record_sent(
    claimed: outbox.Claim, connection: Connection, sent_at: datetime, lease_seconds: float
) -> None:
    """Mark the row sent, retrying while the database is away: the message is delivered.

    Given up, the row would be sent again once its lease ran out; so the recording is
    retried for as long as the lease still holds it. A failed transaction is rolled back
    as it ends, and the connection, if it was lost, is opened again at the next attempt.
    """
    deadline = time.monotonic() + lease_seconds / 2
    wait = RECORD_RETRY_SECONDS
    while True:
        try:
            with connection.begin():
                if not outbox.mark_sent(claimed, sent_at, on=connection):
                    # Our lease ran out and another sender took the row: theirs to record.
                    log.warning("outbox %s was sent after its lease ran out", claimed.id)
                return
        except DBAPIError:
            if time.monotonic() + wait > deadline:
                raise
            log.warning("outbox %s was sent; recording it waits for the database", claimed.id)
            time.sleep(wait)
            wait = min(wait * 2, 5.0)


def _give_back(claims: Sequence[outbox.Claim], connection: Connection) -> None:
    """Return claimed rows that were never tried; if the database is away, their lease
    runs out instead and reap_leases returns them."""
    try:
        with connection.begin():
            outbox.release(claims, on=connection)
    except DBAPIError:
        log.warning("could not give back %s claimed email(s); their lease will", len(claims))


def dispatch(
    now: datetime | None = None,
    stop: threading.Event | None = None,
    transport: Transport | None = None,
    limit: int | None = None,
) -> DispatchReport:
    """Send due rows until none is due (nor being stored by a sweep in this process, see
    Sweeps), `limit` rows are handled or `stop` is set.

    CLAIM_BATCH rows per claim; one SMTP connection and two database connections for the
    pass (no pool checkout, so no pre-ping, per message): one claims in transactions, the
    other records each delivery as it happens. A batch is given back when
    half its lease is used, so no row is sent after another sender could take it.
    """
    transport = transport or from_config(current_app.config, current_app.instance_path)
    lease = current_app.config["OUTBOX_LEASE_SECONDS"]
    sender = envelope_sender(current_app.config["MAIL_FROM"])
    report = DispatchReport()
    handled = 0

    def stopping() -> bool:
        return stop is not None and stop.is_set()

    keep = getattr(transport, "kept_open", contextlib.nullcontext)
    with (
        keep(),
        db.engine.connect() as connection,
        db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as recording,
        contextlib.closing(Recorder(recording, lease)) as recorder,
    ):
        while not stopping() and (limit is None or handled < limit):
            moment = now or utcnow()
            size = CLAIM_BATCH if limit is None else min(CLAIM_BATCH, limit - handled)
            seen = SWEEPS.batches()
            count, to_send = claim_batch(connection, moment, size, report)
            if not count:
                if limit is None and SWEEPS.wait_for_more(seen):
                    continue
                break
            handled += count
            claimed_at = time.monotonic()
            in_hand = 0
            try:
                for claimed in to_send:
                    # The first of a batch always goes: its lease has only just begun.
                    late = in_hand and time.monotonic() - claimed_at > lease / 2
                    if stopping() or late:
                        break
                    in_hand += 1
                    report.add(send_one(claimed, transport, connection, sender, recorder))
            finally:
                if in_hand < len(to_send):
                    _give_back(to_send[in_hand:], connection)
    return report
