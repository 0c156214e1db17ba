"""Login sessions that can be revoked and expire, and the headers on every response."""

from datetime import datetime, timedelta

from flask import Flask, Response, current_app, flash, redirect, request, session, url_for
from flask_login import LoginManager, current_user, login_user, logout_user

from .clock import utcnow
from .db import db
from .models import User

login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "Log in to continue."
login_manager.session_protection = None  # Sessions are bound by version and expiry instead.

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)


@login_manager.user_loader
def load_user(session_id: str) -> User | None:
    """Load the user only if the cookie's session version is still the current one."""
    user_id, _, version = session_id.partition(":")
    if not (user_id.isdigit() and version.isdigit()):
        return None
    user = db.session.get(User, int(user_id))
    if user is None or user.session_version != int(version):
        return None
    return user


def start_session(user: User) -> None:
    """A fresh session at login: nothing from before the login survives."""
    session.clear()
    login_user(user)
    now = utcnow().timestamp()
    session["auth_at"] = now
    session["seen_at"] = now


def end_session() -> None:
    logout_user()
    session.clear()


def _expired(now: datetime) -> bool:
    auth_at = session.get("auth_at")
    seen_at = session.get("seen_at")
    if not isinstance(auth_at, float | int) or not isinstance(seen_at, float | int):
        return True
    idle = timedelta(minutes=current_app.config["SESSION_IDLE_MINUTES"])
    absolute = timedelta(hours=current_app.config["SESSION_ABSOLUTE_HOURS"])
    return (
        now.timestamp() - seen_at > idle.total_seconds()
        or now.timestamp() - auth_at > absolute.total_seconds()
    )


def _back_to_login(message: str) -> Response | None:
    """End what is left of the session and ask for a login, then come back here."""
    end_session()
    if (request.endpoint or "").startswith("email_actions."):
        return None  # A link from an email carries its own permission: no login needed.
    flash(message, "info")
    here = request.full_path if request.query_string else request.path
    wanted = here if request.method == "GET" and here != "/" else None
    return redirect(url_for("auth.login", next=wanted))


def enforce_session_lifetime() -> Response | None:
    """Revoked and timed-out sessions, checked on every request (idle and absolute)."""
    if request.endpoint == "static":
        return None
    if not current_user.is_authenticated:
        # A cookie naming a user whose sessions were ended (logout elsewhere, new password).
        if "_user_id" in session and request.endpoint not in ("auth.login", "auth.register"):
            return _back_to_login("You have been logged out. Please log in again.")
        return None
    now = utcnow()
    if _expired(now):
        return _back_to_login("Your session has expired. Please log in again.")
    session["seen_at"] = now.timestamp()
    return None


def add_security_headers(response: Response) -> Response:
    """Headers for every response, errors included."""
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Frame-Options", "DENY")
    if current_app.config["BASE_URL"].startswith("https://"):
        response.headers.setdefault(
            "Strict-Transport-Security", "max-age=31536000; includeSubDomains"
        )
    if request.endpoint != "static":
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    app.before_request(enforce_session_lifetime)
    app.after_request(add_security_headers)
