"""The latest value per slot (a user's feed, a user's count), kept while its key holds.

A slot keeps one value, made under a key that names everything it depends on (a user's
`feed_version`, a date, a time zone). Looked up under another key it misses, and the
value made then replaces the old one, so nothing stale piles up. Once the values weigh
more than the limit, the least recently used slots are dropped. Thread-safe; one per app.
"""

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class LatestCache(Generic[V]):
    def __init__(self, limit: int, weight: Callable[[V], int] = lambda _value: 1) -> None:
        self.limit = limit
        self.weight = weight
        self.size = 0
        self.entries: OrderedDict[Hashable, tuple[Hashable, V]] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, slot: Hashable, key: Hashable) -> V | None:
        with self.lock:
            entry = self.entries.get(slot)
            if entry is None or entry[0] != key:
                return None
            self.entries.move_to_end(slot)
            return entry[1]

    def put(self, slot: Hashable, key: Hashable, value: V) -> None:
        with self.lock:
            old = self.entries.pop(slot, None)
            if old is not None:
                self.size -= self.weight(old[1])
            if self.weight(value) > self.limit:
                return
            self.entries[slot] = (key, value)
            self.size += self.weight(value)
            while self.size > self.limit:
                _, (_, dropped) = self.entries.popitem(last=False)
                self.size -= self.weight(dropped)

    def kept(self, slot: Hashable, key: Hashable, make: Callable[[], V]) -> V:
        """The value kept in `slot` under `key`, or `make()`, kept from now on."""
        value = self.get(slot, key)
        if value is None:
            value = make()
            self.put(slot, key, value)
        return value
