"""The calendar feed of a user with 5,000 open follow-ups, against a static file.

    .venv/bin/python bench/feed.py [FOLLOW_UPS] [ROUNDS]

Runs the real app (its WSGI callable, through Flask's test client) on a temporary
SQLite file, or on DATABASE_URL, which it empties first: never point it at data you
want to keep. It fills one account by bulk insert, renders the feed once, saves those
bytes as a file in the app's static folder, and then, round after round in turn, times:

- the static file, a full GET (the yardstick)
- the feed, a full GET (200 with the body)
- the feed, a conditional GET answered 304
- the static file, a conditional GET answered 304 (for comparison)
- the feed rendered afresh, with its cache emptied (a few rounds only)

Each figure is printed as median and p95, and the feed's as ratios to the static file's
full GET. Targets: full feed at most 5x, a 304 at most 1.5x.
"""

import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tracker import create_app, feed  # noqa: E402
from tracker.accounts import create_user  # noqa: E402
from tracker.clock import local_today  # noqa: E402
from tracker.db import db  # noqa: E402
from tracker.models import (  # noqa: E402
    Contact,
    FollowUp,
    FollowUpKind,
    Interaction,
    InteractionKind,
    Interview,
    Organisation,
    Participant,
    Stage,
    User,
)

PASSWORD = "correct horse battery staple"  # noqa: S105 - a throwaway bench account
ZONE = "Europe/London"
KINDS = [FollowUpKind.THANK_YOU, FollowUpKind.CHECK_IN, FollowUpKind.STATUS_CHECK]


def rows(model, values: list[dict]) -> list[int]:
    """Bulk insert; the new ids in order."""
    statement = insert(model).returning(model.id, sort_by_parameter_order=True)
    return db.session.execute(statement, values).scalars().all()


def fill(app, count: int) -> tuple[int, str]:
    """One London user with `count` open follow-ups on people met at interviews, spread
    from 60 days back to 365 ahead; one in ten is a manual one with a time."""
    with app.app_context():
        today = local_today(ZONE)
        db.drop_all()
        db.create_all()
        user = create_user("bench@example.com", PASSWORD, ZONE)
        db.session.flush()
        uid = user.id
        organisations = rows(
            Organisation,
            [{"user_id": uid, "name": f"Org {n}", "name_key": f"org {n}"} for n in range(300)],
        )
        people = count // 2
        contacts = rows(
            Contact,
            [
                {"user_id": uid, "name": f"Person {n:05d}", "email": f"p{n}@example.com"}
                for n in range(people)
            ],
        )
        interviews = rows(
            Interview,
            [
                {
                    "user_id": uid,
                    "organisation_id": organisations[n % len(organisations)],
                    "role": "Backend Engineer",
                    "held_on": today - timedelta(days=n % 200),
                    "stage": Stage.ONSITE.value,
                    "outcome": "declined",
                }
                for n in range(people // 2)
            ],
        )
        rows(
            Participant,
            [
                {
                    "interview_id": interviews[n // 2],
                    "contact_id": contacts[n],
                    "topics": "Event sourcing, Kafka; and the team's on-call rota",
                }
                for n in range(people)
            ],
        )
        rows(
            Interaction,
            [
                {
                    "user_id": uid,
                    "contact_id": contacts[n],
                    "kind": InteractionKind.EMAIL.value,
                    "occurred_on": today - timedelta(days=3),
                    "note": "Said to write again after the reorg, and to mention the talk",
                }
                for n in range(0, people, 3)
            ],
        )
        span = 60 + 365
        changed = datetime(2026, 1, 1, tzinfo=UTC)
        rows(
            FollowUp,
            [
                {
                    "user_id": uid,
                    "contact_id": contacts[n % people],
                    "organisation_id": organisations[(n % people // 2) % len(organisations)],
                    "interview_id": None if n % 10 == 9 else interviews[(n % people) // 2],
                    "kind": (FollowUpKind.MANUAL if n % 10 == 9 else KINDS[n % 3]).value,
                    "generated": n % 10 != 9,
                    "title": "Send the article on rate limiters" if n % 10 == 9 else "",
                    "due_on": today - timedelta(days=60) + timedelta(days=n * span // count),
                    "due_time": datetime(2026, 1, 1, 9, 30).time() if n % 10 == 9 else None,
                    "revision": n % 4,
                    "changed_at": changed,
                    "created_at": changed,
                }
                for n in range(count)
            ],
        )
        token = feed.new_token(db.session.get(User, uid))
        db.session.commit()
        return uid, token


def timed(client, path: str, headers: dict | None = None, status: int = 200) -> float:
    started = time.perf_counter()
    response = client.get(path, headers=headers or {})
    response.get_data()
    elapsed = time.perf_counter() - started
    assert response.status_code == status, (path, response.status_code)
    return elapsed


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[-1]


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        names = [
            line.split(":", 1)[1].strip()
            for line in cpuinfo.read_text().splitlines()
            if line.startswith("model name")
        ]
        cpu = f"{names[0]} x{len(names)}" if names else cpu
    return f"{cpu}; {platform.system()} {platform.release()}; Python {platform.python_version()}"


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 5_000
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    with tempfile.TemporaryDirectory() as folder:
        url = os.environ.get("DATABASE_URL") or f"sqlite:///{folder}/bench.sqlite3"
        app = create_app(
            {
                "SECRET_KEY": "bench-" + "x" * 40,
                "SQLALCHEMY_DATABASE_URI": url,
                "INSTANCE_PATH": folder,
            }
        )
        started = time.perf_counter()
        _, token = fill(app, count)
        print(
            f"{count:,} open follow-ups inserted in {time.perf_counter() - started:.1f} s "
            f"({url.split(':')[0]})"
        )
        client = app.test_client()
        path = f"/feed/{token}.ics"
        first = client.get(path)
        body, etag = first.get_data(), first.headers["ETag"]
        events = body.count(b"BEGIN:VEVENT")
        assert events == count, f"the feed holds {events} events, not {count}"
        # The same bytes, served by the app's own static route from the same process.
        app.static_folder = folder
        Path(folder, "feed.ics").write_bytes(body)
        static = "/static/feed.ics"
        static_etag = client.get(static).headers["ETag"]

        times: dict[str, list[float]] = {key: [] for key in ("static", "full", "304", "s304")}
        cold: list[float] = []
        for number in range(rounds):
            times["static"].append(timed(client, static))
            times["full"].append(timed(client, path))
            times["304"].append(timed(client, path, {"If-None-Match": etag}, 304))
            times["s304"].append(timed(client, static, {"If-None-Match": static_etag}, 304))
            if number % max(1, rounds // 5) == 0:
                app.extensions["keepwarm_feed_cache"] = feed.RenderCache()
                cold.append(timed(client, path))

    base_median, base_p95 = statistics.median(times["static"]), p95(times["static"])
    print(f"\n{machine()}; {date.today().isoformat()}")
    print(f"Feed: {count:,} events, {len(body) / 1e6:.1f} MB; {rounds} rounds\n")
    print("| Request | median ms | p95 ms | × static, median | × static, p95 | target |")
    print("|---|---:|---:|---:|---:|---:|")
    table = [
        ("Static file, full GET", times["static"], ""),
        ("Feed, full GET (cached render)", times["full"], "<= 5x"),
        ("Feed, 304 GET", times["304"], "<= 1.5x"),
        ("Static file, 304 GET", times["s304"], ""),
        ("Feed, full GET, cache emptied", cold, ""),
    ]
    for label, values, target in table:
        median, high = statistics.median(values), p95(values) if len(values) > 1 else values[0]
        print(
            f"| {label} | {median * 1e3:.2f} | {high * 1e3:.2f} | "
            f"{median / base_median:.2f} | {high / base_p95:.2f} | {target} |"
        )


if __name__ == "__main__":
    main()
