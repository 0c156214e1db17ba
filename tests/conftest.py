"""Fixtures: an app on a real SQLite file (or PostgreSQL), clients, and data factories."""

import hashlib
import os
import re
from datetime import date

import pytest
from flask.testing import FlaskClient
from helpers import cheap_password_hashing
from itsdangerous import URLSafeTimedSerializer
from logcheck import (  # the run's logs hold no password or token (tests/logcheck.py)
    pytest_sessionfinish,  # noqa: F401
    pytest_terminal_summary,  # noqa: F401
    run_log,  # noqa: F401
)
from sqlalchemy import create_engine, text

from tracker import create_app
from tracker.accounts import create_user
from tracker.db import db
from tracker.interviews import InterviewInput, PersonInput, save_interview
from tracker.models import Outcome, Stage

PASSWORD = "correct horse battery staple"
SECRET = "test-secret-key-" + "x" * 48
POSTGRES_HINT = (
    "PostgreSQL tests need TEST_DATABASE_URL pointing at a server "
    "(make test sets postgresql+psycopg://postgres@127.0.0.1:5432/test)"
)


class FormClient(FlaskClient):
    """A test client whose POSTs carry a valid CSRF token, as a browser's form would."""

    def csrf_token(self) -> str:
        with self.session_transaction() as sess:
            raw = sess.setdefault("csrf_token", hashlib.sha1(os.urandom(64)).hexdigest())  # noqa: S324
        return URLSafeTimedSerializer(self.application.secret_key, salt="wtf-csrf-token").dumps(raw)

    def post(self, *args, csrf: bool = True, **kwargs):
        data = kwargs.get("data")
        if csrf and (data is None or isinstance(data, dict)):
            data = dict(data or {})
            data.setdefault("csrf_token", self.csrf_token())
            kwargs["data"] = data
        return super().post(*args, **kwargs)


def postgres_url() -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        pytest.fail(POSTGRES_HINT)
    from tracker.config import normalise_database_url

    return normalise_database_url(url)


def reset_postgres(url: str) -> None:
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    except Exception as error:  # noqa: BLE001
        pytest.fail(f"{POSTGRES_HINT}: {error}")
    finally:
        engine.dispose()


# The database a test runs on unless it names its own: `make test` runs the suite once
# as it is and once with TEST_BACKEND=postgresql.
TEST_BACKEND = os.environ.get("TEST_BACKEND", "sqlite")
BACKENDS = ("sqlite", "postgresql")


@pytest.fixture(params=[TEST_BACKEND])
def backend(request) -> str:
    """Which database the app runs on; modules parametrize it to cover both in one pass."""
    return request.param


def pytest_configure(config) -> None:
    if TEST_BACKEND not in BACKENDS:
        raise pytest.UsageError(f"TEST_BACKEND must be one of {BACKENDS}, not {TEST_BACKEND!r}")


def pytest_collection_modifyitems(config, items) -> None:
    """The PostgreSQL pass runs only what it can add: tests on the default database.

    A test that names its backends ran all of them in the SQLite pass, and a test that
    never touches the `backend` fixture would only repeat itself.
    """
    if TEST_BACKEND == "sqlite":
        return
    keep, drop = [], []
    for item in items:
        named = any(_names_backend(mark) for mark in item.iter_markers("parametrize"))
        uses = "backend" in getattr(item, "fixturenames", ())
        (keep if uses and not named else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def _names_backend(mark) -> bool:
    names = mark.args[0] if mark.args else mark.kwargs.get("argnames", "")
    if isinstance(names, str):
        names = [name.strip() for name in names.split(",")]
    return "backend" in names


@pytest.fixture
def database_url(backend, tmp_path) -> str:
    if backend == "postgresql":
        url = postgres_url()
        reset_postgres(url)
        return url
    return f"sqlite:///{tmp_path / 'keepwarm.sqlite3'}"


@pytest.fixture
def app(database_url, tmp_path):
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": SECRET,
            "SQLALCHEMY_DATABASE_URI": database_url,
            "INSTANCE_PATH": str(tmp_path / "instance"),
        }
    )
    app.test_client_class = FormClient
    with app.app_context():
        db.create_all()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(autouse=True)
def _cheap_password_hashing(request, monkeypatch) -> None:
    """argon2 at its real cost takes about 0.1 s per hash and per login: tests run with a
    cheap hasher, but for those marked `real_password_hashing` (the hashing itself)."""
    if request.node.get_closest_marker("real_password_hashing") is None:
        cheap_password_hashing(monkeypatch)


@pytest.fixture
def client(app) -> FormClient:
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def make_user(app):
    """Create a user: make_user("dana@example.com", timezone="Europe/Berlin")."""
    counter = iter(range(1, 10_000))

    def make(email: str | None = None, password: str = PASSWORD, timezone: str = "UTC"):
        with app.app_context():
            user = create_user(email or f"user{next(counter)}@example.com", password, timezone)
            db.session.commit()
            db.session.refresh(user)
            db.session.expunge(user)
            return user

    return make


@pytest.fixture
def login(client):
    """Log the test client in as `user`."""

    def log_in(user, password: str = PASSWORD, as_client: FlaskClient | None = None):
        target = as_client or client
        response = target.post("/login", data={"email": user.email, "password": password})
        assert response.status_code == 302, response.get_data(as_text=True)
        return target

    return log_in


@pytest.fixture
def user(make_user, login):
    """A user in Europe/London, logged in on `client` (modules may define their own)."""
    user = make_user(timezone="Europe/London")
    login(user)
    return user


@pytest.fixture
def make_interview(app):
    """Save an interview through the real use case; returns its id."""

    def make(user, organisation: str = "Acme", people: list[dict] | None = None, **fields) -> int:
        data = InterviewInput(
            organisation=organisation,
            role=fields.get("role", "Backend Engineer"),
            held_on=fields.get("held_on", date(2026, 11, 20)),
            start_time=fields.get("start_time"),
            stage=fields.get("stage", Stage.ONSITE),
            outcome=fields.get("outcome", Outcome.PENDING),
            interest=fields.get("interest", 4),
            notes=fields.get("notes", ""),
            people=[PersonInput(**p) for p in (people or [])],
        )
        with app.app_context():
            from tracker.models import User

            interview = save_interview(db.session.get(User, user.id), data)
            db.session.commit()
            return interview.id

    return make


def form_errors(html: str) -> list[str]:
    """The error messages shown next to fields on a page."""
    return re.findall(r'<p class="error" id="[^"]+">([^<]+)</p>', html)


def pytest_addoption(parser) -> None:
    """`--screenshots DIR`: where tests/browser/test_screenshots.py saves its PNGs."""
    parser.addoption(
        "--screenshots",
        metavar="DIR",
        default=None,
        help="save the README screenshots into DIR instead of a temporary folder",
    )


@pytest.fixture
def smtp_server():
    """A real SMTP server on 127.0.0.1 that records messages (see tests/mailserver.py)."""
    from mailserver import MailServer

    server = MailServer()
    server.start()
    yield server
    server.handler.release.set()
    server.stop()
