"""Pages of an account of 100,000 contacts against one of 100, and against bare Flask.

    .venv/bin/python bench/pages.py [ROUNDS] [CONTACTS]

For each database (a temporary SQLite file; also PostgreSQL when BENCH_POSTGRES_URL
names a database it may empty), `demo-data --contacts` fills two accounts, one of 100
people and one of 100,000 (or CONTACTS, to try a change quickly), with the same
generator: their home sections, contact list pages, organisations (50 people each) and
the search below are all full, so both show the same number of rows.

One gunicorn worker (tracker/gunicorn_conf.py) then serves Keepwarm and, in the same
process, a bare Flask route returning as many bytes as each page of the large account
(bench/lib/same_server.py). Over one kept-alive HTTP connection per account on
loopback, each page is requested in turn, both accounts and the bare route, round after
round, and timed from the client until the last byte: server time (routing, session,
queries, templates) plus what the server and the connection add, which the bare route
pays too.

Each page is timed twice a round: "kept", asked for again with nothing changed, as a user
reopening it is (sent from the pages kept whole, tracker/web/kept_pages.py); and "after a
change", asked for just after the account's `feed_version` moved, as it does in every
write to what the page shows, so that the page, its counts and its badge are made again.

Targets: the 100,000-contact page within 1.5x the 100-contact one (median and p95); a
page within 4x of the bare route returning its number of bytes from the same server.
"""

import http.client
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "lib"))

from common import (  # noqa: E402
    backends,
    environment,
    free_port,
    gunicorn,
    load_average,
    machine,
    median,
    p95,
    scratch,
    session_cookie,
    sized_database,
    table,
    wait_for_http,
)
from sqlalchemy import create_engine, text  # noqa: E402

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
WARM_UP = 5  # rounds not counted: they fill caches and open connections
KEPT, CHANGED = "kept", "after a change"


class Changes:
    """Moves an account's feed_version, as any write to what its pages show does."""

    def __init__(self, url: str) -> None:
        self.engine = create_engine(url)

    def change(self, email: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                text('UPDATE "user" SET feed_version = feed_version + 1 WHERE email = :email'),
                {"email": email},
            )

    def close(self) -> None:
        self.engine.dispose()


def first_organisation(url: str, email: str) -> int:
    engine = create_engine(url)
    with engine.connect() as connection:
        found = connection.execute(
            text(
                'SELECT min(o.id) FROM organisation o JOIN "user" u ON u.id = o.user_id'
                " WHERE u.email = :email"
            ),
            {"email": email},
        ).scalar_one()
    engine.dispose()
    return found


class Browser:
    """One kept-alive connection that sends a cookie and keeps the one it is sent back."""

    def __init__(self, port: int, cookie: str = "") -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.cookie = cookie

    def get(self, path: str) -> tuple[float, bytes]:
        """Milliseconds from sending the request to reading the last byte, and the body."""
        headers = {"Cookie": self.cookie} if self.cookie else {}
        started = time.perf_counter()
        self.connection.request("GET", path, headers=headers)
        response = self.connection.getresponse()
        body = response.read()
        elapsed = (time.perf_counter() - started) * 1000
        if response.status != 200 or not body:
            sys.exit(f"{path}: {response.status}")
        sent = response.getheader("Set-Cookie")
        if sent and sent.startswith("session="):
            self.cookie = sent.split(";", 1)[0]
        return elapsed, body


def measure(name: str, url: str, folder: Path, rounds: int) -> str:
    print(f"-- {name}: filling the two accounts …", flush=True)
    seconds = sized_database(url, folder / name, ACCOUNTS)
    port = free_port()
    env = {
        **environment(url, folder / name, PORT=str(port)),
        "PYTHONPATH": str(Path(__file__).parent / "lib"),
    }
    server = gunicorn(env, folder / f"{name}-pages.log", "same_server:app", workers=1)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(base + "/login")
        browsers, paths = {}, {}
        for email in ACCOUNTS:
            browsers[email] = Browser(port, session_cookie(base, email))
            organisation = first_organisation(url, email)
            paths[email] = {
                page: path.format(organisation=organisation) for page, path in PAGES.items()
            }
        # The framework's floor: the bare route returning as many bytes as the big account's page.
        sizes = {
            page: len(browsers["big@example.com"].get(paths["big@example.com"][page])[1])
            for page in PAGES
        }
        browsers["bare"] = Browser(port)
        paths["bare"] = {page: f"/bare/{size}" for page, size in sizes.items()}

        times: dict[tuple[str, str, str], list[float]] = {}
        changes = Changes(url)
        for round_ in range(rounds + WARM_UP):
            for page in PAGES:
                for key, browser in browsers.items():
                    for variant in (CHANGED, KEPT):
                        if variant == CHANGED and key in ACCOUNTS:
                            changes.change(key)
                        elapsed, _ = browser.get(paths[key][page])
                        if round_ >= WARM_UP:
                            times.setdefault((page, variant, key), []).append(elapsed)
        changes.close()
    finally:
        server.stop()

    rows = []
    for page in PAGES:
        for variant in (KEPT, CHANGED):
            small, big, floor = (times[(page, variant, key)] for key in (*ACCOUNTS, "bare"))
            rows.append(
                [
                    page,
                    variant,
                    median(small),
                    p95(small),
                    median(big),
                    p95(big),
                    median(big) / median(small),
                    p95(big) / p95(small),
                    "≤ 1.5" if page in TARGETED else "(rows differ)",
                    f"{sizes[page] / 1024:.0f}",
                    median(floor),
                    p95(floor),
                    median(big) / median(floor),
                    p95(big) / p95(floor),
                    "≤ 4",
                ]
            )
    headers = [
        "page",
        "asked for",
        "100: median ms",
        "100: p95 ms",
        "100k: median ms",
        "100k: p95 ms",
        "100k/100 median",
        "100k/100 p95",
        "target",
        "KiB",
        "bare route, same bytes, same server: median ms",
        "bare: p95 ms",
        "100k page / bare, median",
        "100k page / bare, p95",
        "target",
    ]
    filled = ", ".join(f"{ACCOUNTS[e]:,} contacts in {s:.1f} s" for e, s in seconds.items())
    return f"### {name}\n\n`demo-data --contacts`: {filled}.\n\n" + table(headers, rows)


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 60
    if len(sys.argv) > 2:
        ACCOUNTS["big@example.com"] = int(sys.argv[2])
    print(f"Machine: {machine()}")
    reports = []
    with scratch() as folder:
        for name, url in backends():
            reports.append(measure(name, url, folder, rounds))
            print(reports[-1], flush=True)
    print(f"\n{rounds} rounds each, one gunicorn worker; load average at the end: {load_average()}")


if __name__ == "__main__":
    main()
