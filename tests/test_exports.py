"""Exports: formula-safe CSV cells, round trips through import for CSV and vCard, the
follow-ups calendar, download headers, streaming in batches, and only your own rows."""

import csv
import io
import tracemalloc
from datetime import datetime
from pathlib import Path

import pytest
import vobject
from hypothesis import given
from hypothesis import strategies as st
from icalendar import Calendar
from sqlalchemy import event, insert
from transfer_helpers import AWKWARD, build_network, contacts_of, import_file, upload

from tracker import exports
from tracker.calendar import uid_for
from tracker.db import db
from tracker.exports import FORMULA_STARTS, csv_safe, csv_unescape
from tracker.imports import FORMULA, candidates, guess_mapping, read
from tracker.models import Contact, FollowUp, Organisation, Position

SAMPLE = Path(__file__).parent / "data" / "linkedin_connections.csv"
both_databases = pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
DOWNLOADS = {
    "/export/contacts.csv": ("text/csv", ".csv"),
    "/export/contacts.vcf": ("text/vcard", ".vcf"),
    "/export/follow-ups.ics": ("text/calendar", ".ics"),
    "/export/backup.json": ("application/json", ".json"),
}


@pytest.fixture
def user(make_user, login):
    user = make_user(timezone="Europe/Berlin")
    login(user)
    return user


@pytest.fixture
def network(app, make_interview, user):
    build_network(app, make_interview, user)
    return user


# --- Formula-safe cells ----------------------------------------------------------------------


@given(st.text())
def test_a_safe_cell_never_starts_like_a_formula_and_unescapes_to_itself(text):
    safe = csv_safe(text)
    assert not safe.startswith(FORMULA_STARTS)
    assert csv_unescape(safe) == text
    if not text.startswith((*FORMULA_STARTS, "'")):
        assert safe == text  # ordinary text is left alone


@given(st.text(st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=200))
def test_any_cell_survives_a_csv_export_and_the_importer(text):
    name = " ".join(text.split()) or "x"
    notes = text.strip()
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerows([["Name", "Notes"], [csv_safe(name), csv_safe(notes)]])
    for cell in (csv_safe(name), csv_safe(notes)):
        assert not FORMULA.match(cell.strip())  # the importer never takes its own export for one
    table = read(buffer.getvalue().encode())
    (row,) = candidates(table, guess_mapping(table.columns))
    assert (row.name, row.notes, row.errors) == (name, notes, ())


@pytest.mark.parametrize(
    ("cell", "safe"),
    [
        ("=SUM(A1)", "'=SUM(A1)"),
        ("+44 20 7946 0000", "'+44 20 7946 0000"),
        ("-Dash", "'-Dash"),
        ("@handle", "'@handle"),
        ("\tindent", "'\tindent"),
        ("\rreturn", "'\rreturn"),
        ("'=already quoted", "''=already quoted"),
        ("'plain quote", "'plain quote"),
        ("Dana = CTO", "Dana = CTO"),
        ("", ""),
    ],
)
def test_cells_that_start_like_formulas_get_a_quote(cell, safe):
    assert csv_safe(cell) == safe


# --- CSV -------------------------------------------------------------------------------------


def parse_csv(response) -> list[list[str]]:
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")  # Excel reads UTF-8 only with the BOM
    return list(csv.reader(io.StringIO(text[1:], newline="")))


def test_every_download_is_an_attachment_never_cached_with_a_charset(client, network):
    for url, (mimetype, extension) in DOWNLOADS.items():
        response = client.get(url)
        assert response.is_streamed, url
        assert response.get_data(), url  # read it all: that ends the streamed response
        assert response.status_code == 200, url
        assert response.mimetype == mimetype
        assert response.headers["Content-Type"].endswith("; charset=utf-8")
        disposition = response.headers["Content-Disposition"]
        assert disposition.startswith('attachment; filename="keepwarm-')
        assert disposition.endswith(f'{extension}"')
        assert response.headers["Cache-Control"] == "no-store"
        assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_downloads_need_a_login(app):
    for url in DOWNLOADS:
        response = app.test_client().get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_the_contacts_csv_has_jobs_touches_and_quoted_formulas(client, network):
    header, *rows = parse_csv(client.get("/export/contacts.csv"))
    assert header == list(exports.CSV_HEADER)
    by_name = {csv_unescape(row[0]): row for row in rows}
    dana = by_name["Dana Smith"]
    assert dana[1:6] == [
        "Acme Robotics",
        "CTO",
        "dana@acme.example",
        "'+44 20 7946 0000",
        "https://www.linkedin.com/in/dana-smith",
    ]
    assert dana[6] == AWKWARD["notes"]
    assert dana[7] == "2026-11-24"  # the coffee, after the interview
    assert dana[8] == "2026-12-01"  # the manual follow-up
    lee = by_name["Lee Park"]
    assert lee[1:3] == ["Initech", "Head of Platform"]  # the job after the move
    formula = by_name[AWKWARD["formula"]]
    assert formula[0] == "'" + AWKWARD["formula"]
    assert formula[2] == "'-Staff; Engineer" and formula[4] == "'-1 (555) 0100"
    assert by_name["Zoë Müller-Lüdenscheidt"][2] == "'@Head of Data"
    for row in rows:
        assert not any(cell.startswith(FORMULA_STARTS) for cell in row)


@both_databases
def test_contacts_survive_a_csv_export_and_import(app, client, network, make_user, login):
    exported = client.get("/export/contacts.csv").get_data()
    other = make_user()
    other_client = login(other, as_client=app.test_client())
    import_file(other_client, exported, "keepwarm-contacts.csv")
    assert contacts_of(app, other.id) == contacts_of(app, network.id)
    again = other_client.get("/export/contacts.csv")
    first = [row[:7] for row in parse_csv(client.get("/export/contacts.csv"))]
    assert [row[:7] for row in parse_csv(again)] == first


@both_databases
def test_contacts_survive_a_vcard_export_and_import(app, client, network, make_user, login):
    exported = client.get("/export/contacts.vcf").get_data()
    other = make_user()
    other_client = login(other, as_client=app.test_client())
    import_file(other_client, exported, "keepwarm-contacts.vcf")
    assert contacts_of(app, other.id) == contacts_of(app, network.id)


def test_the_vcard_file_is_version_4_folded_and_readable_by_vobject(client, network):
    text = client.get("/export/contacts.vcf").get_data(as_text=True)
    lines = text.split("\r\n")
    assert lines[-1] == "" and all(len(line.encode()) <= 75 for line in lines)
    cards = list(vobject.readComponents(text))
    assert len(cards) == 4
    assert {card.version.value for card in cards} == {"4.0"}
    dana = next(card for card in cards if card.fn.value == "Dana Smith")
    assert dana.email.value == "dana@acme.example"
    assert dana.org.value == ["Acme Robotics"] and dana.title.value == "CTO"
    assert dana.note.value == AWKWARD["notes"]
    assert 'NOTE:Talked about "event sourcing"\\; her team\\, Kafka\\nand a second' in text
    assert len({card.uid.value for card in cards}) == 4
    assert "TEL;VALUE=text:+44 20 7946 0000" in text


# --- Calendar --------------------------------------------------------------------------------


def test_every_follow_up_is_an_event_in_the_calendar_file(app, client, network):
    calendar = Calendar.from_ical(client.get("/export/follow-ups.ics").get_data())
    events = calendar.walk("VEVENT")
    with app.app_context():
        follow_ups = db.session.execute(
            db.select(FollowUp).filter_by(user_id=network.id).order_by(FollowUp.id)
        ).scalars()
        expected = [(uid_for(f.id, app.config["BASE_URL"]), f.due_on, f.status) for f in follow_ups]
    assert {status for _, _, status in expected} == {"open", "done", "skipped"}
    starts = [e.decoded("DTSTART") for e in events]
    days = [start.date() if isinstance(start, datetime) else start for start in starts]
    assert [(str(e["UID"]), day) for e, day in zip(events, days, strict=True)] == [
        (uid, due_on) for uid, due_on, _ in expected
    ]
    summaries = [str(e["SUMMARY"]) for e in events]
    assert "Send Dana the article" in " ".join(summaries)


# --- Whose rows ------------------------------------------------------------------------------


def test_exports_never_include_another_users_rows(app, network, make_user, login):
    stranger = login(make_user(), as_client=app.test_client())
    for url in DOWNLOADS:
        body = stranger.get(url).get_data(as_text=True)
        for marker in ("Dana Smith", "Acme Robotics", "Send Dana the article", "Lee Park"):
            assert marker not in body, (url, marker)
    header, *rows = parse_csv(stranger.get("/export/contacts.csv"))
    assert rows == []
    assert "BEGIN:VEVENT" not in stranger.get("/export/follow-ups.ics").get_data(as_text=True)


# --- Size ------------------------------------------------------------------------------------


def add_contacts(app, user_id: int, count: int, first: int = 0) -> None:
    """`count` more contacts, each with a job at one of 100 organisations, by bulk insert."""
    with app.app_context():
        organisations = (
            db.session.execute(
                db.select(Organisation.id).filter_by(user_id=user_id).order_by(Organisation.id)
            )
            .scalars()
            .all()
            or db.session.execute(
                insert(Organisation).returning(Organisation.id, sort_by_parameter_order=True),
                [
                    {"user_id": user_id, "name": f"Org {n}", "name_key": f"org {n}"}
                    for n in range(100)
                ],
            )
            .scalars()
            .all()
        )
        contact_ids = (
            db.session.execute(
                insert(Contact).returning(Contact.id, sort_by_parameter_order=True),
                [
                    {"user_id": user_id, "name": f"Person {n:06d}", "email": f"p{n}@example.com"}
                    for n in range(first, first + count)
                ],
            )
            .scalars()
            .all()
        )
        db.session.execute(
            insert(Position),
            [
                {"contact_id": ident, "organisation_id": organisations[n % 100], "title": "Eng"}
                for n, ident in enumerate(contact_ids)
            ],
        )
        db.session.commit()


def test_the_export_reads_a_batch_at_a_time(app, user):
    add_contacts(app, user.id, 2_500)
    with app.app_context():
        statements = []
        event.listen(
            db.engine,
            "before_cursor_execute",
            lambda *a: a[2].startswith("SELECT") and statements.append(a[2]),
        )
        chunks = exports.contacts_csv(user.id)
        assert next(chunks) == "\ufeff" and statements == []  # nothing is read up front
        first = next(chunks)
        assert first.count("\r\n") == 1_000  # the header and 999 contacts
        reads_for_one_batch = len(statements)
        assert reads_for_one_batch <= 5
        rest = "".join(chunks)
        assert first.count("\r\n") + rest.count("\r\n") == 2_501
        assert len(statements) == 3 * reads_for_one_batch + 1  # 3 batches and the empty end


def peak_while_streaming(client, url: str) -> tuple[int, int]:
    """(bytes sent, the most memory allocated at once) while a download streams out."""
    response = client.get(url, buffered=False)
    size = 0
    tracemalloc.start()
    for chunk in response.response:
        size += len(chunk)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    response.close()
    return size, peak


def test_memory_while_exporting_does_not_grow_with_the_address_book(app, client, user):
    """Streaming in batches: four times the contacts, about the same peak memory.

    bench/export_contacts.py does the same with 100,000 contacts.
    """
    add_contacts(app, user.id, 2_000)
    small = {url: peak_while_streaming(client, url) for url in DOWNLOADS}
    add_contacts(app, user.id, 6_000, first=2_000)
    large = {url: peak_while_streaming(client, url) for url in DOWNLOADS}
    for url in ("/export/contacts.csv", "/export/contacts.vcf", "/export/backup.json"):
        (small_size, small_peak), (large_size, large_peak) = small[url], large[url]
        assert large_size > 3.5 * small_size, url
        assert large_peak < 1.5 * small_peak + 256 * 1024, (url, small_peak, large_peak)


# --- Query plans -----------------------------------------------------------------------------


def recording(app, statements: list):
    """A listener that keeps the SELECT statements run, with their parameters."""

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append((statement, parameters))

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    return lambda: event.remove(engine, "before_cursor_execute", record)


@both_databases
def test_exports_and_imports_read_through_indexes(app, make_user, login):
    """No statement of an export, an import preview or an import reads a whole table
    (the rule and the check of tests/test_scale_plans.py)."""
    from scale_data import NOW, fill
    from test_scale_plans import full_reads

    app.config["NOW"] = NOW
    user = make_user()
    fill(app, user, 30)
    client = login(user, as_client=app.test_client())
    preview = upload(client, SAMPLE.read_bytes()).headers["Location"]
    requests = [(client.get, url, {}) for url in (*DOWNLOADS, preview)]
    requests.append((client.post, f"{preview}/confirm", {"data": {"on_match": "merge"}}))
    for send, url, options in requests:
        statements = []
        stop = recording(app, statements)
        try:
            assert send(url, **options).get_data(), url
        finally:
            stop()
        assert len(statements) > 3, url
        assert full_reads(app, statements) == [], url
