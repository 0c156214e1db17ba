"""A large digest sweep composes in a process of its own, so sending keeps pace.

Composing digests (templates, the calendar, MIME) is Python that computes. In the
worker's own process it would hold the interpreter lock that the sender needs after every
SMTP reply, so the sender would wait on the sweep and the two would take as long as one
after the other. A sweep of many users therefore composes and stores its batches in a
child process (started clean, the app built from the worker's settings) while the
worker's sender sends each batch as it is stored: two cores instead of one. The usual
minute-by-minute sweep of a few users stays in the worker's thread, since a child
process takes about a second to start.
"""

import multiprocessing
import pickle
import signal
from collections.abc import Callable, Mapping
from concurrent.futures import ProcessPoolExecutor
from datetime import date, datetime

from flask import Flask, current_app

# A sweep of at least this many users composes in a child process.
CHILD_FROM_USERS = 1_000

_app: Flask | None = None


def portable_settings(settings: Mapping) -> dict:
    """The settings a child process can be given. A running test clock cannot cross; the
    child starts its own from KEEPWARM_NOW, and every digest's time is passed to it."""
    found = {}
    for key, value in settings.items():
        try:
            pickle.dumps(value)
        except (pickle.PicklingError, TypeError, AttributeError):
            continue
        found[key] = value
    return found


def _start(settings: dict) -> None:
    """In the child: the app, once. Signals are the worker's to act on: it lets the batch
    in hand finish, so the child ignores them rather than die half-way through one."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    global _app
    from . import create_app

    _app = create_app(settings)


def _store(batch: list[int], due_on: dict[int, date], now: datetime) -> int:
    """In the child: one batch composed and stored, as the worker's thread would."""
    from . import jobs
    from .db import db

    assert _app is not None  # noqa: S101 - set by _start in this process
    with _app.app_context():
        try:
            return jobs.store_digests(batch, due_on, now)
        finally:
            db.session.remove()


def store_in_child(
    batches: list[list[int]],
    due_on: dict[int, date],
    now: datetime,
    stored: Callable[[], None],
) -> int:
    """Store the batches' digests in one child process, in order; how many were stored.
    `stored` is called here after each batch is committed."""
    context = multiprocessing.get_context("spawn")
    settings = portable_settings(current_app.config)
    total = 0
    with ProcessPoolExecutor(1, context, _start, (settings,)) as child:
        futures = [
            child.submit(_store, batch, {user: due_on[user] for user in batch}, now)
            for batch in batches
        ]
        for future in futures:
            count = future.result()
            total += count
            if count:
                stored()
    return total
