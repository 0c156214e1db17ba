"""The follow-ups of a list, each rendered once while nothing it shows changes.

Home, organisation, contact and agenda pages list follow-ups with a form of actions each,
which was most of their rendering (two thirds of the home page's template time). A row's
template, templates/followups/_row.html, is a macro of its arguments only: what the row shows
(`Shown`, plain values worked out here) and what the page's rows share (`Page`: the
session's CSRF token, the page's path, the user's date). Its HTML is kept per follow-up
and page under exactly those arguments (tracker/latest.py), so a changed person, note,
due date or day, or another session, makes it again; an unchanged row is not rendered
twice. The HTML is the template's, autoescaped as every page is.
"""

from datetime import date
from typing import NamedTuple

from flask import Flask, current_app
from markupsafe import Markup

from ..agenda import Item
from ..dates import overdue_words
from ..forms import INTERACTION_LABELS
from ..latest import LatestCache
from . import link

CACHE = "keepwarm.followup_rows"
# Rows of about 3 KiB: a few thousand per process, far more than its users' pages show.
CACHE_BYTES = 8 * 1024 * 1024
TEMPLATE = "followups/_row.html"


class Page(NamedTuple):
    """What every follow-up row of a page shares."""

    token: str
    path: str
    day: date
    followups_url: str


class Shown(NamedTuple):
    """Everything a follow-up row shows, as plain values."""

    id: int
    open: bool
    status: str
    summary: str
    reason: str
    due: str
    due_class: str
    due_time: str
    role: str
    last_note: str
    mailto: str


def followup_page(token: str, path: str, day: date) -> Page:
    return Page(token, path, day, link("followups.index"))


def shown(item: Item, day: date) -> Shown:
    f = item.follow_up
    if f.due_on < day:
        due_class = "due-overdue"
    elif f.due_on == day:
        due_class = "due-today"
    else:
        due_class = ""
    return Shown(
        id=f.id,
        open=f.status.value == "open",
        status=f.status.value,
        summary=item.summary,
        reason=item.reason,
        due=overdue_words(f.due_on, day),
        due_class=due_class,
        due_time=f"{f.due_time:%H:%M}" if f.due_time else "",
        role=f.interview.role if f.interview else "",
        last_note=item.last_note,
        mailto=item.mailto or "",
    )


def followup_row(item: Item, page: Page, show_actions: bool = True) -> Markup:
    """The row's HTML, from the cache while its arguments are the same."""
    row = shown(item, page.day)
    cache: LatestCache[Markup] = current_app.extensions[CACHE]
    return cache.kept(
        (row.id, page.path, show_actions), (row, page), lambda: render(row, page, show_actions)
    )


def render(row: Shown, page: Page, show_actions: bool) -> Markup:
    macro = current_app.jinja_env.get_template(TEMPLATE).module.followup_row
    return macro(row, page, show_actions)


def init_app(app: Flask) -> None:
    app.extensions[CACHE] = LatestCache(CACHE_BYTES, weight=len)
    app.jinja_env.globals["followup_page"] = followup_page
    app.jinja_env.globals["followup_row"] = followup_row
    # A global, not a context processor's value: the row macro sees only globals.
    app.jinja_env.globals["interaction_labels"] = INTERACTION_LABELS
