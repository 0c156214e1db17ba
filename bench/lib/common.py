"""What the scale benchmarks share: databases to fill, servers to start, figures to print.

Everything runs on this machine and talks to 127.0.0.1 only. Databases are a temporary
SQLite file, or the PostgreSQL database named by BENCH_POSTGRES_URL, which is emptied
first: never point it at data you want to keep.
"""

import contextlib
import http.cookiejar
import os
import platform
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / ".venv" / "bin"
SECRET_KEY = "bench-secret-key-" + "b" * 48
PASSWORD = "keepwarm-demo"  # noqa: S105 - the demo-data default, for throwaway accounts
POSTGRES = os.environ.get("BENCH_POSTGRES_URL", "")


def median(values: list[float]) -> float:
    return statistics.median(values)


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[-1]


def machine() -> str:
    """CPU, cores, memory, OS, Python, SQLite and PostgreSQL versions, for RESULTS.md."""
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = ""
    with contextlib.suppress(OSError, ValueError, IndexError):
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kib / 1024 / 1024:.0f} GB RAM"
    import sqlite3

    described = (
        f"{cpu}, {os.cpu_count()} cores{memory}; {platform.system()} {platform.release()}; "
        f"Python {platform.python_version()}; SQLite {sqlite3.sqlite_version}"
    )
    if POSTGRES:
        with contextlib.suppress(Exception):
            engine = create_engine(POSTGRES)
            with engine.connect() as connection:
                version = connection.execute(text("SHOW server_version")).scalar()
            engine.dispose()
            described += f"; PostgreSQL {version.split()[0]}"
    return described


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def table(headers: list[str], rows: list[list[object]]) -> str:
    """A Markdown table (also readable in a terminal)."""

    def cell(value: object) -> str:
        return f"{value:.2f}" if isinstance(value, float) else str(value)

    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(value) for value in row) + " |" for row in rows]
    return "\n".join(lines)


def backends() -> list[tuple[str, str]]:
    """(name, database URL) for each database to measure: SQLite, and PostgreSQL if given.

    BENCH_DATABASES=postgresql (or sqlite) measures only that one."""
    folder = Path(tempfile.mkdtemp(prefix="keepwarm-bench-"))
    found = [("SQLite", f"sqlite:///{folder / 'bench.sqlite3'}")]
    if POSTGRES:
        found.append(("PostgreSQL", POSTGRES))
    only = os.environ.get("BENCH_DATABASES", "sqlite,postgresql").lower().split(",")
    return [(name, url) for name, url in found if name.lower() in only]


def empty_database(url: str) -> None:
    """A fresh database: the SQLite file removed, or PostgreSQL's public schema recreated."""
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        for suffix in ("", "-wal", "-shm", ".scheduler.lock"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def environment(url: str, instance: Path, **extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SMTP_", "KEEPWARM_"))}
    env.pop("BASE_URL", None)
    env.update(
        DATABASE_URL=url,
        SECRET_KEY=SECRET_KEY,
        KEEPWARM_INSTANCE=str(instance),
        PYTHONUNBUFFERED="1",
        **extra,
    )
    return env


def flask(env: dict, *args: str, timeout: float = 900) -> str:
    """Run a `flask --app app` command to completion; its output."""
    done = subprocess.run(  # noqa: S603 - our own command, arguments from this script
        [str(BIN / "flask"), "--app", "app", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if done.returncode != 0:
        sys.exit(f"flask {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


def sized_database(url: str, instance: Path, accounts: dict[str, int]) -> dict[str, float]:
    """Migrate an empty database and add `demo-data --contacts N` accounts; seconds each."""
    empty_database(url)
    env = environment(url, instance)
    flask(env, "db", "upgrade")
    seconds = {}
    for email, contacts in accounts.items():
        started = time.perf_counter()
        flask(env, "demo-data", "--contacts", str(contacts), "--email", email)
        seconds[email] = time.perf_counter() - started
    if url.startswith("postgresql"):
        # What autovacuum does within a minute of a bulk load: statistics for the planner
        # and a visibility map, so figures show the steady state, not the first minute.
        engine = create_engine(url, isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            connection.execute(text("VACUUM ANALYZE"))
        engine.dispose()
    return seconds


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """A command in its own process group (gunicorn, a worker), stopped with the group."""

    def __init__(self, args: list[str], env: dict, log: Path) -> None:
        self.log = log
        self._handle = log.open("w")
        self.process = subprocess.Popen(  # noqa: S603 - commands this bench builds
            args, cwd=ROOT, env=env, stdout=self._handle, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, sig)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
        self._handle.close()

    def output(self) -> str:
        return self.log.read_text()


def gunicorn(env: dict, log: Path, app: str = "app:app", workers: int = 5) -> Server:
    """The web app (or `app`) under tracker/gunicorn_conf.py, `workers` workers."""
    env = {**env, "WEB_CONCURRENCY": str(workers)}
    command = [str(BIN / "gunicorn"), "--config", "python:tracker.gunicorn_conf", app]
    return Server(command, env, log)


def wait_for_http(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5):  # noqa: S310 - loopback only
                return
        except urllib.error.HTTPError:
            return
        except OSError:
            if time.monotonic() > deadline:
                sys.exit(f"{url} never answered")
            time.sleep(0.2)


CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def session_cookie(base: str, email: str) -> str:
    """Log in over HTTP like a browser; the session cookie as a Cookie header value."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(base + "/login", timeout=30).read().decode()
    token = CSRF.search(page).group(1)
    form = {"email": email, "password": PASSWORD, "csrf_token": token}
    opener.open(base + "/login", urllib.parse.urlencode(form).encode(), timeout=30)
    cookies = "; ".join(f"{c.name}={c.value}" for c in jar)
    check = urllib.request.Request(base + "/contacts/", headers={"Cookie": cookies})  # noqa: S310
    with urllib.request.urlopen(check, timeout=30) as response:  # noqa: S310 - loopback
        if "/login" in response.url:
            sys.exit(f"could not log in as {email}")
    return cookies


def memory_mib(pids: list[int]) -> float:
    """Proportional set size of these processes, in MiB (shared pages counted once)."""
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
    return total / 1024


def process_tree(pid: int) -> list[int]:
    """The process and all its descendants, from /proc."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError):
                parents[int(entry.name)] = int(
                    (entry / "stat").read_text().rsplit(")", 1)[1].split()[1]
                )
    tree, frontier = [pid], [pid]
    while frontier:
        parent = frontier.pop()
        kids = [child for child, p in parents.items() if p == parent]
        tree += kids
        frontier += kids
    return tree


@contextlib.contextmanager
def scratch() -> Iterator[Path]:
    """A temporary folder for an instance folder and logs."""
    with tempfile.TemporaryDirectory(prefix="keepwarm-bench-") as folder:
        yield Path(folder)
