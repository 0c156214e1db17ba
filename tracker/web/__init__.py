"""Blueprints, one per area of pages, and the helpers every view shares."""

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from functools import cache
from typing import TypeVar
from urllib.parse import urlsplit

from flask import Flask, abort, current_app, request, url_for
from flask_login import current_user
from sqlalchemy import Select, bindparam, func, inspect
from sqlalchemy.sql.base import ExecutableOption

from .. import counts
from ..db import count_value, db
from ..security import log_denied

T = TypeVar("T")
MAX_ID = 2**31 - 1  # the largest INTEGER id on PostgreSQL


def owned_or_404(model: type[T], ident: int, *options: ExecutableOption) -> T:
    """The row with that id if it belongs to the logged-in user; 404 otherwise, never 403.

    `options` load what the page reads with it (`db.selectinload(...)`), in the same go.
    """
    if not 0 < ident <= MAX_ID:
        abort(404)  # the URL converter takes any digits; the database driver would raise
    statement = _by_id(model)
    if options:
        statement = statement.options(*options)
    row = db.session.execute(statement, {"ident": ident}).scalar_one_or_none()
    if row is None or row.user_id != current_user.id:
        if row is not None:
            log_denied(f"another user's {model.__name__.lower()}")
        abort(404)
    return row


@cache
def _by_id(model: type[T]) -> Select:
    """The statement for one row of `model` by id, built once: Session.get builds one and
    its cache key on every call, which cost as much as running it."""
    return db.select(model).where(inspect(model).primary_key[0] == bindparam("ident"))


def row_links(endpoint: str) -> Callable[[int], str]:
    """The URL of `endpoint` for any id, from one url_for call: a list links each of its
    rows by id without building every URL (url_for costs about 10 µs a call, and a page
    can link a hundred rows). The endpoint's rule takes exactly one argument, an integer.
    """
    [argument] = next(current_app.url_map.iter_rules(endpoint)).arguments
    before, after = url_for(endpoint, **{argument: MAX_ID}).split(str(MAX_ID))
    return lambda ident: f"{before}{int(ident)}{after}"


# Paths of links without arguments, below the script root: see link().
_PATHS: dict[tuple, str] = {}


def link(endpoint: str, **values: str) -> str:
    """url_for for a link that every page shows (the layout has thirteen), each path built
    once: a url_for call costs about 10 µs. The script root is the request's, as url_for's."""
    key = (endpoint, *sorted(values.items()))
    path = _PATHS.get(key)
    if path is None:
        path = _PATHS[key] = url_for(endpoint, **values).removeprefix(request.script_root)
    return request.script_root + path


def safe_next(target: str | None, default: str) -> str:
    """A redirect target only if it stays on this site (no `//host` or `https://host`)."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    if "\\" in target:
        return default
    return target


def page_number(value: str | None) -> int:
    """The page requested, clamped to 1 for anything odd."""
    return int(value) if value and value.isdigit() and 0 < int(value) < 10**6 else 1


# Lists count their rows up to this many: beyond, "more than 1,000" is all anyone needs,
# and counting 100,000 rows on every page view would cost more than showing the page.
COUNT_CAP = 1000


@dataclass(frozen=True)
class Page:
    """One page of a list, whether there is a next one, and the total when it was counted.

    `total` is None when the list is longer than what was counted; `known` is then how
    many rows are certain to exist ("more than {known}").
    """

    items: list
    page: int
    per_page: int
    has_next: bool
    total: int | None
    known: int

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def prev_num(self) -> int:
        return self.page - 1

    @property
    def next_num(self) -> int:
        return self.page + 1

    @property
    def pages(self) -> int | None:
        return None if self.total is None else max(1, -(-self.total // self.per_page))


def paginate(
    query: Select | Callable[[], Select],
    page: int,
    per_page: int,
    count_up_to: int = COUNT_CAP,
    count_kept: tuple[Hashable, Hashable] | None = None,
    read: Callable[[int, int], list] | None = None,
) -> Page:
    """A page of `query` (one row more tells whether a next page exists) and a capped count.

    Neither grows with the table: the count reads at most `count_up_to` + 1 rows, and is
    skipped when the page shows where the list ends (or `count_up_to` is 0: searches,
    whose count would have to test every row). With `count_kept`, a slot and a key naming
    what the count depends on (tracker/counts.py), it is kept for the next page views.
    With `read(limit, offset)`, a statement prepared for the list reads the page's rows
    instead of `query`, which is then only counted: it may be a function building it,
    called only when the count is not kept (building it cost a tenth of a short page).
    """
    offset = (page - 1) * per_page
    if read is not None:
        rows = read(per_page + 1, offset)
    else:
        result = db.session.execute(
            query.limit(count_value(per_page + 1)).offset(count_value(offset))
        )
        # A query of one model gives its objects; a query of columns gives rows.
        rows = result.scalars().all() if len(query.column_descriptions) == 1 else result.all()
    items, has_next = list(rows[:per_page]), len(rows) > per_page
    if not has_next and (items or page == 1):
        return Page(items, page, per_page, False, offset + len(items), offset + len(items))
    if not count_up_to:
        known = offset + len(items)
        return Page(items, page, per_page, has_next, None, known)

    def count() -> int:
        listed = query() if callable(query) else query
        # Only the key is read, so an index that covers the filter answers the count.
        key = inspect(listed.column_descriptions[0]["entity"]).primary_key[0]
        capped = listed.with_only_columns(key).order_by(None).limit(count_value(count_up_to + 1))
        return db.session.execute(
            db.select(func.count()).select_from(capped.subquery())
        ).scalar_one()

    counted = count() if count_kept is None else counts.kept(*count_kept, count)
    total = counted if counted <= count_up_to else None
    return Page(items, page, per_page, has_next, total, min(counted, count_up_to))


def register_blueprints(app: Flask) -> None:
    from . import (
        auth,
        contacts,
        delivery,
        email_actions,
        feed,
        followups,
        health,
        home,
        interviews,
        kept_pages,
        organisations,
        settings,
        transfer,
    )

    kept_pages.init_app(app)
    for module in (
        health,
        auth,
        home,
        interviews,
        organisations,
        contacts,
        followups,
        settings,
        delivery,
        email_actions,
        feed,
        transfer,
    ):
        app.register_blueprint(module.bp)
