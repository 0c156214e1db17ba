"""Register, log in (with the second step when two-factor login is on), log out, change
password and time zone, delete the account. Two-factor setup and password reset are
blueprints of their own, nested here (endpoints `auth.twofactor.*`, `auth.reset.*`)."""

import logging
from pathlib import Path

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from .. import accounts
from ..db import db
from ..forms import (
    ConfirmForm,
    LoginForm,
    PasswordChangeForm,
    PasswordCheckForm,
    ProfileForm,
    RegisterForm,
)
from ..security import (
    begin_second_step,
    end_session,
    loggable_email,
    one_line,
    start_session,
)
from . import reset, safe_next, twofactor
from .reauth import refused, too_many_attempts, wait_message

bp = Blueprint("auth", __name__)
bp.register_blueprint(twofactor.bp)
bp.register_blueprint(reset.bp)
log = logging.getLogger("keepwarm.auth")


@bp.route("/register", methods=["GET", "POST"])
def register() -> ResponseReturnValue:
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


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    form = LoginForm()
    if not form.validate_on_submit():
        return render_template("auth/login.html", form=form), 400 if form.is_submitted() else 200
    email, address = form.email.data, request.remote_addr or "unknown"
    throttle = accounts.login_throttle(email, address)
    if throttle.address_blocked:
        log.warning("login blocked for address %s", one_line(address))
        return too_many_attempts(throttle.retry_after, "Too many failed logins")
    if not throttle.allowed:
        log.warning("login throttled for %s from %s", loggable_email(email), one_line(address))
        form.password.errors.append(wait_message(throttle.retry_after))
        page = render_template("auth/login.html", form=form)
        return page, 429, {"Retry-After": str(throttle.retry_after)}
    user = accounts.find_user_by_email(email)
    if accounts.check_password(user, form.password.data):
        accounts.record_login_success(email)
        db.session.commit()
        next_url = safe_next(request.args.get("next"), url_for("home.index"))
        if user.totp_enabled:
            begin_second_step(user, next_url)
            log.info("login password accepted for user %s; asking for the code", user.id)
            return redirect(url_for("auth.twofactor.login_code"))
        start_session(user)
        log.info("login succeeded for user %s", user.id)
        return redirect(next_url)
    accounts.record_login_failure(email, address)
    db.session.commit()
    log.warning("login failed for %s from %s", loggable_email(email), one_line(address))
    form.password.errors.append("Email or password is not right.")
    return render_template("auth/login.html", form=form), 401


@bp.post("/logout")
@login_required
def logout() -> ResponseReturnValue:
    if not ConfirmForm().validate_on_submit():
        abort(400)
    accounts.end_sessions(current_user.record())
    db.session.commit()
    end_session()
    flash("You are logged out.", "success")
    return redirect(url_for("auth.login"))


def _account_page(status: int = 200, headers: dict | None = None, **forms) -> ResponseReturnValue:
    forms.setdefault("profile", ProfileForm(timezone=current_user.timezone))
    forms.setdefault("password", PasswordChangeForm())
    forms.setdefault("delete", PasswordCheckForm(prefix="delete"))
    return render_template("auth/account.html", **forms), status, headers or {}


@bp.get("/account")
@login_required
def account() -> ResponseReturnValue:
    return _account_page()


@bp.post("/account/profile")
@login_required
def save_profile() -> ResponseReturnValue:
    profile = ProfileForm()
    if profile.validate_on_submit():
        current_user.record().timezone = profile.timezone.data
        db.session.commit()
        flash("Time zone saved.", "success")
        return redirect(url_for("auth.account"))
    return _account_page(400, profile=profile)


@bp.post("/account/password")
@login_required
def change_password() -> ResponseReturnValue:
    """Needs the current password, checked under the same throttle as a login."""
    password = PasswordChangeForm()
    if not password.validate_on_submit():
        return _account_page(400, password=password)
    problem = refused(password.current_password, "password change")
    if problem:
        return _account_page(*problem, password=password)
    user = current_user.record()
    accounts.change_password(user, password.new_password.data)
    db.session.commit()
    log.info("password changed for user %s", user.id)
    # Every other session is now dead; this one starts afresh.
    start_session(user)
    flash("Password changed. Other devices have been logged out.", "success")
    return redirect(url_for("auth.account"))


@bp.post("/account/delete")
@login_required
def delete_account() -> ResponseReturnValue:
    """Needs the current password; deletes every row of the user and ends every session."""
    delete = PasswordCheckForm(prefix="delete")
    if not delete.validate_on_submit():
        return _account_page(400, delete=delete)
    problem = refused(delete.password, "account deletion")
    if problem:
        return _account_page(*problem, delete=delete)
    user = current_user.record()
    user_id = user.id
    mail_files = accounts.delete_account(user)
    db.session.commit()
    accounts.remove_mail_files(Path(current_app.instance_path) / "mail", mail_files)
    end_session()
    log.info("account deleted: user %s", user_id)
    flash("Your account and everything in it have been deleted.", "success")
    return redirect(url_for("auth.login"))
