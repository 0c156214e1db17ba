"""Login sessions that can be revoked and expire, the second login step, the headers on
every response, and security logging (UTC, one line per record, no tokens)."""

import logging
import re
import sys
import time
from datetime import datetime, timedelta

from flask import Flask, Response, current_app, flash, redirect, request, session, url_for
from flask.sessions import SecureCookieSessionInterface
from flask_login import LoginManager, current_user, login_user, logout_user, user_unauthorized
from flask_wtf.csrf import generate_csrf
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import bindparam

from .clock import utcnow
from .db import db, rows_of
from .latest import LatestCache
from .models import Account, User

log = logging.getLogger("keepwarm.access")
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "Log in to continue."
login_manager.session_protection = None  # Sessions are bound by version and expiry instead.

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)


# Every logged-in request reads its user: the statement is built once (building it and its
# cache key, as Session.get does on each call, cost as much as running it).
_USER_BY_ID = db.select(*User.__table__.columns).where(User.id == bindparam("user_id"))


@login_manager.user_loader
def load_user(session_id: str) -> Account | None:
    """The user, read-only, only if the cookie's session version is still the current one."""
    user_id, _, version = session_id.partition(":")
    if not (user_id.isdigit() and version.isdigit()):
        return None
    row = rows_of(_USER_BY_ID, {"user_id": int(user_id)}).first()
    if row is None:
        return None
    account = Account(row)
    return account if account.session_version == int(version) else None


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


# The second login step: the password was right, the code is still to come. The session
# holds who and when, but nobody is logged in until the code is checked.
SECOND_STEP = "second_step"
SECOND_STEP_LIFETIME = timedelta(minutes=5)


def begin_second_step(user: User, next_url: str | None) -> None:
    session.clear()
    session[SECOND_STEP] = {
        "user": user.id,
        "version": user.session_version,
        "at": utcnow().timestamp(),
        "next": next_url or "",
    }


def second_step() -> tuple[User, str] | None:
    """The user half-way through logging in and where they were going, or None when there
    is none, it expired, or their sessions were ended (new password) meanwhile."""
    pending = session.get(SECOND_STEP)
    if not isinstance(pending, dict):
        return None
    user_id, version, at = pending.get("user"), pending.get("version"), pending.get("at")
    if not (isinstance(user_id, int) and isinstance(at, float | int)):
        return None
    if utcnow().timestamp() - at > SECOND_STEP_LIFETIME.total_seconds():
        return None
    user = db.session.get(User, user_id)
    if user is None or user.session_version != version or not user.totp_enabled:
        return None
    return user, str(pending.get("next") or "")


# The last request's time is written to the session at most once a minute, so most pages
# leave the session unchanged and no new cookie is signed and sent. The idle clock then
# starts from a time up to a minute earlier: a session ends slightly before 30 idle
# minutes, never after.
SEEN_AT_STEP = timedelta(minutes=1)


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
    log.info("session ended: %s (%s)", one_line(message), one_line(session.get("_user_id", "")))
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
    if now.timestamp() - session["seen_at"] >= SEEN_AT_STEP.total_seconds():
        session["seen_at"] = now.timestamp()
    return None


# The CSRF token every logged-in page's layout carries (the logout form). Flask-WTF signs
# the session's secret anew on each request: a twentieth of a small page's time. Tokens here
# never expire by age (WTF_CSRF_TIME_LIMIT is None: the session's own limits bound
# them), so a token signed once stays valid for the session's life and is reused, in
# each process, for up to this many sessions.
SIGNED_CSRF_TOKENS = 10_000


def csrf_token() -> str:
    """Flask-WTF's CSRF token for this session (the templates' csrf_token())."""
    tokens = current_app.extensions["keepwarm.csrf_tokens"]
    field = current_app.config["WTF_CSRF_FIELD_NAME"]
    token = tokens.get(session[field], None) if field in session else None
    if token is None:
        token = generate_csrf()  # gives the session its secret if it had none
        tokens.put(session[field], None, token)
    return token


class CookieSessions(SecureCookieSessionInterface):
    """Flask's signed cookie sessions, with one serializer per key set rather than a new
    one for every request (making it, a test serialization included, cost as much as
    checking the cookie's signature)."""

    def __init__(self) -> None:
        self.made: tuple[tuple, URLSafeTimedSerializer | None] | None = None

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        keys = (app.secret_key, *(app.config["SECRET_KEY_FALLBACKS"] or ()))
        made = self.made
        if made is None or made[0] != keys:
            made = self.made = (keys, super().get_signing_serializer(app))
        return made[1]


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


# Logging. Paths that carry a secret (feed, reset and email links, and the random id of
# an uploaded import) are masked wherever a log record holds one: an access log writes
# the full path, and the Referer too.
TOKEN_IN_PATH = re.compile(
    r"(/(?:feed|reset|email/action|email/unsubscribe|import)/)(?!restore\b)[^/\s?#\"']+"
)
# str.splitlines() breaks lines at all of these; a log viewer may too.
LINE_BREAKS = str.maketrans(
    {c: f"\\x{ord(c):02x}" for c in "\v\f\x1c\x1d\x1e\x85"}
    | {"\r": "\\r", "\n": "\\n", "\u2028": "\\u2028", "\u2029": "\\u2029"}
)
# Loggers that see request paths: the app's own (exceptions name the path), the development
# server's request log, and the usual WSGI servers' access and error logs.
PATH_LOGGERS = ("werkzeug", "gunicorn.access", "gunicorn.error", "waitress")


def mask_tokens(text: str) -> str:
    return TOKEN_IN_PATH.sub(r"\1[token]", text)


def one_line(value: object) -> str:
    """A value safe to log: on one line, no token, not absurdly long."""
    return mask_tokens(str(value)).translate(LINE_BREAKS)[:300]


def loggable_email(value: str) -> str:
    """An address as typed at a login, or a stand-in when it is not shaped like one: a
    password typed into the email field by mistake must not reach the log."""
    local, at, domain = value.strip().rpartition("@")
    if at and local and "." in domain and not any(c.isspace() for c in value.strip()):
        return one_line(value.strip())
    return "(not an email address)"


class MaskTokens(logging.Filter):
    """Rewrites log records that carry a secret in a path."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken record is logging's to report, not ours
            return True
        masked = mask_tokens(message)
        if masked != message:
            record.msg, record.args = masked, ()
        return True


class LogFormatter(logging.Formatter):
    """Times in UTC (ISO 8601 with Z); messages on one line with tokens masked, so nothing
    a user typed can start a forged line. Tracebacks keep their lines."""

    converter = time.gmtime
    default_time_format = "%Y-%m-%dT%H:%M:%S"
    default_msec_format = "%s.%03dZ"

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 - logging's name
        return mask_tokens(super().formatMessage(record)).translate(LINE_BREAKS)


def configure_logging(level: int = logging.INFO) -> None:
    """Log to stderr through LogFormatter (serve and worker call it; once is enough)."""
    root = logging.getLogger()
    if not any(isinstance(h.formatter, LogFormatter) for h in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(LogFormatter())
        root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # its every-tick chatter


def _path_for_log() -> str:
    """The path with every text parameter shown by name (`/import/<token>`): a string in
    a URL may be a secret, whichever route it was sent to. Numbers stay."""
    rule, values = request.url_rule, request.view_args or {}
    if rule is None:
        return mask_tokens(request.path)
    shown = {k: v if isinstance(v, int) else f"<{k}>" for k, v in values.items()}
    return PARAMETER.sub(lambda m: str(shown.get(m.group(1), m.group(0))), rule.rule)


PARAMETER = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


def log_denied(reason: str) -> None:
    """Record a refused request: who, what, from where (the time comes from logging)."""
    who = f"user {current_user.id}" if current_user.is_authenticated else "anonymous"
    log.warning(
        "access denied (%s): %s %s by %s from %s",
        one_line(reason),
        request.method,
        one_line(_path_for_log()),
        who,
        one_line(request.remote_addr or "unknown"),
    )


def _login_required(sender: Flask, **extra: object) -> None:
    log_denied("login required")


def init_app(app: Flask) -> None:
    """After CSRFProtect's init_app: the templates' csrf_token() is replaced (tokens that
    expire by age are left to Flask-WTF)."""
    login_manager.init_app(app)
    app.session_interface = CookieSessions()
    if app.config["WTF_CSRF_TIME_LIMIT"] is None:
        app.extensions["keepwarm.csrf_tokens"] = LatestCache(SIGNED_CSRF_TOKENS)
        app.jinja_env.globals["csrf_token"] = csrf_token
        app.context_processor(lambda: {"csrf_token": csrf_token})  # after CSRFProtect's
    app.before_request(enforce_session_lifetime)
    app.after_request(add_security_headers)
    user_unauthorized.connect(_login_required, app)
    mask = MaskTokens()
    for logger in (app.logger, *map(logging.getLogger, PATH_LOGGERS)):
        if not any(isinstance(f, MaskTokens) for f in logger.filters):
            logger.addFilter(mask)
