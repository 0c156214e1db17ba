"""Counts shown on every page, kept in the web process until the user's data changes.

The navigation's due badge and a list's number of pages each cost a query on every
request, yet they change only when the user's follow-ups, contacts or organisations do.
Every such change moves the user's `feed_version` in its own transaction
(tracker/feed_changes.py), so a count kept under the version (and, for what is due, the
local date) is never stale: a change makes a new key, and the count made then replaces
the old one (tracker/latest.py). Losing them costs one query each.
"""

from collections.abc import Callable, Hashable

from flask import Flask, current_app

from .latest import LatestCache

# Counts kept per process, the least recently used dropped first.
LIMIT = 10_000


class Counts(LatestCache[int]):
    def __init__(self, limit: int = LIMIT) -> None:
        super().__init__(limit)


def init_app(app: Flask) -> None:
    app.extensions["keepwarm.counts"] = Counts()


def kept(slot: Hashable, key: Hashable, count: Callable[[], int]) -> int:
    """`count()`, or what it gave before in `slot` (a user's badge, a user's list) under
    `key` in this app: the key must name everything the count depends on (the user's
    feed_version, a date)."""
    return current_app.extensions["keepwarm.counts"].kept(slot, key, count)
