"""Serving from several machines: proxy headers when configured, gunicorn's settings."""

import importlib

import pytest
from flask import request

from tracker import create_app
from tracker.db import db
from tracker.models import LoginThrottle

SECRET = "proxy-test-secret-" + "x" * 40
CLIENT = "203.0.113.7"  # the visitor, as the reverse proxy saw them
PROXY = "10.0.0.2"


def echo_app(tmp_path, **settings):
    """The app with one extra route that shows what it believes about the request."""
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": SECRET,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'proxy.sqlite3'}",
            "INSTANCE_PATH": str(tmp_path / "instance"),
            **settings,
        }
    )

    @app.get("/_seen")
    def seen():
        return {"address": request.remote_addr, "scheme": request.scheme, "host": request.host}

    return app


def seen(app) -> dict:
    return (
        app.test_client()
        .get(
            "/_seen",
            environ_base={"REMOTE_ADDR": PROXY},
            headers={
                "X-Forwarded-For": f"198.51.100.1, {CLIENT}",
                "X-Forwarded-Proto": "https",
                "X-Forwarded-Host": "keepwarm.example",
            },
        )
        .get_json()
    )


def test_forwarded_headers_are_ignored_unless_configured(tmp_path):
    assert seen(echo_app(tmp_path)) == {"address": PROXY, "scheme": "http", "host": "localhost"}


def test_one_trusted_proxy_gives_the_clients_address_and_scheme(tmp_path):
    app = echo_app(tmp_path, PROXY_FIX_X_FOR=1, PROXY_FIX_X_PROTO=1, PROXY_FIX_X_HOST=1)
    # Only the last hop, the one our proxy added, is believed: the visitor wrote the first.
    assert seen(app) == {"address": CLIENT, "scheme": "https", "host": "keepwarm.example"}


def test_the_settings_come_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("PROXY_FIX_X_FOR", "1")
    monkeypatch.setenv("PROXY_FIX_X_PROTO", "1")
    app = echo_app(tmp_path)
    assert (app.config["PROXY_FIX_X_FOR"], app.config["PROXY_FIX_X_HOST"]) == (1, 0)
    assert seen(app) == {"address": CLIENT, "scheme": "https", "host": "localhost"}


def test_behind_the_proxy_the_login_throttle_counts_the_clients_address(tmp_path):
    app = echo_app(tmp_path, PROXY_FIX_X_FOR=1, WTF_CSRF_ENABLED=False)
    with app.app_context():
        db.create_all()
    response = app.test_client().post(
        "/login",
        data={"email": "nobody@example.com", "password": "not the password at all"},
        environ_base={"REMOTE_ADDR": PROXY},
        headers={"X-Forwarded-For": CLIENT},
    )
    assert response.status_code == 401
    with app.app_context():
        keys = set(db.session.execute(db.select(LoginThrottle.key)).scalars())
        db.session.remove()
        db.engine.dispose()
    assert f"address:{CLIENT}" in keys
    assert f"address:{PROXY}" not in keys


@pytest.fixture
def gunicorn_settings(monkeypatch):
    """tracker/gunicorn_conf.py as gunicorn reads it, under a given environment."""

    def load(**environment):
        for name in ("HOST", "PORT", "WEB_CONCURRENCY", "WEB_THREADS"):
            monkeypatch.delenv(name, raising=False)
        for name, value in environment.items():
            monkeypatch.setenv(name, value)
        import tracker.gunicorn_conf as settings

        return importlib.reload(settings)

    return load


def test_gunicorn_serves_pages_with_several_workers(gunicorn_settings, monkeypatch):
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    settings = gunicorn_settings()
    assert settings.bind == ["127.0.0.1:5000"]
    assert settings.workers == 5
    assert settings.worker_class == "gthread"
    settings = gunicorn_settings(HOST="0.0.0.0", PORT="8000", WEB_CONCURRENCY="3")  # noqa: S104
    assert (settings.bind, settings.workers) == (["0.0.0.0:8000"], 3)


def test_the_preloaded_app_is_frozen_before_each_fork(gunicorn_settings):
    """Frozen objects are never scanned by a worker's collector, so their pages stay shared."""
    import gc

    settings = gunicorn_settings()
    gc.unfreeze()
    try:
        settings.pre_fork(server=None, worker=None)
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()


@pytest.mark.parametrize(
    ("path", "logged"),
    [
        ("/feed/Zm9vYmFyYmF6cXV4.ics", "/feed/[token]"),
        ("/feed/abc", "/feed/[token]"),
        ("/email/action/eyJhIjoxfQ.sig", "/email/action/[token]"),
        ("/email/unsubscribe/eyJ1IjoxfQ.sig", "/email/unsubscribe/[token]"),
        ("/reset/eyJyIjoxfQ.sig", "/reset/[token]"),
        ("/contacts/12", "/contacts/12"),
        ("/settings/", "/settings/"),
    ],
)
def test_the_access_log_masks_secrets_in_paths(gunicorn_settings, path, logged):
    settings = gunicorn_settings()
    assert settings.mask(path) == logged
    assert settings.mask(f"GET {path}?x=1 HTTP/1.1") == f"GET {logged}?x=1 HTTP/1.1"


def test_the_access_log_line_has_no_query_string_or_referrer(gunicorn_settings):
    from datetime import timedelta
    from types import SimpleNamespace

    from gunicorn.config import Config

    settings = gunicorn_settings()
    config = Config()
    config.set("access_log_format", settings.access_log_format)
    logger = settings.MaskingLogger(config)
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": "/feed/s3cr3t.ics?q=Dana",
        "PATH_INFO": "/feed/s3cr3t.ics",
        "QUERY_STRING": "q=Dana",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_REFERER": "https://keepwarm.example/reset/s3cr3t",
    }
    response = SimpleNamespace(status="200 OK", sent=10, headers=[])
    atoms = logger.atoms(response, SimpleNamespace(headers=[]), environ, timedelta(0, 0, 1500))
    line = settings.access_log_format % atoms
    assert '"GET /feed/[token] HTTP/1.1" 200 10 1ms' in line
    assert "s3cr3t" not in line and "Dana" not in line
    assert "s3cr3t" not in atoms["r"] + atoms["f"] + atoms["U"]
