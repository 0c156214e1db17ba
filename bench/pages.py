"""Pages of an account of 100,000 contacts against one of 100, and against bare Flask.

    .venv/bin/python bench/pages.py [ROUNDS]

For each database (a temporary SQLite file; also PostgreSQL when BENCH_POSTGRES_URL
names a database it may empty), `demo-data --contacts` fills two accounts, one of 100
people and one of 100,000, with the same generator: their home sections, contact list
pages, organisations (50 people each) and the search below are all full, so both show
the same number of rows. Each page is then requested in turn, round after round, through
the app's WSGI callable (server time: routing, session, queries, templates), and so is a
bare Flask route returning as many bytes as the large account's page, in the same run.

Targets: the 100,000-contact page within 1.5x the 100-contact one (median and p95); a
page within 4x of the bare route returning its number of bytes.
"""

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "lib"))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import (  # noqa: E402
    PASSWORD,
    SECRET_KEY,
    backends,
    load_average,
    machine,
    median,
    p95,
    scratch,
    sized_database,
    table,
)
from flask import Flask  # noqa: E402

from tracker import create_app  # noqa: E402
from tracker.accounts import find_user_by_email  # noqa: E402
from tracker.db import db  # noqa: E402
from tracker.models import Organisation  # noqa: E402

ACCOUNTS = {"small@example.com": 100, "big@example.com": 100_000}
PAGES = {
    "home": "/",
    "contacts list": "/contacts/",
    "organisation page": "/organisations/{organisation}",
    "contact search (organisation)": "/contacts/?q=northwind",
    "contact search (surname)": "/contacts/?q=tanaka",
}
# Pages whose two versions show the same rows; the surname search is shown for interest.
TARGETED = ("home", "contacts list", "organisation page", "contact search (organisation)")


def first_organisation(app, email: str) -> int:
    with app.app_context():
        user = find_user_by_email(email)
        return db.session.execute(
            db.select(Organisation.id).filter_by(user_id=user.id).order_by(Organisation.id)
        ).scalar()


def timed(client, path: str) -> float:
    started = time.perf_counter()
    response = client.get(path)
    body = response.get_data()
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code != 200 or not body:
        sys.exit(f"{path}: {response.status_code}")
    return elapsed


def measure(name: str, url: str, folder: Path, rounds: int) -> str:
    print(f"-- {name}: filling the two accounts …", flush=True)
    seconds = sized_database(url, folder / name, ACCOUNTS)
    app = create_app(
        {
            "SECRET_KEY": SECRET_KEY,
            "SQLALCHEMY_DATABASE_URI": url,
            "INSTANCE_PATH": str(folder / name),
            "WTF_CSRF_ENABLED": False,
        }
    )
    clients = {}
    for email in ACCOUNTS:
        client = app.test_client()
        login = client.post("/login", data={"email": email, "password": PASSWORD})
        if login.status_code != 302:
            sys.exit(f"could not log in as {email}")
        paths = {
            page: path.format(organisation=first_organisation(app, email))
            for page, path in PAGES.items()
        }
        clients[email] = (client, paths)

    # The framework's floor: bare Flask returning the same number of bytes.
    bare = Flask("bare")
    sizes = {}
    big_client, big_paths = clients["big@example.com"]
    for page, path in big_paths.items():
        sizes[page] = len(big_client.get(path).get_data())
    for index, size in enumerate(sizes.values()):
        payload = b"x" * size
        bare.add_url_rule(f"/{index}", f"page{index}", lambda payload=payload: payload)
    bare_client = bare.test_client()

    times: dict[tuple[str, str], list[float]] = {}
    for round_ in range(rounds + 5):
        for index, page in enumerate(PAGES):
            for email, (client, paths) in clients.items():
                elapsed = timed(client, paths[page])
                if round_ >= 5:  # the first rounds warm caches and connections
                    times.setdefault((page, email), []).append(elapsed)
            elapsed = timed(bare_client, f"/{index}")
            if round_ >= 5:
                times.setdefault((page, "bare"), []).append(elapsed)

    rows = []
    for page in PAGES:
        small, big, floor = (times[(page, key)] for key in (*ACCOUNTS, "bare"))
        targeted = page in TARGETED
        rows.append(
            [
                page,
                median(small),
                p95(small),
                median(big),
                p95(big),
                median(big) / median(small),
                p95(big) / p95(small),
                "≤ 1.5" if targeted else "(rows differ)",
                f"{sizes[page] / 1024:.0f}",
                median(floor),
                median(big) / median(floor),
                "≤ 4",
            ]
        )
    headers = [
        "page",
        "100: median ms",
        "100: p95 ms",
        "100k: median ms",
        "100k: p95 ms",
        "100k/100 median",
        "100k/100 p95",
        "target",
        "KiB",
        "bare Flask, same bytes: median ms",
        "100k page / bare",
        "target",
    ]
    filled = ", ".join(f"{ACCOUNTS[e]:,} contacts in {s:.1f} s" for e, s in seconds.items())
    return f"### {name}\n\n`demo-data --contacts`: {filled}.\n\n" + table(headers, rows)


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 60
    print(f"Machine: {machine()}")
    reports = []
    with scratch() as folder:
        for name, url in backends():
            reports.append(measure(name, url, folder, rounds))
            print(reports[-1], flush=True)
    print(f"\n{rounds} rounds each; load average at the end: {load_average()}")


if __name__ == "__main__":
    main()
