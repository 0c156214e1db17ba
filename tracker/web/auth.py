"""Register, log in, log out, change password and time zone."""

import logging

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from .. import accounts
from ..db import db
from ..forms import ConfirmForm, LoginForm, PasswordChangeForm, ProfileForm, RegisterForm
from ..security import end_session, start_session
from . import safe_next

bp = Blueprint("auth", __name__)
log = logging.getLogger("keepwarm.auth")


def _clean(value: str) -> str:
    """A value safe to log on one line."""
    return value.replace("\r", "\\r").replace("\n", "\\n")[:254]


@bp.route("/register", methods=["GET", "POST"])
def register():
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    form = RegisterForm()
    if form.validate_on_submit():
        if accounts.find_user_by_email(form.email.data):
            form.email.errors.append("An account with this email already exists. Log in instead.")
        else:
            user = accounts.create_user(form.email.data, form.password.data, form.timezone.data)
            db.session.commit()
            start_session(user)
            flash("Welcome to Keepwarm. Log your first interview to get started.", "success")
            return redirect(url_for("home.index"))
    return render_template("auth/register.html", form=form), 400 if form.errors else 200


def _too_many_attempts(retry_after: int):
    """The address has failed too often: no form, just when to come back."""
    page = render_template(
        "error.html",
        title="Too many attempts",
        message="Too many failed logins from your network. Wait a few minutes and try again.",
    )
    return page, 429, {"Retry-After": str(retry_after)}


def _wait_message(seconds: int) -> str:
    return f"Too many failed attempts. Try again in {seconds} second{'s' if seconds > 1 else ''}."


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    form = LoginForm()
    if not form.validate_on_submit():
        return render_template("auth/login.html", form=form), 400 if form.is_submitted() else 200
    email, address = form.email.data, request.remote_addr or "unknown"
    throttle = accounts.login_throttle(email, address)
    if throttle.address_blocked:
        log.warning("login blocked for address %s", _clean(address))
        return _too_many_attempts(throttle.retry_after)
    if not throttle.allowed:
        log.warning("login throttled for %s from %s", _clean(email), _clean(address))
        form.password.errors.append(_wait_message(throttle.retry_after))
        page = render_template("auth/login.html", form=form)
        return page, 429, {"Retry-After": str(throttle.retry_after)}
    user = accounts.find_user_by_email(email)
    if accounts.check_password(user, form.password.data):
        accounts.record_login_success(email)
        db.session.commit()
        start_session(user)
        log.info("login succeeded for user %s", user.id)
        return redirect(safe_next(request.args.get("next"), url_for("home.index")))
    accounts.record_login_failure(email, address)
    db.session.commit()
    log.warning("login failed for %s from %s", _clean(email), _clean(address))
    form.password.errors.append("Email or password is not right.")
    return render_template("auth/login.html", form=form), 401


@bp.post("/logout")
@login_required
def logout():
    if not ConfirmForm().validate_on_submit():
        abort(400)
    accounts.end_sessions(current_user)
    db.session.commit()
    end_session()
    flash("You are logged out.", "success")
    return redirect(url_for("auth.login"))


@bp.get("/account")
@login_required
def account():
    return render_template(
        "auth/account.html",
        profile=ProfileForm(timezone=current_user.timezone),
        password=PasswordChangeForm(),
    )


@bp.post("/account/profile")
@login_required
def save_profile():
    profile = ProfileForm()
    if profile.validate_on_submit():
        current_user.timezone = profile.timezone.data
        db.session.commit()
        flash("Time zone saved.", "success")
        return redirect(url_for("auth.account"))
    return render_template("auth/account.html", profile=profile, password=PasswordChangeForm()), 400


@bp.post("/account/password")
@login_required
def change_password():
    """Needs the current password, checked under the same throttle as a login."""
    password = PasswordChangeForm()
    status, headers = 400, {}
    if password.validate_on_submit():
        user = current_user._get_current_object()
        address = request.remote_addr or "unknown"
        throttle = accounts.login_throttle(user.email, address)
        if not throttle.allowed:
            log.warning("password change throttled for user %s", user.id)
            password.current_password.errors.append(_wait_message(throttle.retry_after))
            status, headers = 429, {"Retry-After": str(throttle.retry_after)}
        elif not accounts.check_password(user, password.current_password.data):
            accounts.record_login_failure(user.email, address)
            db.session.commit()
            log.warning("password change with a wrong password for user %s", user.id)
            password.current_password.errors.append("That is not your current password.")
        else:
            accounts.change_password(user, password.new_password.data)
            accounts.record_login_success(user.email)
            db.session.commit()
            # Every other session is now dead; this one starts afresh.
            start_session(user)
            flash("Password changed. Other devices have been logged out.", "success")
            return redirect(url_for("auth.account"))
    profile = ProfileForm(timezone=current_user.timezone)
    page = render_template("auth/account.html", profile=profile, password=password)
    return page, status, headers
