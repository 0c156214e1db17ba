"""Password reset by email: ask for a link, open it, choose a new password.

Nested in the auth blueprint, so its endpoints are `auth.reset.*`. The link's token is
taken out of the address bar at once (kept, hashed, in the session), so it is neither in
the browser's history nor sent on as a Referer.
"""

import logging

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue

from .. import accounts, reset
from ..db import db
from ..forms import ForgotPasswordForm, NewPasswordForm
from ..security import end_session, log_denied, loggable_email, one_line
from .reauth import too_many_attempts

bp = Blueprint("reset", __name__)
log = logging.getLogger("keepwarm.auth")
LINK = "reset_link"  # session key: the hash of the token from the link
SENT = (
    "If an account uses that address, an email with a link to choose a new password is on "
    "its way. The link works for 60 minutes."
)


@bp.route("/forgot-password", methods=["GET", "POST"])
def forgot() -> ResponseReturnValue:
    """The same answer whether the address has an account or not."""
    form = ForgotPasswordForm()
    if not form.validate_on_submit():
        page = render_template("auth/forgot.html", form=form)
        return page, 400 if form.is_submitted() else 200
    email, address = form.email.data, request.remote_addr or "unknown"
    throttle = accounts.login_throttle(email, address, scope="reset")
    if throttle.address_blocked:
        log.warning("password reset requests blocked for address %s", one_line(address))
        return too_many_attempts(throttle.retry_after, "Too many reset requests")
    # Every request counts, so one address cannot flood inboxes nor probe many accounts.
    accounts.record_login_failure(email, address, scope="reset")
    sent = throttle.allowed and reset.request_reset(email)
    db.session.commit()
    log.info(
        "password reset asked for %s from %s: %s",
        loggable_email(email),
        one_line(address),
        "link sent" if sent else "nothing sent",
    )
    flash(SENT, "info")
    return redirect(url_for("auth.login"))


def _invalid() -> ResponseReturnValue:
    log_denied("password reset link unknown, used or expired")
    return render_template("auth/reset_invalid.html"), 404


@bp.get("/reset/<token>")
def link(token: str) -> ResponseReturnValue:
    digest = reset.check_token(token)
    if digest is None:
        return _invalid()
    session[LINK] = digest
    return redirect(url_for(".choose"))


@bp.route("/reset-password", methods=["GET", "POST"])
def choose() -> ResponseReturnValue:
    digest = session.get(LINK)
    user = reset.find(digest) if isinstance(digest, str) else None
    if user is None:
        return _invalid()
    form = NewPasswordForm()
    if not form.validate_on_submit():
        page = render_template("auth/reset.html", form=form, email=user.email)
        return page, 400 if form.is_submitted() else 200
    reset.complete(digest, form.new_password.data)
    db.session.commit()
    end_session()
    log.info("password reset for user %s", user.id)
    flash("Your password is changed and every device is logged out. Log in with it.", "success")
    return redirect(url_for("auth.login"))
