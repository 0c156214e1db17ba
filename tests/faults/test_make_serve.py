"""`make serve`: gunicorn with several workers and no scheduler in them, plus one worker.

The real command on a migrated SQLite file, with a real SMTP server: pages from every
gunicorn worker, one digest sent by the one scheduler, /healthz, the access log, Ctrl-C.
"""

import os
import re
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest
from helpers import utc
from mailserver import free_port
from running import ROOT, Browser, Command, alive, wait_for_http

from tracker import create_app
from tracker.accounts import create_user
from tracker.db import db
from tracker.interviews import InterviewInput, PersonInput, save_interview
from tracker.models import Outcome, Stage

SECRET = "make-serve-secret-" + "k" * 40
PASSWORD = "correct horse battery staple"
T0 = utc(2026, 11, 21, 7, 0)  # 08:00 in Berlin: Dana's digest hour has come
FEED_SECRET = "sEcReTfEeDtOkEn123"


def migrated_database(tmp_path: Path, env: dict) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", "db", "upgrade"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr


def add_dana(database_url: str, tmp_path: Path) -> None:
    """Dana in Berlin met Lee yesterday: a thank-you is due today, so a digest is."""
    app = create_app(
        {
            "SECRET_KEY": SECRET,
            "SQLALCHEMY_DATABASE_URI": database_url,
            "INSTANCE_PATH": str(tmp_path / "instance"),
            "NOW": utc(2026, 11, 21, 6, 0),
        }
    )
    with app.app_context():
        user = create_user("dana@example.com", PASSWORD, "Europe/Berlin")
        save_interview(
            user,
            InterviewInput(
                organisation="Acme",
                role="Backend Engineer",
                held_on=date(2026, 11, 20),
                start_time=None,
                stage=Stage.ONSITE,
                outcome=Outcome.PENDING,
                interest=4,
                people=[PersonInput(name="Lee Park", email="lee@example.com")],
            ),
        )
        db.session.commit()
        db.engine.dispose()


@pytest.fixture
def served(tmp_path, smtp_server):
    database_url = f"sqlite:///{tmp_path / 'served.sqlite3'}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SMTP_", "KEEPWARM_"))}
    for name in ("BASE_URL", "FLASK_APP", "FLASK_DEBUG", "WEB_CONCURRENCY"):
        env.pop(name, None)
    env.update(
        DATABASE_URL=database_url,
        KEEPWARM_INSTANCE=str(tmp_path / "instance"),
        SECRET_KEY=SECRET,
        HOST="127.0.0.1",
        PORT=str(free_port()),
        WEB_CONCURRENCY="3",
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=str(smtp_server.port),
        SMTP_SECURITY="none",
        SCHEDULER_TICK_SECONDS="1",
        SCHEDULER_LOCK_POLL_SECONDS="1",
        KEEPWARM_NOW=T0.isoformat(),
        PYTHONUNBUFFERED="1",
    )
    migrated_database(tmp_path, env)
    add_dana(database_url, tmp_path)
    command = Command(["make", "--no-print-directory", "-s", "serve"], env)
    base = f"http://127.0.0.1:{env['PORT']}"
    try:
        wait_for_http(base + "/login")
        yield command, base, Path(f"{tmp_path / 'served.sqlite3'}.scheduler.lock")
    finally:
        command.stop()


def pids(output: str, pattern: str) -> list[int]:
    return [int(pid) for pid in re.findall(pattern, output)]


def test_pages_from_several_workers_and_reminders_from_one_scheduler(served, smtp_server):
    command, base, lock_file = served
    command.wait_for("Booting worker with pid", times=3)
    command.wait_for("Scheduler running (pid")
    output = command.output()
    [master] = pids(output, r"Listening at: \S+ \((\d+)\)")
    web_workers = pids(output, r"Booting worker with pid: (\d+)")
    [scheduler] = pids(output, r"Scheduler running \(pid (\d+)")
    assert len(web_workers) == 3
    assert scheduler not in (master, *web_workers)
    assert int(lock_file.read_text()) == scheduler

    # The one scheduler sends Dana's digest, once.
    [digest] = smtp_server.wait_for(1, timeout=30)
    assert (digest["To"], digest["Subject"]) == ("dana@example.com", "1 follow-up due today")

    # Healthy once the worker has sent the outbox (it ticks every second here).
    deadline = time.monotonic() + 30
    while (status := Browser(base).get("/healthz")[0]) != 200:
        assert time.monotonic() < deadline, f"/healthz stays {status}"
        time.sleep(0.2)

    dana = Browser(base)
    dana.log_in("dana@example.com", PASSWORD)
    for _ in range(12):  # the workers share the connections; every one serves Dana
        status, page = dana.get("/contacts/")
        assert status == 200 and "Lee Park" in page

    assert Browser(base).get(f"/feed/{FEED_SECRET}.ics")[0] == 404
    command.wait_for('"GET /feed/[token] HTTP/1.1" 404')
    command.wait_for('"GET /contacts/ HTTP/1.1" 200', times=12)
    assert FEED_SECRET not in command.output()

    # Ctrl-C: gunicorn and the worker both stop; nothing is left running.
    assert command.signal_group(signal.SIGINT) is not None, command.output()
    assert "Scheduler stopped." in command.output()
    assert not [pid for pid in (master, scheduler, *web_workers) if alive(pid)]
    assert len(smtp_server.messages()) == 1
