"""Whole pages kept per user while nothing they show has changed.

The home page, the contact list (its searches too), the organisations and an
organisation's page are the pages opened most, and each costs several queries and a full
rendering. What one shows depends only on:

- the user's row: every column, among them the time zone, the playbook and
  `feed_version`, which moves in the same transaction as any change to the rows these
  pages read (tracker/feed_changes.py);
- the user's local date (sections, "tomorrow", "3 days overdue");
- the session's CSRF token (the forms on each follow-up);
- the URL, its query included.

A page made under exactly those is kept (tracker/latest.py), one per user, session and
URL (a phone and a laptop each keep theirs), and sent again while they hold: each request
still reads the user, so a change made in any process, on any machine, makes every
process's copy miss. A page is neither sent from nor kept while the
session holds flash messages (the page shows them once), and only a 200 is kept.
"""

from collections.abc import Callable
from functools import wraps
from typing import NamedTuple

from flask import Flask, Response, current_app, request, session
from flask_login import current_user

from ..clock import local_today
from ..latest import LatestCache
from ..security import csrf_token

CACHE = "keepwarm.kept_pages"
# Pages of 10 to 130 KiB: a hundred or more per process, the least recently used dropped.
CACHE_BYTES = 16 * 1024 * 1024
FLASHES = "_flashes"


class Kept(NamedTuple):
    body: bytes
    headers: list[tuple[str, str]]


def kept_page(view: Callable[..., object]) -> Callable[..., Response]:
    """Serve the view's page from the cache while the user, date, session and URL hold."""

    @wraps(view)
    def wrapper(**arguments: object) -> Response:
        app = current_app
        if not current_user.is_authenticated or FLASHES in session:
            return app.make_response(view(**arguments))
        user = current_user._get_current_object()
        cache: LatestCache[Kept] = app.extensions[CACHE]
        slot = (user.id, csrf_token(), request.url)
        key = (user.columns, local_today(user.timezone))
        kept = cache.get(slot, key)
        if kept is not None:
            return app.response_class(kept.body, headers=kept.headers)
        response = app.make_response(view(**arguments))
        if response.status_code == 200 and not response.is_streamed and FLASHES not in session:
            cache.put(slot, key, Kept(response.get_data(), list(response.headers)))
        return response

    wrapper.kept_whole = True  # type: ignore[attr-defined]  # for the tests to find
    return wrapper


def init_app(app: Flask) -> None:
    app.extensions[CACHE] = LatestCache(
        app.config.get("PAGE_CACHE_BYTES", CACHE_BYTES), weight=lambda kept: len(kept.body)
    )
