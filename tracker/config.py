"""Settings from the environment and the instance folder, with their defaults."""

import ipaddress
import os
import secrets
from pathlib import Path
from urllib.parse import urlsplit

import click

LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}
WEAK_SECRET_KEYS = {"", "dev", "secret", "changeme", "change-me"}


def load_secret_key(instance_path: Path) -> str:
    """Return SECRET_KEY from the environment, or one generated once into instance/."""
    configured = os.environ.get("SECRET_KEY")
    if configured:
        return configured
    key_file = instance_path / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    # Created with owner-only permissions: the key signs every session.
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key


def from_environment(instance_path: Path) -> dict:
    """Build the configuration mapping from environment variables."""
    default_db = f"sqlite:///{instance_path / 'keepwarm.sqlite3'}"
    return {
        "SECRET_KEY": load_secret_key(instance_path),
        # Earlier keys, comma-separated: sessions and sealed secrets made with them still
        # open after SECRET_KEY is replaced (tracker.sealing).
        "SECRET_KEY_FALLBACKS": [
            key.strip()
            for key in os.environ.get("SECRET_KEY_FALLBACKS", "").split(",")
            if key.strip()
        ],
        "SQLALCHEMY_DATABASE_URI": normalise_database_url(
            os.environ.get("DATABASE_URL", default_db)
        ),
        "BASE_URL": os.environ.get("BASE_URL", "http://127.0.0.1:5000"),
        "SMTP_HOST": os.environ.get("SMTP_HOST", ""),
        "SMTP_PORT": int(os.environ.get("SMTP_PORT", "587")),
        "SMTP_USERNAME": os.environ.get("SMTP_USERNAME", ""),
        "SMTP_PASSWORD": os.environ.get("SMTP_PASSWORD", ""),
        "SMTP_SECURITY": os.environ.get("SMTP_SECURITY", "starttls"),
        "MAIL_FROM": os.environ.get("MAIL_FROM", "Keepwarm <keepwarm@localhost>"),
        **delivery_tuning_from_environment(),
        **proxy_from_environment(),
    }


# How many proxies in front of the app set each X-Forwarded-* header (0: trust none).
PROXY_HEADERS = ("PROXY_FIX_X_FOR", "PROXY_FIX_X_PROTO", "PROXY_FIX_X_HOST")


def proxy_from_environment() -> dict:
    """PROXY_FIX_X_FOR and friends: only set them when a reverse proxy sets the headers.

    Trusted blindly, X-Forwarded-For would let anyone choose the address the login
    throttle counts failures against.
    """
    return {name: int(os.environ.get(name) or 0) for name in PROXY_HEADERS}


def delivery_tuning_from_environment() -> dict:
    """Outbox and scheduler numbers (see DEFAULTS) overridden by same-named variables."""
    return {
        name: type(default)(os.environ[name])
        for name, default in DELIVERY_TUNING.items()
        if os.environ.get(name)
    }


def follow_base_url(settings: dict, explicit: dict) -> None:
    """Cookie and URL settings that follow BASE_URL, wherever it came from.

    Over https the session cookie is `Secure` and `__Host-` prefixed (no Domain, Path=/);
    a setting given explicitly (in `explicit`) is kept.
    """
    settings["BASE_URL"] = settings["BASE_URL"].rstrip("/")
    https = settings["BASE_URL"].startswith("https://")
    derived = {
        "SESSION_COOKIE_SECURE": https,
        "SESSION_COOKIE_NAME": "__Host-session" if https else "session",
        "PREFERRED_URL_SCHEME": "https" if https else "http",
    }
    for key, value in derived.items():
        if key not in explicit:
            settings[key] = value


def normalise_database_url(url: str) -> str:
    """Point plain postgres URLs at the psycopg 3 driver, the one that is installed."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


# Outbox and scheduler numbers; each can be overridden by an environment variable.
DELIVERY_TUNING = {
    # How long a claimed email is reserved for its sender before another may retry it.
    "OUTBOX_LEASE_SECONDS": 300,
    # Attempts before an email is marked failed; waits double from the base, with jitter.
    "OUTBOX_MAX_ATTEMPTS": 8,
    "OUTBOX_BACKOFF_SECONDS": 60,
    "OUTBOX_BACKOFF_MAX_SECONDS": 6 * 3600,
    # Sent, cancelled and expired rows older than this are deleted; failed ones are kept.
    "OUTBOX_KEEP_DAYS": 180,
    "SMTP_TIMEOUT_SECONDS": 30,
    # How often the outbox is dispatched, and how often a waiting scheduler retries the lock.
    "SCHEDULER_TICK_SECONDS": 10,
    "SCHEDULER_LOCK_POLL_SECONDS": 5,
}

DEFAULTS = {
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "MAX_CONTENT_LENGTH": 1024 * 1024,
    "WTF_CSRF_TIME_LIMIT": None,
    "SESSION_IDLE_MINUTES": 30,
    "SESSION_ABSOLUTE_HOURS": 12,
    "PER_PAGE": 50,
    "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
    **DELIVERY_TUNING,
}


class UnsafeConfiguration(click.ClickException, RuntimeError):
    """The app will not start like this. A ClickException, so `flask …` commands print
    the reasons as a plain error (and exit 1) rather than as a traceback."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("Keepwarm refuses to start:\n  - " + "\n  - ".join(problems))


def _weak(key: str) -> bool:
    return key.lower() in WEAK_SECRET_KEYS or len(key) < 32


def weak_secret_key(settings: dict) -> str | None:
    if _weak(settings.get("SECRET_KEY") or ""):
        return "SECRET_KEY is too short or a known default; use 32+ random characters."
    # Flask accepts a session signed with any fallback: a weak one is as bad.
    if any(_weak(key or "") for key in settings.get("SECRET_KEY_FALLBACKS") or []):
        return "SECRET_KEY_FALLBACKS holds a key that is too short or a known default."
    return None


def refuse_unsafe(settings: dict) -> None:
    """Refuse to start with a secret key anyone could guess, or in debug mode when public.

    The debugger runs code typed into an error page, so it stays on this machine.
    """
    problems = [weak_secret_key(settings)]
    host = urlsplit(settings.get("BASE_URL", "")).hostname
    if settings.get("DEBUG") and host not in LOCAL_HOSTS:
        problems.append(f"Debug mode is on while serving {host}; turn FLASK_DEBUG off.")
    if any(problems):
        raise UnsafeConfiguration([problem for problem in problems if problem])


def deploy_problems(settings: dict) -> list[str]:
    """What keeps this configuration from serving the public (`flask check-deploy`).

    Stricter than refuse_unsafe, which must let a developer run on this machine.
    """
    problems = [weak_secret_key(settings)]
    if settings.get("DEBUG"):
        problems.append("Debug mode is on (FLASK_DEBUG): it must be off in production.")
    base = urlsplit(settings.get("BASE_URL", ""))
    if base.scheme != "https" or not base.hostname:
        problems.append(
            f"BASE_URL is {settings.get('BASE_URL')!r}: it must be the public https:// "
            "address (secure cookies, HSTS and the links in emails depend on it)."
        )
    elif base.hostname in LOCAL_HOSTS:
        problems.append(f"BASE_URL points at this machine ({base.hostname}), not the public.")
    smtp_host = (settings.get("SMTP_HOST") or "").strip()
    security = settings.get("SMTP_SECURITY", "starttls")
    if security not in ("none", "starttls", "ssl"):
        problems.append(f"SMTP_SECURITY is {security!r}: use starttls or ssl.")
    elif smtp_host and security == "none" and not _loopback(smtp_host):
        problems.append(
            f"SMTP_SECURITY is none for the remote mail server {smtp_host}: passwords and "
            "emails would cross the network unencrypted. Use starttls or ssl."
        )
    return [problem for problem in problems if problem]


def _loopback(host: str) -> bool:
    """Whether a mail server name is this machine (a local relay needs no TLS)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
