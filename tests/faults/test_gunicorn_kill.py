"""A gunicorn worker killed (SIGKILL) in the middle of a request: all of the write or none.

Logging an interview writes an organisation, the interview, its people, their jobs and
their follow-ups in one transaction. The test holds a lock that makes the follow-up
inserts wait, so the request stops half-way with the rest of its rows written but not
committed; the worker serving it is then killed. Nothing of it may remain; gunicorn
starts a new worker, and the same form sent again saves everything, once.
"""

import os
import signal
import threading
import time
from pathlib import Path

import psycopg
import pytest
from mailserver import free_port
from running import PYTHON_BIN, Browser, Command, alive, children, wait_for_http
from sqlalchemy import func

from tracker.db import db
from tracker.models import Contact, FollowUp, Interview, Organisation, Participant, Position

PEOPLE = ("Ana Ruiz", "Ben Okafor", "Cleo Park")
FORM = {
    "organisation": "Halfway Industries",
    "role": "Staff Engineer",
    "held_on": "2026-11-20",
    "start_time": "",
    "stage": "onsite",
    "outcome": "declined",
    "interest": "4",
    "notes": "",
    **{
        f"people-{n}-{key}": value
        for n, name in enumerate(PEOPLE)
        for key, value in {"contact_id": "0", "role": "interviewer", "name": name}.items()
    },
}


def saved(app) -> dict[str, int]:
    """How many rows the interview left behind, table by table."""
    with app.app_context():
        place = db.select(Organisation.id).filter_by(name="Halfway Industries").scalar_subquery()
        people = db.select(Contact.id).where(Contact.name.in_(PEOPLE)).scalar_subquery()
        counts = {
            name: db.session.execute(
                db.select(func.count()).select_from(model).where(cond)
            ).scalar()
            for name, model, cond in (
                ("organisations", Organisation, Organisation.name == "Halfway Industries"),
                ("interviews", Interview, Interview.organisation_id == place),
                ("contacts", Contact, Contact.name.in_(PEOPLE)),
                ("positions", Position, Position.organisation_id == place),
                ("participants", Participant, Participant.contact_id.in_(people)),
                ("follow_ups", FollowUp, FollowUp.contact_id.in_(people)),
            )
        }
        db.session.remove()
        return counts


def socket_owner(local_port: int, candidates: list[int]) -> int:
    """Which of these processes has a TCP socket on `local_port` (the client end)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == local_port:
                inodes.add(fields[9])
    for pid in candidates:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                target = fd.readlink()
            except OSError:
                continue
            if str(target).startswith("socket:[") and str(target)[8:-1] in inodes:
                return pid
    raise AssertionError(f"no process among {candidates} uses port {local_port}")


def conninfo(app) -> str:
    return app.config["SQLALCHEMY_DATABASE_URI"].replace("postgresql+psycopg://", "postgresql://")


@pytest.fixture
def served(app, tmp_path, make_user):
    make_user("dana@example.com")
    port = free_port()
    env = {
        "PATH": "/usr/bin:/bin",
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "SECRET_KEY": app.config["SECRET_KEY"],
        "KEEPWARM_INSTANCE": str(tmp_path / "instance"),
        "KEEPWARM_NOW": "2026-11-21T09:00:00+00:00",
        "PORT": str(port),
        "WEB_CONCURRENCY": "2",
        "PYTHONUNBUFFERED": "1",
    }
    web = Command(
        [str(PYTHON_BIN / "gunicorn"), "--config", "python:tracker.gunicorn_conf", "app:app"], env
    )
    try:
        wait_for_http(f"http://127.0.0.1:{port}/login")
        web.wait_for("Booting worker with pid", times=2)
        yield web, f"http://127.0.0.1:{port}"
    finally:
        web.stop()


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_a_killed_worker_leaves_nothing_half_saved(app, served):
    web, base = served
    dana = Browser(base)
    dana.log_in("dana@example.com", "correct horse battery staple")

    with psycopg.connect(conninfo(app)) as blocker:
        # Follow-ups are written last: the request waits there with everything else done.
        blocker.execute("LOCK TABLE follow_up IN SHARE ROW EXCLUSIVE MODE")
        answer: list = []

        def post() -> None:
            try:
                answer.append(dana.post_form("/interviews/new", "/interviews/new", FORM, 60))
            except OSError as error:  # the worker died: no answer at all
                answer.append(error)

        request = threading.Thread(target=post, daemon=True)
        request.start()
        with psycopg.connect(conninfo(app), autocommit=True) as observer:
            deadline = time.monotonic() + 30
            while True:
                waiting = observer.execute(
                    "SELECT client_port FROM pg_stat_activity "
                    "WHERE wait_event_type = 'Lock' AND datname = current_database()"
                ).fetchall()
                if waiting:
                    break
                assert time.monotonic() < deadline, "the request never reached the follow-ups"
                time.sleep(0.05)
            [(client_port,)] = waiting
            workers = children(web.pid)
            victim = socket_owner(client_port, workers)
            os.kill(victim, signal.SIGKILL)
            request.join(30)
            assert answer and not (isinstance(answer[0], tuple) and answer[0][0] == 302), answer
            blocker.rollback()  # the lock goes; the orphaned backend finds its client gone
            deadline = time.monotonic() + 30
            while observer.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE client_port = %s", (client_port,)
            ).fetchone()[0]:
                assert time.monotonic() < deadline, "the killed worker's session lingers"
                time.sleep(0.05)

    assert not alive(victim)
    assert set(saved(app).values()) == {0}, saved(app)

    # gunicorn replaces the worker, and the same form saves everything, once.
    web.wait_for("Booting worker with pid", times=3)
    status, _ = dana.post_form("/interviews/new", "/interviews/new", FORM)
    assert status == 302
    assert saved(app) == {
        "organisations": 1,
        "interviews": 1,
        "contacts": 3,
        "positions": 3,
        "participants": 3,
        "follow_ups": 3 * 2,  # a thank-you and a check-in each (an interview declined)
    }
