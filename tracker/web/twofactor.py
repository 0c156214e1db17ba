"""Two-factor login: the second login step, and turning it on and off (password asked).

Nested in the auth blueprint, so its endpoints are `auth.twofactor.*`.
"""

import logging

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from .. import accounts, twofactor
from ..db import db
from ..forms import ConfirmForm, PasswordCheckForm, SecondStepForm, TwoFactorSetupForm
from ..security import end_session, log_denied, one_line, second_step, start_session
from .reauth import refused, too_many_attempts, wait_message

bp = Blueprint("twofactor", __name__)
log = logging.getLogger("keepwarm.auth")
LOST = "Codes from your app cannot be checked at the moment. Enter one of your recovery codes."


@bp.route("/login/code", methods=["GET", "POST"])
def login_code() -> ResponseReturnValue:
    """The second step: the password was right; nobody is logged in until a code is."""
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    pending = second_step()
    if pending is None:
        end_session()
        flash("Please log in again: the sign-in took too long.", "info")
        return redirect(url_for("auth.login"))
    user, next_url = pending
    form = SecondStepForm()
    lost = twofactor.app_codes_lost(user)
    if lost:
        log.warning("two-factor secret of user %s does not open with SECRET_KEY", user.id)
    if not form.validate_on_submit():
        page = render_template("auth/login_code.html", form=form, app_codes_lost=lost)
        return page, 400 if form.is_submitted() else 200
    address = request.remote_addr or "unknown"
    throttle = accounts.login_throttle(user.email, address, scope="2fa")
    if throttle.address_blocked:
        log.warning("login code blocked for address %s", one_line(address))
        return too_many_attempts(throttle.retry_after, "Too many wrong codes")
    if not throttle.allowed:
        log.warning("login code throttled for user %s from %s", user.id, one_line(address))
        form.code.errors.append(wait_message(throttle.retry_after))
        page = render_template("auth/login_code.html", form=form, app_codes_lost=lost)
        return page, 429, {"Retry-After": str(throttle.retry_after)}
    used = twofactor.second_factor(user, form.code.data)
    if used is None:
        accounts.record_login_failure(user.email, address, scope="2fa")
        db.session.commit()
        log.warning("login code wrong for user %s from %s", user.id, one_line(address))
        form.code.errors.append(LOST if lost else "That code is not right, or was used already.")
        return render_template("auth/login_code.html", form=form, app_codes_lost=lost), 401
    accounts.record_login_success(user.email, scope="2fa")
    db.session.commit()
    start_session(user)
    log.info("login succeeded for user %s (code from %s)", user.id, used)
    if used == "recovery":
        left = twofactor.recovery_codes_left(user)
        flash(f"You used a recovery code; {left} left. Make new ones on the Account page.", "info")
    return redirect(next_url or url_for("home.index"))


def _page(status: int = 200, headers: dict | None = None, **forms) -> ResponseReturnValue:
    user = current_user.record()
    context = {
        "user": user,
        "start": ConfirmForm(),
        "setup": forms.get("setup") or TwoFactorSetupForm(prefix="setup"),
        "disable": forms.get("disable") or PasswordCheckForm(prefix="disable"),
        "renew": forms.get("renew") or PasswordCheckForm(prefix="renew"),
        "codes_left": twofactor.recovery_codes_left(user) if user.totp_enabled else 0,
        "app_codes_lost": twofactor.app_codes_lost(user),
        "qr": None,
    }
    secret = twofactor.secret(user)
    if secret and not user.totp_enabled:
        uri = twofactor.setup_uri(user)
        context |= {"qr": twofactor.qr_code(uri), "secret": secret}
    return render_template("auth/two_factor.html", **context), status, headers or {}


@bp.get("/account/two-factor")
@login_required
def settings() -> ResponseReturnValue:
    return _page()


@bp.post("/account/two-factor/start")
@login_required
def start() -> ResponseReturnValue:
    """A new secret to scan; two-factor login is not on until a code confirms it."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if current_user.totp_enabled:
        log_denied("two-factor setup restarted while on")
        return redirect(url_for(".settings"))
    twofactor.start_setup(current_user.record())
    db.session.commit()
    return redirect(url_for(".settings"))


@bp.post("/account/two-factor/enable")
@login_required
def enable() -> ResponseReturnValue:
    """The password and a code from the app turn it on; the recovery codes are shown once."""
    user = current_user.record()
    setup = TwoFactorSetupForm(prefix="setup")
    if user.totp_enabled or twofactor.secret(user) is None:
        return redirect(url_for(".settings"))
    if not setup.validate_on_submit():
        return _page(400, setup=setup)
    problem = refused(setup.password, "two-factor enable")
    if problem:
        return _page(*problem, setup=setup)
    if not twofactor.verify_code(user, setup.code.data):
        setup.code.errors.append("That code is not right. Check the app and try again.")
        return _page(400, setup=setup)
    codes = twofactor.enable(user)
    db.session.commit()
    log.info("two-factor login turned on for user %s", user.id)
    return render_template("auth/recovery_codes.html", codes=codes, first=True)


@bp.post("/account/two-factor/disable")
@login_required
def disable() -> ResponseReturnValue:
    disable = PasswordCheckForm(prefix="disable")
    if not disable.validate_on_submit():
        return _page(400, disable=disable)
    problem = refused(disable.password, "two-factor disable")
    if problem:
        return _page(*problem, disable=disable)
    twofactor.disable(current_user.record())
    db.session.commit()
    log.info("two-factor login turned off for user %s", current_user.id)
    flash("Two-factor login is off. Logging in takes your password alone.", "success")
    return redirect(url_for(".settings"))


@bp.post("/account/two-factor/recovery-codes")
@login_required
def renew() -> ResponseReturnValue:
    """New recovery codes (the password asked); the old ones stop working."""
    renew = PasswordCheckForm(prefix="renew")
    if not current_user.totp_enabled:
        return redirect(url_for(".settings"))
    if not renew.validate_on_submit():
        return _page(400, renew=renew)
    problem = refused(renew.password, "recovery codes renewal")
    if problem:
        return _page(*problem, renew=renew)
    codes = twofactor.new_recovery_codes(current_user.record())
    db.session.commit()
    log.info("recovery codes renewed for user %s", current_user.id)
    return render_template("auth/recovery_codes.html", codes=codes, first=False)
