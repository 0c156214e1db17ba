"""Counts shown on every page, kept in the web process until the user's data changes.

The navigation's due badge and a list's number of pages each cost a query on every
request, yet they change only when the user's follow-ups, contacts or organisations do.
Every such change moves the user's `feed_version` in its own transaction
(tracker/feed_changes.py), so a count kept under the version (and, for what is due, the
local date) is never stale: a change makes a new key. Each app keeps its own, bounded;
losing them costs one query each.
"""

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable

from flask import Flask, current_app

# Counts kept per process, the least recently used dropped first.
LIMIT = 10_000


class Counts:
    def __init__(self, limit: int = LIMIT) -> None:
        self._kept: OrderedDict[Hashable, int] = OrderedDict()
        self._limit = limit
        self._lock = threading.Lock()

    def get(self, key: Hashable, count: Callable[[], int]) -> int:
        """The count kept under `key`, or `count()` kept from now on."""
        with self._lock:
            if key in self._kept:
                self._kept.move_to_end(key)
                return self._kept[key]
        value = count()
        with self._lock:
            self._kept[key] = value
            if len(self._kept) > self._limit:
                self._kept.popitem(last=False)
        return value


def init_app(app: Flask) -> None:
    app.extensions["keepwarm.counts"] = Counts()


def kept(key: Hashable, count: Callable[[], int]) -> int:
    """`count()`, or what it gave before under `key` in this app: the key must name
    everything the count depends on (a user's feed_version, a date)."""
    return current_app.extensions["keepwarm.counts"].get(key, count)
