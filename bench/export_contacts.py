"""Export 100,000 contacts as CSV, vCard and the JSON backup; report time and peak memory.

    .venv/bin/python bench/export_contacts.py [CONTACTS]

Runs the real app on a temporary SQLite file (or DATABASE_URL, which it empties first:
never point it at data you want to keep), fills one account by bulk insert, and streams
each download through the test client: once for the time, once measuring the most
memory Python held at once while the body was produced (tracemalloc, which is slow).
"""

import io
import os
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

from sqlalchemy import insert

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tracker import create_app  # noqa: E402
from tracker.accounts import create_user  # noqa: E402
from tracker.db import db  # noqa: E402
from tracker.models import Contact, Organisation, Position  # noqa: E402

PASSWORD = "correct horse battery staple"  # noqa: S105 - a throwaway bench account
URLS = ("/export/contacts.csv", "/export/contacts.vcf", "/export/backup.json")


def fill(app, count: int) -> int:
    """One user with `count` contacts, each with a job at one of 500 organisations."""
    with app.app_context():
        db.drop_all()
        db.create_all()
        user = create_user("bench@example.com", PASSWORD, "UTC")
        db.session.flush()
        organisations = (
            db.session.execute(
                insert(Organisation).returning(Organisation.id, sort_by_parameter_order=True),
                [
                    {"user_id": user.id, "name": f"Org {n}", "name_key": f"org {n}"}
                    for n in range(500)
                ],
            )
            .scalars()
            .all()
        )
        for start in range(0, count, 20_000):
            people = [
                {
                    "user_id": user.id,
                    "name": f"Person {n:06d}",
                    "email": f"person{n}@example.com",
                    "phone": f"+44 20 7946 {n % 10_000:04d}",
                    "linkedin_url": f"https://www.linkedin.com/in/person-{n}",
                }
                for n in range(start, min(count, start + 20_000))
            ]
            ids = (
                db.session.execute(
                    insert(Contact).returning(Contact.id, sort_by_parameter_order=True), people
                )
                .scalars()
                .all()
            )
            db.session.execute(
                insert(Position),
                [
                    {"contact_id": ident, "organisation_id": organisations[ident % 500]}
                    for ident in ids
                ],
            )
        db.session.commit()
        return user.id


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    with tempfile.TemporaryDirectory() as folder:
        url = os.environ.get("DATABASE_URL") or f"sqlite:///{folder}/bench.sqlite3"
        app = create_app(
            {
                "SECRET_KEY": "bench-" + "x" * 40,
                "SQLALCHEMY_DATABASE_URI": url,
                "INSTANCE_PATH": folder,
                "WTF_CSRF_ENABLED": False,  # the bench logs in with a bare POST
                "BACKUP_MAX_BYTES": 100 * 1024 * 1024,
                "UPLOAD_REQUEST_MAX_BYTES": 110 * 1024 * 1024,
            }
        )
        started = time.monotonic()
        fill(app, count)
        backend = url.split(":")[0]
        print(f"{count:,} contacts inserted in {time.monotonic() - started:.1f} s ({backend})")
        client = app.test_client()
        client.post("/login", data={"email": "bench@example.com", "password": PASSWORD})
        for path in URLS:
            started = time.monotonic()
            size = len(client.get(path).get_data())
            elapsed = time.monotonic() - started
            response = client.get(path, buffered=False)
            tracemalloc.start()
            for _chunk in response.response:
                pass
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            response.close()
            print(
                f"{path:24} {size / 1e6:6.1f} MB in {elapsed:5.1f} s; "
                f"peak Python memory while streaming {peak / 1e6:4.1f} MB"
            )
        restore(app, client.get("/export/backup.json").get_data())


def restore(app, backup: bytes) -> None:
    """Restore the backup into two new accounts: once for the time, once for the memory."""
    for number, traced in enumerate((False, True)):
        email = f"restored{number}@example.com"
        with app.app_context():
            create_user(email, PASSWORD, "UTC")
            db.session.commit()
        client = app.test_client()
        client.post("/login", data={"email": email, "password": PASSWORD})
        started = time.monotonic()
        if traced:
            tracemalloc.start()
        form = {"file": (io.BytesIO(backup), "backup.json")}
        response = client.post("/import/restore", data=form)
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        if traced:
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            print(f"restore: peak Python memory {peak / 1e6:.0f} MB")
        else:
            elapsed = time.monotonic() - started
            print(f"restore of the {len(backup) / 1e6:.1f} MB backup: {elapsed:5.1f} s")


if __name__ == "__main__":
    main()
