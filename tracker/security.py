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


def enforce_session_lifetime() -> Response | None:
    """Idle and absolute time-outs, checked on every request of a logged-in user."""
    if request.endpoint == "static" or not current_user.is_authenticated:
        return None
    now = utcnow()
    if _expired(now):
        end_session()
        flash("Your session has expired. Please log in again.", "info")
        return redirect(
            url_for("auth.login", next=request.full_path if request.method == "GET" else None)
        )
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
