"""Writes under contention: 20 writes a second for 60 s while the worker sends the outbox.

    .venv/bin/python bench/writes.py [SECONDS] [RATE]

For each database (a temporary SQLite file, the one-machine default where a writer
waits for the others; also PostgreSQL when BENCH_POSTGRES_URL names a database it may
empty): Keepwarm under gunicorn with 5 workers and one `worker` process, an account of
10,000 contacts, and 2,000 other users whose digests are due, so the worker plans and
sends (to a slow SMTP sink on 127.0.0.1) for the whole run. A logged-in user logs an
interaction with a different contact every 1/RATE s (a write of several tables: the
interaction, follow-ups completed and planned), each request on its own schedule so a
slow one does not hold back the next. Targets: no "database is locked" anywhere (web or
worker logs, or as an error answer) and a write p95 of at most 200 ms.
"""

import http.cookiejar
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "lib"))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import (  # noqa: E402
    BIN,
    PASSWORD,
    SECRET_KEY,
    Server,
    backends,
    environment,
    free_port,
    gunicorn,
    load_average,
    machine,
    median,
    p95,
    scratch,
    sized_database,
    table,
    wait_for_http,
)
from delivery import SinkServer, users_due  # noqa: E402

from tracker import create_app  # noqa: E402
from tracker.accounts import find_user_by_email  # noqa: E402
from tracker.db import db  # noqa: E402
from tracker.models import Contact, Outbox  # noqa: E402

EMAIL = "writer@example.com"
T0 = datetime(2026, 11, 21, 7, 0, tzinfo=UTC)  # 08:00 in Berlin: the digests are due
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
SLOW_SINK = 0.02  # seconds per message: the worker keeps sending for the whole run


def prepare(url: str, instance: Path, digests: int) -> list[int]:
    """The writer's 10,000 contacts, and users with a digest due; the contact ids."""
    sized_database(url, instance, {EMAIL: 10_000})
    app = create_app(
        {"SECRET_KEY": SECRET_KEY, "SQLALCHEMY_DATABASE_URI": url, "INSTANCE_PATH": str(instance)}
    )
    with app.app_context():
        users_due(digests)
        writer = find_user_by_email(EMAIL)
        contacts = db.session.execute(
            db.select(Contact.id).filter_by(user_id=writer.id).order_by(Contact.id)
        ).scalars()
        found = list(contacts)
        db.session.remove()
        db.engine.dispose()
    return found


class Writer:
    """A logged-in browser session posting interactions, safe to use from many threads."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args, **kwargs):
                return None

        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), NoRedirect
        )
        page = self.opener.open(base + "/login", timeout=30).read().decode()
        self.token = CSRF.search(page).group(1)
        form = {"email": EMAIL, "password": PASSWORD, "csrf_token": self.token}
        try:
            self.opener.open(base + "/login", urllib.parse.urlencode(form).encode(), timeout=30)
        except urllib.error.HTTPError as answer:
            if answer.code != 302:
                raise
        # A login starts a new session, with a new CSRF token: read it from a form page.
        page = self.opener.open(base + "/interviews/new", timeout=30).read().decode()
        self.token = CSRF.search(page).group(1)

    def write(self, contact_id: int) -> tuple[float, int, str]:
        form = urllib.parse.urlencode(
            {
                "kind": "email",
                "occurred_on": "2026-11-21",
                "note": "Wrote to say hello.",
                "csrf_token": self.token,
            }
        ).encode()
        started = time.perf_counter()
        try:
            with self.opener.open(f"{self.base}/contacts/{contact_id}/interactions", form, 30) as r:
                status, body = r.status, r.read().decode(errors="replace")
        except urllib.error.HTTPError as answer:
            status, body = answer.code, answer.read().decode(errors="replace")
        except OSError as error:
            status, body = 0, str(error)
        return (time.perf_counter() - started) * 1000, status, body


def measure(name: str, url: str, folder: Path, seconds: int, rate: int) -> str:
    print(f"-- {name}: 10,000 contacts and 2,000 digests due …", flush=True)
    contacts = prepare(url, folder / name, 2000)
    sink = SinkServer(delay=SLOW_SINK)
    port = free_port()
    env = environment(
        url,
        folder / name,
        PORT=str(port),
        KEEPWARM_NOW=T0.isoformat(),
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=str(sink.port),
        SMTP_SECURITY="none",
        SCHEDULER_TICK_SECONDS="1",
    )
    web = gunicorn(env, folder / f"{name}-web.log", workers=5)
    worker = Server([str(BIN / "flask"), "--app", "app", "worker"], env, folder / f"{name}-w.log")
    base = f"http://127.0.0.1:{port}"
    results: list[tuple[float, int, str]] = []
    try:
        wait_for_http(base + "/login")
        writer = Writer(base)
        writer.write(contacts[-1])  # warm
        total = seconds * rate
        sent_before = sink.count()
        began = time.perf_counter()
        with ThreadPoolExecutor(max_workers=32) as pool:
            futures = []
            for n in range(total):
                delay = began + n / rate - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
                futures.append(pool.submit(writer.write, contacts[n % len(contacts)]))
            results = [future.result() for future in futures]
        elapsed = time.perf_counter() - began
        mailed = sink.count() - sent_before
    finally:
        web.stop()
        worker.stop()
        sink.stop()
    locked_logs = (web.output() + worker.output()).count("database is locked")
    latencies = [ms for ms, status, _ in results if status == 302]
    failed = [(status, body[:200]) for _, status, body in results if status != 302]
    locked_answers = sum("database is locked" in body for _, _, body in results)
    app = create_app(
        {"SECRET_KEY": SECRET_KEY, "SQLALCHEMY_DATABASE_URI": url, "INSTANCE_PATH": str(folder)}
    )
    with app.app_context():
        queued = db.session.execute(db.select(db.func.count()).select_from(Outbox)).scalar()
        db.engine.dispose()
    rows = [
        [
            f"{len(results)} writes at {rate}/s over {elapsed:.0f} s",
            len(results) - len(failed),
            len(failed),
            locked_logs + locked_answers,
            median(latencies) if latencies else "-",
            p95(latencies) if len(latencies) > 1 else "-",
            f"{mailed} sent of {queued}",
        ],
        ["target", "all", "0", "0", "", "≤ 200", "sending all along"],
    ]
    headers = [
        "",
        "saved (302)",
        "failed",
        '"database is locked"',
        "median ms",
        "p95 ms",
        "emails meanwhile",
    ]
    report = f"### {name}\n\n" + table(headers, rows)
    if failed:
        report += f"\n\nFirst failures: {failed[:3]}"
    return report


def main() -> None:
    seconds = int(sys.argv[1]) if len(sys.argv) > 1 else 60
    rate = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    print(f"Machine: {machine()}")
    with scratch() as folder:
        for name, url in backends():
            print(measure(name, url, folder, seconds, rate), flush=True)
    print(f"\nLoad average at the end: {load_average()}")


if __name__ == "__main__":
    main()
