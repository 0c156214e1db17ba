"""One scheduler at a time: the lock, the jobs it registers, and a second one waiting."""

import threading
import time
from pathlib import Path

import pytest
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import create_engine

from tracker import create_app, scheduler
from tracker.db import db
from tracker.models import JobRun

# SQLite's own settings and lock file: the PostgreSQL pass has nothing to run here.
sqlite_only = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


def wait_until(condition, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def job_runs(app) -> dict[str, JobRun]:
    with app.app_context():
        runs = {run.name: run for run in db.session.execute(db.select(JobRun)).scalars()}
        db.session.expunge_all()
        return runs


def test_file_lock_is_exclusive_until_released(tmp_path):
    first, second = scheduler.FileLock(tmp_path / "s.lock"), scheduler.FileLock(tmp_path / "s.lock")
    assert first.acquire() is True
    assert second.acquire() is False
    assert (tmp_path / "s.lock").read_text().strip().isdigit()  # the holder's pid
    first.release()
    assert second.acquire() is True
    second.release()


@sqlite_only
def test_sqlite_lock_sits_beside_the_database(app, tmp_path):
    lock = scheduler.lock_for(app)
    assert isinstance(lock, scheduler.FileLock)
    assert lock.path == Path(f"{tmp_path / 'keepwarm.sqlite3'}.scheduler.lock")


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_postgres_advisory_lock_is_exclusive_across_connections(app, database_url):
    lock = scheduler.lock_for(app)
    assert isinstance(lock, scheduler.AdvisoryLock)
    other_engine = create_engine(database_url)
    try:
        other = scheduler.AdvisoryLock(other_engine)
        assert lock.acquire() is True
        assert other.acquire() is False
        lock.release()
        assert other.acquire() is True
        assert lock.acquire() is False
        other.release()
    finally:
        other_engine.dispose()


def test_jobs_have_fixed_ids_and_safe_defaults(app):
    built = scheduler.build(BackgroundScheduler, app, threading.Event())
    built.start(paused=True)  # defaults are applied as jobs reach the store; nothing runs
    jobs = {job.id: job for job in built.get_jobs()}
    built.shutdown()
    assert set(jobs) == {"plan-digests", "dispatch-outbox", "reap-leases", "housekeeping"}
    for job in jobs.values():
        assert (job.coalesce, job.max_instances, job.misfire_grace_time) == (True, 1, 300)
    assert jobs["dispatch-outbox"].trigger.interval.total_seconds() == 10
    assert jobs["plan-digests"].trigger.interval.total_seconds() == 60
    assert isinstance(built._jobstores["default"], MemoryJobStore)


def test_each_run_is_recorded_with_its_error(app):
    def broken() -> None:
        raise RuntimeError("database on fire")

    scheduler.run_job(app, "plan-digests", lambda: None)
    scheduler.run_job(app, "housekeeping", broken)
    runs = job_runs(app)
    assert runs["plan-digests"].last_error == ""
    assert runs["plan-digests"].last_success_at == runs["plan-digests"].last_run_at
    assert runs["housekeeping"].last_error == "RuntimeError: database on fire"
    assert runs["housekeeping"].last_success_at is None

    scheduler.run_job(app, "housekeeping", lambda: None)
    assert job_runs(app)["housekeeping"].last_error == ""


def test_create_app_starts_no_thread(app):
    before = threading.active_count()
    create_app({"SECRET_KEY": "k" * 40, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert threading.active_count() == before


def test_a_second_scheduler_waits_and_takes_over(app):
    app.config["SCHEDULER_LOCK_POLL_SECONDS"] = 0.05
    said: list[str] = []
    first = scheduler.BackgroundRunner(app, say=said.append)
    second = scheduler.BackgroundRunner(app, say=said.append)
    first.start()
    wait_until(lambda: "dispatch-outbox" in job_runs(app))
    second.start()
    wait_until(lambda: any("waiting" in line for line in said))
    assert first.scheduler is not None and first.scheduler.running
    assert second.scheduler is None

    first.stop()
    wait_until(lambda: second.scheduler is not None and second.scheduler.running)
    assert not first.scheduler.running
    second.stop()
    assert sum("Scheduler running" in line for line in said) == 2
