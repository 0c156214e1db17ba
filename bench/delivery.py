"""10,000 daily digests: the sweep and the outbox against a bare smtplib loop.

    .venv/bin/python bench/delivery.py [DIGESTS]

10,000 users each have a follow-up due at their digest hour. Keepwarm plans their
digests (compose: text, HTML, .ics; store in the outbox) and sends the outbox, as the
worker's jobs do, to an SMTP server on 127.0.0.1 that accepts and discards (aiosmtpd, in
a process of its own so it does not share the interpreter with what is measured). Then,
in the same run, a bare loop sends the very same stored messages with smtplib over one
connection: the most a Python sender could do. Target: Keepwarm's throughput, sweep and
sending together as the worker runs them (side by side, each batch sent as it is
stored), at least 0.5 of the bare loop's. Each part is also timed on its own, one after
the other, to show where the time goes.
"""

import subprocess
import sys
import threading
import time
from datetime import UTC, date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "lib"))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import (  # noqa: E402
    SECRET_KEY,
    backends,
    empty_database,
    environment,
    flask,
    free_port,
    load_average,
    machine,
    scratch,
    table,
)
from sqlalchemy import func, insert  # noqa: E402

from tracker import create_app, jobs  # noqa: E402
from tracker.db import db  # noqa: E402
from tracker.models import FollowUp, FollowUpKind, Outbox, OutboxStatus, User  # noqa: E402

T0 = datetime(2026, 11, 21, 7, 0, tzinfo=UTC)  # 08:00 in Berlin, everyone's digest hour
SINK = """
import asyncio, sys
from aiosmtpd.controller import Controller

class Sink:
    count = 0

    async def handle_DATA(self, server, session, envelope):
        if float(sys.argv[2]):
            await asyncio.sleep(float(sys.argv[2]))
        Sink.count += 1
        return "250 2.0.0 Accepted"

controller = Controller(Sink(), hostname="127.0.0.1", port=int(sys.argv[1]))
controller.start()
print("READY", flush=True)
for _ in sys.stdin:
    print(Sink.count, flush=True)
controller.stop()
"""


class SinkServer:
    """The discarding SMTP server, in its own process; `count()` asks how many it took.
    With `delay`, it takes that long over each message."""

    def __init__(self, delay: float = 0.0) -> None:
        self.port = free_port()
        self.process = subprocess.Popen(  # noqa: S603 - the sink above, on a free port
            [sys.executable, "-c", SINK, str(self.port), str(delay)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        if self.process.stdout.readline().strip() != "READY":
            sys.exit("the SMTP sink did not start")

    def count(self) -> int:
        self.process.stdin.write("count\n")
        self.process.stdin.flush()
        return int(self.process.stdout.readline())

    def stop(self) -> None:
        self.process.stdin.close()
        self.process.wait(10)


def users_due(count: int) -> None:
    hashed = "$argon2id$v=19$m=65536,t=3,p=4$bench$bench"  # never used to log in
    ids = (
        db.session.execute(
            insert(User).returning(User.id, sort_by_parameter_order=True),
            [
                {
                    "email": f"person{n}@example.com",
                    "password_hash": hashed,
                    "timezone": "Europe/Berlin",
                }
                for n in range(count)
            ],
        )
        .scalars()
        .all()
    )
    db.session.execute(
        insert(FollowUp),
        [
            {
                "user_id": user_id,
                "kind": FollowUpKind.MANUAL,
                "generated": False,
                "title": "Ask about the platform team",
                "due_on": date(2026, 11, 21),
            }
            for user_id in ids
        ],
    )
    db.session.commit()


def as_the_worker(app) -> tuple[int, str]:
    """plan-digests and dispatch-outbox in two threads of one process, as the worker's
    executor runs them: the sender sends each batch of digests as the sweep stores it.
    The sender's pass is run again until the sweep has ended and nothing is left, as its
    ticks would (without the wait between ticks)."""
    planned: list[int] = []
    reports: list[str] = []

    def plan() -> None:
        with app.app_context():
            planned.append(jobs.plan_digests(T0))
            db.session.remove()

    planner = threading.Thread(target=plan)
    planner.start()
    with app.app_context():
        while True:
            finished = not planner.is_alive()
            report = jobs.dispatch_outbox(T0)
            if report != "nothing to send":
                reports.append(report)
            elif finished:
                break
            else:
                time.sleep(0.01)
        db.session.remove()
    planner.join()
    return planned[0], "; ".join(reports)


def check(count: int, planned: int, delivered: int, report: str) -> None:
    """Every digest planned, sent and recorded once."""
    if planned != count or delivered != count:
        sys.exit(f"planned {planned}, delivered {delivered}: {report}")
    statuses = dict(
        db.session.execute(db.select(Outbox.status, func.count()).group_by(Outbox.status)).all()
    )
    if statuses != {OutboxStatus.SENT: count}:
        sys.exit(f"outbox: {statuses}")


def measure(name: str, url: str, folder: Path, count: int, sink: SinkServer) -> str:
    print(f"-- {name}: {count:,} users with a digest due …", flush=True)
    empty_database(url)
    flask(environment(url, folder / name), "db", "upgrade")
    app = create_app(
        {
            "SECRET_KEY": SECRET_KEY,
            "SQLALCHEMY_DATABASE_URI": url,
            "INSTANCE_PATH": str(folder / name),
            "NOW": T0,
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": sink.port,
            "SMTP_SECURITY": "none",
        }
    )
    with app.app_context():
        users_due(count)
        # One after the other first, to show what each part costs on its own.
        before = sink.count()
        started = time.perf_counter()
        planned = jobs.plan_digests(T0)
        swept = time.perf_counter()
        report = jobs.dispatch_outbox(T0)
        sent = time.perf_counter()
        check(count, planned, sink.count() - before, report)
        db.session.execute(db.delete(Outbox))
        db.session.commit()
        db.session.remove()
    # Then as the worker runs them: the target's figure.
    before = sink.count()
    began = time.perf_counter()
    planned, report = as_the_worker(app)
    together = time.perf_counter() - began
    with app.app_context():
        check(count, planned, sink.count() - before, report)
        messages = [
            (recipient, message.encode("utf-8"))
            for recipient, message in db.session.execute(
                db.select(Outbox.recipient, Outbox.message).order_by(Outbox.id)
            )
        ]
        db.session.remove()
        db.engine.dispose()

    import smtplib

    before = sink.count()
    began = time.perf_counter()
    connection = smtplib.SMTP("127.0.0.1", sink.port, timeout=30)
    for recipient, message in messages:
        connection.sendmail("keepwarm@localhost", [recipient], message)
    connection.quit()
    bare = time.perf_counter() - began
    if sink.count() - before != count:
        sys.exit("the bare loop lost messages")

    rate = {
        "bare": count / bare,
        "both": count / together,
        "sweep": count / (swept - started),
        "send": count / (sent - swept),
    }
    rows = [
        ["bare smtplib loop, one connection (the limit)", bare, rate["bare"], 1.0, ""],
        [
            "Keepwarm: digest sweep and outbox sending, as the worker runs them",
            together,
            rate["both"],
            rate["both"] / rate["bare"],
            "≥ 0.5",
        ],
        [
            "… the sweep alone (compose, store)",
            swept - started,
            rate["sweep"],
            rate["sweep"] / rate["bare"],
            "",
        ],
        [
            "… the sending alone (claim, send, record)",
            sent - swept,
            rate["send"],
            rate["send"] / rate["bare"],
            "",
        ],
    ]
    kib = sum(len(message) for _, message in messages) / count / 1024
    headers = ["", "seconds", "messages/s", "× bare loop", "target"]
    return f"### {name}\n\n{count:,} digests of {kib:.0f} KiB on average.\n\n" + table(
        headers, rows
    )


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    print(f"Machine: {machine()}")
    # Other work on the machine slows both sides of each ratio alike only when it is
    # steady: the load before and after says whether it was.
    print(f"Load average at the start: {load_average()}")
    sink = SinkServer()
    try:
        with scratch() as folder:
            for name, url in backends():
                print(measure(name, url, folder, count, sink), flush=True)
    finally:
        sink.stop()
    print(f"\nLoad average at the end: {load_average()}")


if __name__ == "__main__":
    main()
