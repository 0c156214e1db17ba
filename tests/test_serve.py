"""`flask --app app serve`: the real command, as `make run` starts it, over real HTTP."""

import os
import re
import signal
import socket
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
STARTUP_SECONDS = 30
STOP_SECONDS = 60  # a deadline: an idle machine stops in about a second


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def environment(tmp_path) -> dict:
    """A clean environment: a migrated SQLite file, its own instance folder, no SECRET_KEY."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SMTP_", "KEEPWARM_"))}
    for name in ("SECRET_KEY", "BASE_URL", "MAIL_FROM", "FLASK_APP", "FLASK_DEBUG"):
        env.pop(name, None)
    env.update(
        DATABASE_URL=f"sqlite:///{tmp_path / 'served.sqlite3'}",
        KEEPWARM_INSTANCE=str(tmp_path / "instance"),
        HOST="127.0.0.1",
        PORT=str(free_port()),
        PYTHONUNBUFFERED="1",
    )
    migrate = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", "db", "upgrade"],
        cwd=ROOT,
        env={**env, "SECRET_KEY": "migration-only-" + "k" * 40},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert migrate.returncode == 0, migrate.stderr
    assert not (tmp_path / "instance" / "secret_key").exists()
    return env


class Served:
    """One run of the serve command, with its output in a file."""

    def __init__(self, env: dict, log: Path) -> None:
        self.base = f"http://127.0.0.1:{env['PORT']}"
        self.log = log
        self.handle = log.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "app", "serve"],
            cwd=ROOT,
            env=env,
            stdout=self.handle,
            stderr=subprocess.STDOUT,
        )
        self._wait_until_listening()

    def _wait_until_listening(self) -> None:
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"serve exited early:\n{self.log.read_text()}")
            try:
                with urllib.request.urlopen(self.base + "/", timeout=2):
                    return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.1)
        self.stop()
        pytest.fail(f"serve did not answer within {STARTUP_SECONDS}s:\n{self.log.read_text()}")

    def get(self, path: str, headers: dict | None = None):
        request = urllib.request.Request(self.base + path, headers=headers or {})
        return urllib.request.urlopen(request, timeout=10)

    def post(self, path: str, data: dict, headers: dict) -> tuple[int, str]:
        body = urllib.parse.urlencode(data).encode()
        request = urllib.request.Request(self.base + path, data=body, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def interrupt(self) -> int:
        """Ctrl-C, as a person stops `make run`; returns the exit code."""
        self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(timeout=STOP_SECONDS)
        finally:
            self.stop()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.handle.close()


def login_form(served: Served) -> tuple[str, str]:
    """A session cookie and the CSRF token of the login form it belongs to."""
    with served.get("/login") as response:
        cookie = response.headers["Set-Cookie"].split(";", 1)[0]
        token = re.search(
            r'name="csrf_token" type="hidden" value="([^"]+)"', response.read().decode()
        )
    if token is None:
        token = re.search(
            r'value="([^"]+)"[^>]*name="csrf_token"', served.get("/login").read().decode()
        )
    return cookie, token.group(1)


def test_serve_answers_http_keeps_its_generated_key_and_stops_on_ctrl_c(environment, tmp_path):
    key_file = tmp_path / "instance" / "secret_key"

    first = Served(environment, tmp_path / "first.log")
    try:
        with first.get("/") as response:
            assert response.status == 200
            page = response.read().decode()
            assert "Keepwarm" in page
            assert response.headers["X-Content-Type-Options"] == "nosniff"
            assert "waitress" in response.headers.get("Server", "") or response.headers["Server"]
        with first.get("/static/style.css") as response:
            assert response.status == 200
        assert key_file.exists(), "SECRET_KEY unset, yet no key was generated into instance/"
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        key = key_file.read_text()
        assert len(key) >= 32
        cookie, token = login_form(first)
    finally:
        code = first.interrupt()
    assert code == 0, f"exit code {code} after Ctrl-C:\n{first.log.read_text()}"
    assert "Traceback" not in first.log.read_text()

    second = Served(environment, tmp_path / "second.log")
    try:
        assert key_file.read_text() == key
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        # A form signed by the first run is still good: the same key signs this one.
        headers = {"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"}
        form = {"email": "nobody@example.com", "password": "not the password"}
        status, page = second.post("/login", {**form, "csrf_token": token}, headers)
        assert "Form expired" not in page, status
        status, page = second.post("/login", {**form, "csrf_token": token[:-4] + "AAAA"}, headers)
        assert status == 400 and "Form expired" in page  # the check above can tell
    finally:
        code = second.interrupt()
    assert code == 0, second.log.read_text()
    assert "Traceback" not in second.log.read_text()
