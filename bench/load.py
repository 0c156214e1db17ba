"""Load: the contacts list under gunicorn with 5 workers, driven by wrk and hey on loopback.

    .venv/bin/python bench/load.py [SECONDS] [CONTACTS]

For each database (a temporary SQLite file; also PostgreSQL when BENCH_POSTGRES_URL
names a database it may empty): an account of 100,000 contacts, Keepwarm served as
`make serve` serves it (tracker/gunicorn_conf.py, 5 workers, plus one `worker`
process), and, in the same run, a reference page (bench/lib/reference_app.py: bare
Flask, Flask-SQLAlchemy and Jinja listing the same 50 contacts, no auth) under the same
gunicorn settings, both serving at once. Each is measured, logged in where it needs it,
for SECONDS (10) per figure:

- the most requests per second (wrk, 2 threads, 10 connections), and errors: the mean
  of four runs of SECONDS/2 each, Keepwarm's and the reference's taking turns. Keepwarm's
  twice: the list asked for again and again, as a user reopening it does (sent from the
  pages kept whole, tracker/web/kept_pages.py), and under a new URL every request, so
  that each is made afresh;
- the 95th percentile at a fixed 50 and 100 requests per second (hey -q);
- the memory of the web server and the worker (PSS, shared pages counted once).

Targets: ≥ 150 requests/s with no error, p95 ≤ 100 ms at 50/s and ≤ 250 ms at 100/s,
≤ 512 MiB, and Keepwarm's throughput ≥ 0.5 of the reference page's.
"""

import re
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "lib"))

from common import (  # noqa: E402
    BIN,
    Server,
    backends,
    environment,
    free_port,
    gunicorn,
    load_average,
    machine,
    memory_mib,
    process_tree,
    scratch,
    session_cookie,
    sized_database,
    table,
    wait_for_http,
)

EMAIL = "big@example.com"
CONTACTS = 100_000
WORKERS = 5
# wrk runs Keepwarm and the reference in turn, this many times each.
ROUNDS = 4


def tools() -> None:
    missing = [tool for tool in ("wrk", "hey") if not shutil.which(tool)]
    if missing:
        sys.exit(
            f"bench/load.py needs {' and '.join(missing)} (Debian packages): "
            f"apt-get install -y {' '.join(missing)}"
        )


def run(command: list[str]) -> str:
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)  # noqa: S603
    if done.returncode != 0:
        sys.exit(f"{command[0]} failed: {done.stderr}")
    return done.stdout


# For wrk -s: every request a URL not asked for before (`?fresh=<thread>-<n>`), so that
# no page is sent from those kept whole (tracker/web/kept_pages.py) and each is made.
FRESH_URLS = Path(__file__).parent / "lib" / "fresh_urls.lua"


def wrk(url: str, cookie: str, seconds: int, fresh: bool = False) -> tuple[float, int]:
    """Requests per second at full speed, and errors (non-2xx/3xx, socket errors)."""
    header = ["-H", f"Cookie: {cookie}"] if cookie else []
    script = ["-s", str(FRESH_URLS)] if fresh else []
    out = run(["wrk", "-t2", "-c10", f"-d{seconds}s", *header, *script, url])
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rate, errors + (int(non_2xx.group(1)) if non_2xx else 0)


def hey(url: str, cookie: str, seconds: int, rate: int) -> tuple[float, int]:
    """p95 in ms at a fixed rate (hey -q is per connection), and non-200 answers."""
    connections = rate // 10
    header = ["-H", f"Cookie: {cookie}"] if cookie else []
    out = run(["hey", "-z", f"{seconds}s", "-c", str(connections), "-q", "10", *header, url])
    p95 = float(re.search(r"95% in ([\d.]+) secs", out).group(1)) * 1000
    answers = {int(code): int(n) for code, n in re.findall(r"\[(\d+)\]\s+(\d+) responses", out)}
    return p95, sum(n for code, n in answers.items() if code != 200)


def latency(label: str, url: str, cookie: str, seconds: int, pids: list[int]) -> dict:
    """p95 at 50 and 100 requests/s, errors meanwhile, and memory after the load."""
    p95_50, bad_50 = hey(url, cookie, seconds, 50)
    p95_100, bad_100 = hey(url, cookie, seconds, 100)
    memory = memory_mib([pid for parent in pids for pid in process_tree(parent)])
    print(f"   {label}: p95 {p95_50:.0f} / {p95_100:.0f} ms, {memory:.0f} MiB", flush=True)
    return {"errors": bad_50 + bad_100, "p95_50": p95_50, "p95_100": p95_100, "memory": memory}


def throughput(targets: dict[str, tuple[str, str, bool]], seconds: int) -> dict[str, tuple]:
    """Requests/s of each (url, cookie, fresh) at full speed, and errors: wrk runs them in
    turn, ROUNDS times each for half of `seconds`, so a machine that speeds up or slows
    down meanwhile (a shared one does, by half within a minute) moves every figure alike.
    The rate is the mean of the runs."""
    for url, cookie, _ in targets.values():  # warm up: templates compiled, connections open
        run(["hey", "-n", "300", "-c", "5", *(["-H", f"Cookie: {cookie}"] if cookie else []), url])
    rates: dict[str, list[float]] = {name: [] for name in targets}
    errors = dict.fromkeys(targets, 0)
    for _ in range(ROUNDS):
        for name, (url, cookie, fresh) in targets.items():
            rate, failed = wrk(url, cookie, max(1, seconds // 2), fresh)
            rates[name].append(rate)
            errors[name] += failed
    for name, each in rates.items():
        print(f"   {name}: {', '.join(f'{rate:.0f}' for rate in each)} requests/s", flush=True)
    return {name: (sum(each) / len(each), errors[name]) for name, each in rates.items()}


def measure(name: str, url: str, folder: Path, seconds: int, contacts: int) -> str:
    print(f"-- {name}: an account of {contacts:,} contacts …", flush=True)
    sized_database(url, folder / name, {EMAIL: contacts})
    port, reference_port = free_port(), free_port()
    env = environment(url, folder / name, PORT=str(port))
    reference_env = {
        **environment(url, folder / name, PORT=str(reference_port)),
        "PYTHONPATH": str(Path(__file__).parent / "lib"),
    }
    web = gunicorn(env, folder / f"{name}-web.log", workers=WORKERS)
    worker = Server([str(BIN / "flask"), "--app", "app", "worker"], env, folder / f"{name}-w.log")
    reference = gunicorn(reference_env, folder / f"{name}-ref.log", "reference_app:app", WORKERS)
    base, reference_url = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{reference_port}/"
    try:
        wait_for_http(base + "/login")
        wait_for_http(reference_url)
        cookie = session_cookie(base, EMAIL)
        rates = throughput(
            {
                "Keepwarm": (base + "/contacts/", cookie, False),
                "Keepwarm, made each time": (base + "/contacts/", cookie, True),
                "reference": (reference_url, "", False),
            },
            seconds,
        )
        ours = latency(
            "Keepwarm", base + "/contacts/", cookie, seconds, [web.process.pid, worker.process.pid]
        )
        theirs = latency("reference", reference_url, "", seconds, [reference.process.pid])
    finally:
        for server in (web, worker, reference):
            server.stop()
    for figures, (rate, errors) in ((ours, rates["Keepwarm"]), (theirs, rates["reference"])):
        figures["rate"] = rate
        figures["errors"] += errors
    made_rate, made_errors = rates["Keepwarm, made each time"]
    rows = [
        [
            "Keepwarm /contacts/ (logged in, 50 rows; kept whole)",
            ours["rate"],
            ours["errors"],
            ours["p95_50"],
            ours["p95_100"],
            ours["memory"],
            ours["rate"] / theirs["rate"],
        ],
        [
            "Keepwarm /contacts/?fresh=… (made each time: a new URL per request)",
            made_rate,
            made_errors,
            "",
            "",
            "",
            made_rate / theirs["rate"],
        ],
        [
            "reference page (Flask + SQLAlchemy + Jinja, 50 rows, no auth)",
            theirs["rate"],
            theirs["errors"],
            theirs["p95_50"],
            theirs["p95_100"],
            theirs["memory"],
            1.0,
        ],
        ["target", "≥ 150", "0", "≤ 100", "≤ 250", "≤ 512", "≥ 0.5"],
    ]
    headers = [
        "",
        "requests/s (wrk)",
        "errors",
        "p95 ms at 50/s (hey)",
        "p95 ms at 100/s (hey)",
        "memory MiB (web + worker)",
        "× reference",
    ]
    return f"### {name}\n\n" + table(headers, rows)


def main() -> None:
    tools()
    seconds = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    contacts = int(sys.argv[2]) if len(sys.argv) > 2 else CONTACTS
    print(f"Machine: {machine()}")
    with scratch() as folder:
        for name, url in backends():
            print(measure(name, url, folder, seconds, contacts), flush=True)
    print(f"\n{seconds} s per figure; load average at the end: {load_average()}")


if __name__ == "__main__":
    main()
