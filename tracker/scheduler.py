"""APScheduler as the clock: a few jobs with fixed ids, in memory, in exactly one process.

APScheduler's job stores cannot be shared between processes, and two schedulers would do
every job twice, so a scheduler runs only while it holds a lock: an flock on a file beside
the SQLite database, or a PostgreSQL advisory lock on a connection of its own. A second
scheduler polls for the lock and takes over when the first one stops or dies.
"""

import fcntl
import hashlib
import logging
import os
import signal
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from flask import Flask
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError

from . import jobs
from .clock import utcnow
from .db import db

log = logging.getLogger(__name__)

# A fixed 64-bit key for pg_try_advisory_lock, derived from a name so it is recognisable.
ADVISORY_KEY = int.from_bytes(hashlib.sha256(b"keepwarm-scheduler").digest()[:8], signed=True)
JOB_DEFAULTS = {"coalesce": True, "max_instances": 1, "misfire_grace_time": 300}


class FileLock:
    """An exclusive flock; the kernel releases it when the process dies, however it dies."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle = None

    def acquire(self) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+")  # noqa: SIM115 - held open for the scheduler's life
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        handle.truncate(0)
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._handle = handle
        return True

    def release(self) -> None:
        if self._handle is not None:
            fcntl.flock(self._handle, fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None

    def __str__(self) -> str:
        return f"file lock {self.path}"


class AdvisoryLock:
    """pg_try_advisory_lock on a dedicated autocommit connection, kept for the lock's life.

    The lock belongs to the database session: if this process dies, PostgreSQL ends the
    session and frees the lock.
    """

    def __init__(self, engine: Engine, key: int = ADVISORY_KEY) -> None:
        self.engine, self.key = engine, key
        self._connection: Connection | None = None

    def acquire(self) -> bool:
        connection = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        taken = connection.execute(
            text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key}
        ).scalar()
        if not taken:
            connection.close()
            return False
        self._connection = connection
        return True

    def release(self) -> None:
        if self._connection is not None:
            try:
                self._connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self.key})
            except DBAPIError:
                pass  # the session is gone (a restart, a lost connection), and the lock with it
            finally:
                self._connection.close()
                self._connection = None

    def __str__(self) -> str:
        return "PostgreSQL advisory lock"


def lock_for(app: Flask) -> FileLock | AdvisoryLock:
    """The lock that guards this app's database: beside the SQLite file, or in PostgreSQL."""
    with app.app_context():
        engine = db.engine
    if engine.dialect.name == "postgresql":
        return AdvisoryLock(engine)
    database = engine.url.database
    if database and database != ":memory:":
        return FileLock(Path(f"{database}.scheduler.lock"))
    return FileLock(Path(app.instance_path) / "scheduler.lock")


def wait_for_lock(
    lock: FileLock | AdvisoryLock, stop: threading.Event, poll: float, say: Callable[[str], None]
) -> bool:
    """Poll until the lock is ours (True) or `stop` is set (False)."""
    announced = False
    while not stop.is_set():
        if lock.acquire():
            say(f"Scheduler running (pid {os.getpid()}, holding the {lock}).")
            return True
        if not announced:
            say(f"Another scheduler holds the {lock}; waiting (pid {os.getpid()}).")
            announced = True
        stop.wait(poll)
    return False


def run_job(app: Flask, name: str, job: Callable[..., object], *args: object) -> None:
    """Run one job in an app context and record the run, whatever happens."""
    with app.app_context():
        started = utcnow()
        error = ""
        try:
            job(*args)
        except Exception as exc:  # noqa: BLE001 - recorded and logged; the next run retries
            db.session.rollback()
            error = f"{type(exc).__name__}: {exc}"
            log.exception("job %s failed", name)
        try:
            jobs.record_run(name, started, error)
        except Exception:  # noqa: BLE001 - the job's own outcome matters more than the log
            db.session.rollback()
            log.exception("could not record the run of %s", name)
        finally:
            db.session.remove()


def configure(scheduler: BaseScheduler, app: Flask, stop: threading.Event) -> BaseScheduler:
    """Register the jobs with their fixed ids; the first runs start at once."""
    tick = app.config["SCHEDULER_TICK_SECONDS"]
    start = datetime.now(UTC)
    plan: list[tuple[str, Callable[..., object], tuple, float, datetime]] = [
        ("reap-leases", jobs.reap_leases, (), 60, start),
        ("plan-digests", jobs.plan_digests, (), 60, start),
        ("dispatch-outbox", jobs.dispatch_outbox, (None, stop), tick, start + timedelta(seconds=1)),
        ("housekeeping", jobs.housekeeping, (), 3600, start + timedelta(seconds=30)),
    ]
    for job_id, function, args, seconds, first in plan:
        scheduler.add_job(
            run_job,
            "interval",
            seconds=seconds,
            args=(app, job_id, function, *args),
            id=job_id,
            name=job_id,
            next_run_time=first,
            replace_existing=True,
        )
    return scheduler


def build(
    cls: type[BaseScheduler],
    app: Flask,
    stop: threading.Event,
    executor: ThreadPoolExecutor | None = None,
) -> BaseScheduler:
    """A scheduler of class `cls` with the memory job store and the jobs registered."""
    scheduler = cls(
        jobstores={"default": MemoryJobStore()},
        executors={"default": executor or ThreadPoolExecutor(4)},
        job_defaults=JOB_DEFAULTS,
        timezone=UTC,
    )
    return configure(scheduler, app, stop)


class BackgroundRunner:
    """The scheduler beside the web server (`serve`): waits for the lock in a thread."""

    def __init__(self, app: Flask, say: Callable[[str], None] = log.info) -> None:
        self.app, self.say = app, say
        self.stop_event = threading.Event()
        self.lock = lock_for(app)
        self.scheduler: BaseScheduler | None = None
        self._thread = threading.Thread(target=self._run, name="keepwarm-scheduler", daemon=True)

    def _run(self) -> None:
        poll = self.app.config["SCHEDULER_LOCK_POLL_SECONDS"]
        if wait_for_lock(self.lock, self.stop_event, poll, self.say):
            self.scheduler = build(BackgroundScheduler, self.app, self.stop_event)
            self.scheduler.start()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Let a running job finish its current message, then stop and free the lock."""
        self.stop_event.set()
        self._thread.join()
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.shutdown(wait=True)
        self.lock.release()


def run_worker(app: Flask, say: Callable[[str], None]) -> None:
    """The scheduler as a process of its own (`worker`), until SIGTERM or SIGINT.

    A signal stops new work at once; a message being sent is finished and recorded, no
    new one is claimed, the lock is freed, and the function returns (exit status 0).
    """
    stop, finished = threading.Event(), threading.Event()
    executor = ThreadPoolExecutor(4)
    scheduler = build(BlockingScheduler, app, stop, executor)
    received: list[str] = []

    def on_signal(signum: int, _frame: object) -> None:
        # Only flags here: the signal may interrupt this thread inside APScheduler or the
        # thread pool while it holds their locks, so stopping them here could deadlock.
        received.append(signal.Signals(signum).name)
        stop.set()

    def stop_when_asked() -> None:
        stop.wait()
        say(f"{received[0] if received else 'Stop'}: finishing the current message, then stopping.")
        while not finished.is_set():
            if scheduler.running:  # it may still be starting when the signal comes
                scheduler.shutdown(wait=False)
                return
            finished.wait(0.1)

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    threading.Thread(target=stop_when_asked, name="keepwarm-stop", daemon=True).start()
    lock = lock_for(app)
    try:
        if wait_for_lock(lock, stop, app.config["SCHEDULER_LOCK_POLL_SECONDS"], say):
            if not stop.is_set():
                scheduler.start()
            executor.shutdown(wait=True)  # the message on the wire is finished and recorded
            say("Scheduler stopped.")
    finally:
        finished.set()
        lock.release()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
