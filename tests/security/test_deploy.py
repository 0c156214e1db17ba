"""`flask --app app check-deploy`: a production configuration is checked before it serves.

It refuses debug mode, a short or default SECRET_KEY, a BASE_URL that is not https, and
a remote mail server without TLS, with every reason and a non-zero exit code. The first
two already stop the app from starting; they are reported as plain errors too.
"""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from tracker.config import deploy_problems, from_environment

ROOT = Path(__file__).resolve().parents[2]
FLASK = Path(sys.executable).with_name("flask")
PRODUCTION = {
    "SECRET_KEY": secrets.token_hex(32),
    "BASE_URL": "https://keepwarm.example.org",
    "SMTP_HOST": "smtp.example.org",
    "SMTP_PORT": "587",
    "SMTP_SECURITY": "starttls",
}


def check_deploy(tmp_path, **changes) -> subprocess.CompletedProcess:
    """The real command in a fresh process, with a production-like environment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLASK_", "SMTP_"))}
    env |= {"KEEPWARM_INSTANCE": str(tmp_path / "instance")} | PRODUCTION
    env.pop("DATABASE_URL", None)
    for name, value in changes.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return subprocess.run(
        [str(FLASK), "--app", "app", "check-deploy"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_production_configuration_passes(tmp_path):
    result = check_deploy(tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Ready for production at https://keepwarm.example.org" in result.stdout


def test_a_base_url_without_https_is_refused(tmp_path):
    result = check_deploy(tmp_path, BASE_URL="http://keepwarm.example.org")
    assert result.returncode == 1
    assert result.stderr == (
        "Not ready for production:\n"
        "  - BASE_URL is 'http://keepwarm.example.org': it must be the public https:// "
        "address (secure cookies, HSTS and the links in emails depend on it).\n"
    )


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"BASE_URL": "https://127.0.0.1:5000"}, "BASE_URL points at this machine"),
        ({"BASE_URL": "keepwarm.example.org"}, "BASE_URL is 'keepwarm.example.org'"),
        ({"SMTP_SECURITY": "none"}, "SMTP_SECURITY is none for the remote mail server"),
        ({"SMTP_SECURITY": "tls"}, "SMTP_SECURITY is 'tls'"),
    ],
)
def test_an_unsafe_configuration_is_refused_with_the_reason(app, runner, changes, reason):
    app.config.update(PRODUCTION | changes)
    result = runner.invoke(args=["check-deploy"])
    assert result.exit_code == 1
    assert "Not ready for production:" in result.output
    assert reason in result.output


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"SECRET_KEY": "x" * 31}, "SECRET_KEY is too short or a known default"),
        ({"FLASK_DEBUG": "1"}, "Debug mode is on while serving keepwarm.example.org"),
        (
            {"SECRET_KEY_FALLBACKS": f"{secrets.token_hex(32)}, dev"},
            "SECRET_KEY_FALLBACKS holds a key that is too short or a known default",
        ),
    ],
)
def test_what_stops_the_app_starting_is_a_plain_error_too(tmp_path, changes, reason):
    result = check_deploy(tmp_path, **changes)
    assert result.returncode == 1
    assert "Keepwarm refuses to start:" in result.stderr
    assert reason in result.stderr
    assert "Traceback" not in result.stderr


def test_every_reason_is_listed_at_once(tmp_path):
    result = check_deploy(
        tmp_path,
        FLASK_DEBUG="1",
        BASE_URL="http://localhost:5000",
        SMTP_HOST="mail.example.org",
        SMTP_SECURITY="none",
    )
    assert result.returncode == 1
    assert result.stderr.count("\n  - ") == 3, result.stderr


def settings(**changes) -> dict:
    return {**PRODUCTION, "DEBUG": False} | changes


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "127.0.0.53", "::1", "[::1]"])
def test_a_mail_relay_on_this_machine_needs_no_tls(host):
    assert deploy_problems(settings(SMTP_HOST=host, SMTP_SECURITY="none")) == []


@pytest.mark.parametrize("host", ["mail.example.org", "10.0.0.5", "192.0.2.1", "localhost.evil"])
def test_a_remote_mail_server_needs_tls(host):
    [problem] = deploy_problems(settings(SMTP_HOST=host, SMTP_SECURITY="none"))
    assert host in problem
    assert deploy_problems(settings(SMTP_HOST=host, SMTP_SECURITY="ssl")) == []


def test_debug_mode_is_refused_even_on_a_local_address():
    [problem] = deploy_problems(settings(DEBUG=True))
    assert problem.startswith("Debug mode is on (FLASK_DEBUG)")


def test_without_a_mail_server_emails_go_to_files_and_that_is_fine():
    assert deploy_problems(settings(SMTP_HOST="", SMTP_SECURITY="none")) == []


@pytest.mark.parametrize("key", ["", "dev", "secret", "CHANGEME", "short-but-random-9f2c"])
def test_weak_secret_keys(key):
    assert deploy_problems(settings(SECRET_KEY=key)) == [
        "SECRET_KEY is too short or a known default; use 32+ random characters."
    ]


def test_fallback_keys_must_be_as_strong_as_the_key():
    """Flask accepts a session signed with any of them."""
    assert deploy_problems(settings(SECRET_KEY_FALLBACKS=[secrets.token_hex(32)])) == []
    assert deploy_problems(settings(SECRET_KEY_FALLBACKS=[secrets.token_hex(32), "secret"])) == [
        "SECRET_KEY_FALLBACKS holds a key that is too short or a known default."
    ]


def test_fallback_keys_are_read_from_the_environment_comma_separated(tmp_path, monkeypatch):
    old = [secrets.token_hex(32), secrets.token_hex(32)]
    monkeypatch.setenv("SECRET_KEY_FALLBACKS", f" {old[0]} ,{old[1]},")
    assert from_environment(tmp_path)["SECRET_KEY_FALLBACKS"] == old
    result = check_deploy(tmp_path, SECRET_KEY_FALLBACKS=f" {old[0]} ,{old[1]},")
    assert result.returncode == 0, result.stderr
