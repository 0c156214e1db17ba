"""Blueprints, one per area of pages, and the helpers every view shares."""

from typing import TypeVar
from urllib.parse import urlsplit

from flask import Flask, abort
from flask_login import current_user
from sqlalchemy.sql.base import ExecutableOption

from ..db import db
from ..security import log_denied

T = TypeVar("T")
MAX_ID = 2**31 - 1  # the largest INTEGER id on PostgreSQL


def owned_or_404(model: type[T], ident: int, *options: ExecutableOption) -> T:
    """The row with that id if it belongs to the logged-in user; 404 otherwise, never 403.

    `options` load what the page reads with it (`db.selectinload(...)`), in the same go.
    """
    if not 0 < ident <= MAX_ID:
        abort(404)  # the URL converter takes any digits; the database driver would raise
    row = db.session.get(model, ident, options=options)
    if row is None or row.user_id != current_user.id:
        if row is not None:
            log_denied(f"another user's {model.__name__.lower()}")
        abort(404)
    return row


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
        organisations,
        settings,
        transfer,
    )

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
