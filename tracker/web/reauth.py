"""Asking for the password again before a change to how the account logs in (or its end),
and the answers every throttled form gives.

The check runs under the same throttle as a login, so a stolen session cannot guess the
password here any faster than at the login form.
"""

import logging

from flask import render_template, request
from flask.typing import ResponseReturnValue
from flask_login import current_user
from wtforms import Field

from .. import accounts
from ..db import db

log = logging.getLogger("keepwarm.auth")


def wait_message(seconds: int) -> str:
    return f"Too many failed attempts. Try again in {seconds} second{'s' if seconds > 1 else ''}."


def too_many_attempts(retry_after: int, what: str) -> ResponseReturnValue:
    """The address has failed too often: no form, just when to come back."""
    page = render_template(
        "error.html",
        title="Too many attempts",
        message=f"{what} from your network. Wait a few minutes and try again.",
    )
    return page, 429, {"Retry-After": str(retry_after)}


def refused(field: Field, action: str) -> tuple[int, dict[str, str]] | None:
    """None when `field` holds the user's password; otherwise the status and headers to
    answer with, and the reason added to the field's errors. Failures are committed."""
    user = current_user.record()
    address = request.remote_addr or "unknown"
    throttle = accounts.login_throttle(user.email, address)
    if not throttle.allowed:
        log.warning("%s throttled for user %s", action, user.id)
        field.errors.append(wait_message(throttle.retry_after))
        return 429, {"Retry-After": str(throttle.retry_after)}
    if not accounts.check_password(user, field.data):
        accounts.record_login_failure(user.email, address)
        db.session.commit()
        log.warning("%s with a wrong password for user %s", action, user.id)
        field.errors.append("That is not your current password.")
        return 400, {}
    accounts.record_login_success(user.email)
    return None
