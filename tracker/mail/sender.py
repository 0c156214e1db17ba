"""Sending what the outbox holds: claim one row, re-check it is still wanted, send, record.

No database transaction is open while a message is on the wire, so a slow mail server
never holds SQLite's write lock, and a sender killed mid-send leaves only a lease behind.
"""

import contextlib
import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy.exc import DBAPIError

from ..clock import utcnow
from ..db import db
from ..models import OutboxStatus, User
from . import outbox
from .transport import DeliveryError, Envelope, Transport, envelope_sender, from_config

log = logging.getLogger(__name__)
# First wait before recording a delivered message again when the database is away.
RECORD_RETRY_SECONDS = 0.25


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


def _unwanted(claimed: outbox.Claim, now: datetime) -> tuple[OutboxStatus, str] | None:
    """Why a claimed digest must not go out any more, judged now rather than when queued."""
    if claimed.kind != "digest":
        return None
    user = db.session.get(User, claimed.user_id)
    if user is None or not user.digest_enabled:
        return OutboxStatus.CANCELLED, "The daily digest was turned off before it was sent."
    today = now.astimezone(ZoneInfo(user.timezone)).date()
    if claimed.local_date is not None and claimed.local_date < today:
        return OutboxStatus.EXPIRED, "Not sent that day; the next digest lists its items."
    return None


def send_one(claimed: outbox.Claim, transport: Transport, now: datetime) -> str:
    """Deliver one claimed row and record the outcome; returns the outcome's name."""
    unwanted = _unwanted(claimed, now)
    if unwanted is not None:
        status, reason = unwanted
        (outbox.cancel if status is OutboxStatus.CANCELLED else outbox.expire)(claimed, reason)
        db.session.commit()
        return status.value
    # The claim and the check are committed before the network is touched.
    db.session.commit()
    envelope = Envelope(
        sender=envelope_sender(current_app.config["MAIL_FROM"]),
        recipient=claimed.recipient,
        outbox_id=claimed.id,
        created_at=claimed.created_at,
    )
    try:
        transport.send(claimed.message.encode("utf-8"), envelope)
    except DeliveryError as error:
        status = outbox.record_failure(claimed, str(error), error.temporary, utcnow())
        db.session.commit()
        log.warning("outbox %s attempt %s: %s", claimed.id, claimed.attempts, error)
        return "retrying" if status is OutboxStatus.PENDING else "failed"
    if not _record_sent(claimed):
        # Our lease ran out and another sender took the row: it is theirs to record.
        log.warning("outbox %s was sent after its lease ran out", claimed.id)
    return "sent"


def _record_sent(claimed: outbox.Claim) -> bool:
    """Mark the row sent, retrying while the database is away: the message is delivered.

    Given up, the row would be sent again once its lease ran out; so the recording is
    retried (a fresh connection each time) for as long as the lease still holds it.
    """
    lease = current_app.config["OUTBOX_LEASE_SECONDS"]
    deadline = time.monotonic() + lease / 2
    wait = RECORD_RETRY_SECONDS
    while True:
        try:
            marked = outbox.mark_sent(claimed, utcnow())
            db.session.commit()
            return marked
        except DBAPIError:
            db.session.rollback()
            if time.monotonic() + wait > deadline:
                raise
            log.warning("outbox %s was sent; recording it waits for the database", claimed.id)
            time.sleep(wait)
            wait = min(wait * 2, 5.0)


def dispatch(
    now: datetime | None = None,
    stop: threading.Event | None = None,
    transport: Transport | None = None,
    limit: int | None = None,
) -> DispatchReport:
    """Send due rows one at a time until none is due, `limit` is reached or `stop` is set.

    One row per claim: a stop request waits for at most one message, and a crash can
    leave at most one message whose fate is unknown (re-sent with its Message-ID).
    """
    transport = transport or from_config(current_app.config, current_app.instance_path)
    report = DispatchReport()
    handled = 0
    # One SMTP connection for the whole pass, when the transport can keep one.
    keep = getattr(transport, "kept_open", contextlib.nullcontext)
    with keep():
        while not (stop is not None and stop.is_set()) and (limit is None or handled < limit):
            moment = now or utcnow()
            claimed = outbox.claim(moment)
            if not claimed:
                db.session.commit()
                break
            report.add(send_one(claimed[0], transport, moment))
            handled += 1
    return report
