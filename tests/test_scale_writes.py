"""SQLite under contention: slow work reads without the write lock; writes stay short.

Every transaction outside a page view begins IMMEDIATE (it takes SQLite's one write lock
up front, so it never fails half-way with "database is locked"). Composing a digest takes
milliseconds, so the digest sweep composes in a deferred read transaction and takes the
lock only to store the result: page writes and the sender wait a moment at most.
"""

import threading
import time
from datetime import date

import pytest
from helpers import sqlite_begins, utc
from maildata import meet, outbox
from sqlalchemy import text

from tracker import jobs
from tracker.db import db, reading

T0 = utc(2026, 11, 21, 7, 0)  # 08:00 in Berlin
sqlite_only = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


@sqlite_only
def test_reading_begins_deferred_and_the_rest_immediate(app):
    def work() -> None:
        with reading():
            db.session.execute(text("SELECT 1"))
        db.session.commit()
        db.session.execute(text("SELECT 1"))
        db.session.commit()

    assert sqlite_begins(app, work) == ["BEGIN", "BEGIN IMMEDIATE"]


@sqlite_only
def test_the_sweep_composes_without_the_write_lock(app, make_user, make_interview):
    app.config["NOW"] = utc(2026, 11, 21, 6, 0)
    for name in ("Ann", "Bob"):
        user = make_user(f"{name.lower()}@example.com", timezone="Europe/Berlin")
        meet(make_interview, user, "Acme", f"{name} Contact", held_on=date(2026, 11, 20))
    app.config["NOW"] = T0
    seen = sqlite_begins(app, jobs.plan_digests)
    # The candidates, then per batch of users: read and compose (deferred), store (immediate).
    assert seen == ["BEGIN", "BEGIN", "BEGIN IMMEDIATE"]
    assert len(outbox(app)) == 2


@sqlite_only
def test_a_writer_holding_the_lock_does_not_stop_the_composing(
    app, make_user, make_interview, monkeypatch
):
    """While another connection writes, the sweep reads and composes; it waits only to
    store, and finishes as soon as the writer commits."""
    app.config["NOW"] = utc(2026, 11, 21, 6, 0)
    user = make_user("dana@example.com", timezone="Europe/Berlin")
    meet(make_interview, user, "Acme", "Lee Park", held_on=date(2026, 11, 20))
    app.config["NOW"] = T0
    composed = threading.Event()
    original = jobs.compose_digests

    def composing(*args):
        message = original(*args)
        composed.set()
        return message

    monkeypatch.setattr(jobs, "compose_digests", composing)
    with app.app_context():
        writer = db.engine.raw_connection()
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("UPDATE user SET digest_hour = digest_hour WHERE id = 0")
        done: list[int] = []
        sweep = threading.Thread(target=lambda: done.append(_plan(app)), daemon=True)
        sweep.start()
        assert composed.wait(10), "the sweep waited for the writer before composing"
        time.sleep(0.2)
        assert not done  # storing waits for the lock
        writer.commit()
        writer.close()
        sweep.join(10)
    assert done == [1]


def _plan(app) -> int:
    with app.app_context():
        return jobs.plan_digests()
