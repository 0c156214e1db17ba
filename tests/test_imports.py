"""Imports: reading files (LinkedIn, any CSV, vCards), the row checks, the duplicate rules,
the preview and confirmation, bad files, and one user's import out of another's reach."""

import logging
import time
from datetime import date, timedelta
from pathlib import Path

import pytest
from helpers import row_counts
from sqlalchemy.exc import OperationalError
from transfer_helpers import (
    connections_of,
    contacts_of,
    import_file,
    notice,
    pending_of,
    upload,
)

from tracker import importing, pending_imports
from tracker.db import db
from tracker.imports import (
    Action,
    Candidate,
    ImportProblem,
    Known,
    candidates,
    guess_mapping,
    plan,
    read,
)
from tracker.models import Contact, Organisation, PendingImport, Position, User

SAMPLE = Path(__file__).parent / "data" / "linkedin_connections.csv"
both_databases = pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)


def rows_of(data: bytes) -> list[Candidate]:
    table = read(data)
    return candidates(table, guess_mapping(table.columns))


# --- Reading files ---------------------------------------------------------------------------


def test_the_linkedin_export_is_read_past_its_notes():
    table = read(SAMPLE.read_bytes())
    assert table.source == "linkedin"
    assert table.columns[:3] == ["First Name", "Last Name", "URL"]
    assert table.numbers == [5, 6, 7, 8, 9, 10]  # the header is line 4, after the notes
    dana, lee, zoe, marcus, aiko, priya = candidates(table, guess_mapping(table.columns))
    assert (dana.name, dana.email, dana.organisation, dana.title) == (
        "Dana Smith",
        "dana.smith@acme.example",
        "Acme Robotics",
        "CTO",
    )
    assert dana.linkedin_url == "https://www.linkedin.com/in/dana-smith-4a1b2c"
    assert dana.connected_on == date(2024, 11, 3)
    assert (zoe.name, zoe.organisation) == ("Zoë Müller-Lüdenscheidt", "Initech, Inc.")
    assert priya.title == "Talent Partner, EMEA"
    assert aiko.organisation == "" and aiko.connected_on == date(2021, 8, 19)
    assert all(not row.errors and not row.warnings for row in (dana, lee, zoe, marcus, aiko, priya))


TEXT = "Name;Company;E-mail;Notes\nZoë Brontë;Café Müller;zoe@example.com;Crème brûlée – “quotes”\n"


@pytest.mark.parametrize(
    "data",
    [
        TEXT.encode("utf-8"),
        b"\xef\xbb\xbf" + TEXT.encode("utf-8"),
        TEXT.encode("cp1252"),
        TEXT.encode("utf-16"),
        TEXT.replace(";", ",").encode("utf-8"),
        TEXT.replace("\n", "\r\n").encode("cp1252"),
    ],
    ids=["utf-8", "utf-8 with BOM", "windows-1252", "utf-16", "commas", "crlf windows-1252"],
)
def test_encodings_and_separators_read_the_same(data):
    (row,) = rows_of(data)
    assert (row.name, row.organisation, row.email) == (
        "Zoë Brontë",
        "Café Müller",
        "zoe@example.com",
    )
    assert row.notes == "Crème brûlée – “quotes”"


def test_column_names_from_google_and_outlook_are_recognised():
    google = ["First Name", "Last Name", "E-mail 1 - Value", "Phone 1 - Value", "Organization Name"]
    assert guess_mapping([*google, "Organization Title", "Notes"]) == {
        "first_name": 0,
        "last_name": 1,
        "email": 2,
        "phone": 3,
        "organisation": 4,
        "title": 5,
        "notes": 6,
    }
    # Outlook's "Title" is Mr/Ms: "Job Title" wins.
    outlook = ["Title", "First Name", "Last Name", "Company", "Job Title", "E-mail Address"]
    assert guess_mapping([*outlook, "Mobile Phone"]) == {
        "first_name": 1,
        "last_name": 2,
        "email": 5,
        "phone": 6,
        "organisation": 3,
        "title": 4,
    }


GOOGLE_VCARD = (
    "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Dana Smith\r\nN:Smith;Dana;;;\r\n"
    "EMAIL;TYPE=INTERNET;TYPE=HOME:dana@home.example\r\n"
    "EMAIL;TYPE=INTERNET;TYPE=WORK;TYPE=pref:dana@acme.example\r\n"
    "TEL;TYPE=CELL:+44 20 7946 0000\r\nORG:Acme Robotics;Platform\r\nTITLE:CTO\r\n"
    "URL:https://dana.example\r\nURL:https://www.linkedin.com/in/dana\r\n"
    "NOTE:Met at the onsite\\, talked about Kafka\\nSecond line\r\nEND:VCARD\r\n"
)
APPLE_VCARD = (
    "BEGIN:VCARD\r\nVERSION:3.0\r\nPRODID:-//Apple Inc.//macOS 14.0//EN\r\n"
    "N:Ortiz;Sam;;;\r\nFN:Sam Ortiz\r\nORG:Initech;\r\n"
    "item1.EMAIL;type=INTERNET;type=pref:sam@initech.example\r\nitem1.X-ABLabel:_$!<Other>!$_\r\n"
    "X-SOCIALPROFILE;type=linkedin;x-user=samortiz:https://www.linkedin.com/in/samortiz\r\n"
    "PHOTO;ENCODING=b;TYPE=JPEG:" + "QUJD" * 40 + "\r\n END:VCARD\r\n"
).replace("\r\n END:VCARD", "\r\nEND:VCARD")
OUTLOOK_VCARD = (
    "BEGIN:VCARD\r\nVERSION:2.1\r\nN;LANGUAGE=en-us:Becker;Tom\r\nFN:Tom Becker\r\n"
    "ORG:Umbrella Health\r\nTITLE:Recruiter\r\n"
    "NOTE;ENCODING=QUOTED-PRINTABLE:Caf=C3=A9 chat, long note with a soft =\r\nline break\r\n"
    "TEL;WORK;VOICE:(555) 010-0200\r\nEMAIL;PREF;INTERNET:tom@umbrella.example\r\nEND:VCARD\r\n"
)
VCARD_4 = (
    "BEGIN:VCARD\r\nVERSION:4.0\r\nKIND:individual\r\nFN:Aiko Tanaka\r\nN:Tanaka;Aiko;;;\r\n"
    "EMAIL;TYPE=work;PREF=1:aiko@globex.example\r\nTEL;VALUE=uri;TYPE=cell:tel:+81-3-1234-5678\r\n"
    "ORG:Globex\r\nPHOTO:data:image/png;base64,iVBORw0KGgo=\r\nEND:VCARD\r\n"
)


def test_vcards_from_google_apple_outlook_and_version_4_in_one_file():
    table = read((GOOGLE_VCARD + APPLE_VCARD + OUTLOOK_VCARD + VCARD_4).encode())
    assert table.source == "vcard" and table.noun == "card"
    dana, sam, tom, aiko = candidates(table, guess_mapping(table.columns))
    assert (dana.name, dana.email, dana.phone) == (
        "Dana Smith",
        "dana@acme.example",
        "+44 20 7946 0000",
    )
    assert (dana.organisation, dana.title) == ("Acme Robotics", "CTO")
    assert dana.linkedin_url == "https://www.linkedin.com/in/dana"  # LinkedIn over a homepage
    assert dana.notes == "Met at the onsite, talked about Kafka\nSecond line"
    assert (sam.name, sam.email, sam.organisation) == (
        "Sam Ortiz",
        "sam@initech.example",
        "Initech",
    )
    assert sam.linkedin_url == "https://www.linkedin.com/in/samortiz"
    assert (tom.email, tom.phone, tom.title) == (
        "tom@umbrella.example",
        "(555) 010-0200",
        "Recruiter",
    )
    assert tom.notes == "Café chat, long note with a soft line break"
    assert (aiko.name, aiko.email, aiko.phone) == (
        "Aiko Tanaka",
        "aiko@globex.example",
        "+81-3-1234-5678",
    )
    assert all(not row.errors for row in (dana, sam, tom, aiko))


def test_a_card_with_only_a_structured_name_gets_it_joined():
    card = "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Park;Lee;;;\r\nFN:\r\nEND:VCARD\r\n"
    (row,) = rows_of(card.encode())
    assert row.name == "Lee Park"


BAD_FILES = {
    "empty": (b"", "The file is empty."),
    "blank": (b"  \r\n\r\n ", "The file is empty."),
    "a PNG": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "This is not a CSV or vCard file."),
    "an Excel workbook": (b"PK\x03\x04\x14\x00\x06\x00", "Excel workbook"),
    "a PDF": (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "This is a PDF"),
    "JSON": (b'{"contacts": []}', "Restore a backup"),
    "HTML": (b"<!doctype html><html><body>hi</body></html>", "web page"),
    "prose": (b"Dear Dana\nThanks for the chat today.\n", "does not look like a CSV file"),
    "a calendar": (b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n", "calendar file"),
    "undecodable": (b"Name,Email\r\nDana \x81\x8d\x90,x@y.example\r\n", "text encoding"),
    "binary noise": (bytes(range(1, 32)) * 400, "This is not a CSV or vCard file."),
    "only a header": (b"Name,Email\r\n", "no contacts under it"),
    "too many columns": (
        ",".join(f"c{n}" for n in range(201)).encode() + b"\r\n" + b"x," * 200 + b"x\r\n",
        "more than 200 columns",
    ),
    "an open quote": (
        b'Name,Email\r\n"Dana,dana@x.example\r\n',
        "not a CSV file Keepwarm can read",
    ),
    "a broken vCard line": (
        b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Dana\r\nthis line is broken\r\nEND:VCARD\r\n",
        "The vCard file is broken at line 4",
    ),
    "an unclosed vCard": (b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Dana\r\n", "The vCard file is broken"),
}


@pytest.mark.parametrize("name", BAD_FILES)
def test_bad_files_get_a_plain_reason(name):
    data, message = BAD_FILES[name]
    with pytest.raises(ImportProblem, match=message.replace("(", r"\(")):
        read(data)


# --- Checking rows ---------------------------------------------------------------------------


def test_cells_holding_formulas_stop_their_row_and_phone_numbers_do_not():
    data = (
        b"Name,Company,Phone,Notes\r\n"
        b'Eve,"=HYPERLINK(""http://evil.example"",""click"")",,\r\n'
        b"Mallory,Acme,,@SUM(1+1)*cmd|' /C calc'!A0\r\n"
        b"Trent,-2+3+cmd|' /C calc'!A0,,\r\n"
        b"Dana,Acme,+44 (20) 7946 0000,- met at the meetup (May)\r\n"
        b"'=Eq,'+Plus,'-1,'@handle\r\n"
    )
    eve, mallory, trent, dana, escaped = rows_of(data)
    assert eve.errors == (
        '“Company” holds a spreadsheet formula (=HYPERLINK("http://evil.example","click")); '
        "formulas are not imported.",
    )
    assert "“Notes” holds a spreadsheet formula" in mallory.errors[0]
    assert "“Company” holds a spreadsheet formula" in trent.errors[0]
    assert not dana.errors and dana.phone == "+44 (20) 7946 0000"
    # A quote before a formula start is how exports keep text text: it is taken off again.
    assert not escaped.errors
    assert (escaped.name, escaped.organisation, escaped.phone, escaped.notes) == (
        "=Eq",
        "+Plus",
        "-1",
        "@handle",
    )


def test_links_other_than_web_addresses_and_bad_emails_are_dropped_with_a_reason():
    data = (
        b"Name,Email,LinkedIn URL\r\n"
        b"Dana,dana at acme,javascript:alert(document.cookie)\r\n"
        b"Lee,lee@acme.example,data:text/html;base64,PHNjcmlwdD4=\r\n"
        b"Sam,sam@acme.example,https://www.linkedin.com/in/sam\r\n"
    )
    dana, lee, sam = rows_of(data)
    assert (dana.email, dana.linkedin_url, dana.errors) == ("", "", ())
    assert dana.warnings == (
        "Email “dana at acme” left out: it is not an email address.",
        "LinkedIn URL left out: only addresses starting with https:// are kept.",
    )
    assert lee.linkedin_url == "" and lee.email == "lee@acme.example"
    assert sam.linkedin_url == "https://www.linkedin.com/in/sam" and not sam.warnings


def test_rows_without_a_name_too_long_or_too_wide_cannot_be_imported():
    data = (
        "Name,Email,Company\r\n"
        ",nobody@example.com,Acme\r\n" + "X" * 201 + ",x@example.com,Acme\r\n"
        "Dana,dana@example.com,Acme,surprise\r\n"
        "Lee,lee@example.com,Acme,,\r\n"
    ).encode()
    nameless, long, wide, trailing = rows_of(data)
    assert nameless.errors == ("No name.",)
    assert long.errors == ("Name is longer than 200 characters.",)
    assert wide.errors == ("This line has 4 cells but the header has 3.",)
    assert not trailing.errors  # empty trailing cells are harmless


def test_a_date_linkedin_did_not_write_is_a_warning_not_an_error():
    data = b"First Name,Last Name,URL,Email Address,Company,Position,Connected On\r\n"
    data += b"Dana,Smith,,,Acme,CTO,yesterday\r\n"
    (row,) = rows_of(data)
    assert row.connected_on is None and not row.errors
    assert row.warnings == ("Date “yesterday” not understood; no connection logged.",)


# --- The duplicate rules ---------------------------------------------------------------------


def test_matches_by_email_or_by_name_at_the_same_organisation():
    known = Known(
        by_email={"dana@acme.example": 1},
        by_name={("lee park", "acme robotics"): 2, ("aiko tanaka", ""): 3},
        names={1: "Dana Smith", 2: "Lee Park", 3: "Aiko Tanaka"},
    )
    rows = [
        Candidate(1, name="Dana S.", email="DANA@Acme.Example"),
        Candidate(2, name="lee  park", organisation="ACME Robotics"),
        Candidate(3, name="Lee Park", organisation="Globex"),
        Candidate(4, name="Aiko Tanaka"),
        Candidate(5, name="Marcus Feld", email="marcus@globex.example"),
        Candidate(6, name="Marcus F.", email="Marcus@Globex.example"),
        Candidate(7, name="Priya", organisation="Umbrella"),
        Candidate(8, name="priya", organisation="umbrella"),
        Candidate(9, name="", errors=("No name.",)),
    ]
    decisions = plan(rows, known)
    assert [d.action for d in decisions] == [
        Action.MATCH,
        Action.MATCH,
        Action.NEW,  # same name, another organisation: another person
        Action.MATCH,
        Action.NEW,
        Action.REPEAT,
        Action.NEW,
        Action.REPEAT,
        Action.INVALID,
    ]
    assert [d.contact_id for d in decisions[:4]] == [1, 2, None, 3]
    assert decisions[0].why == "same email"
    assert decisions[1].why == "same name at ACME Robotics"
    assert decisions[3].why == "same name"
    assert (decisions[5].earlier, decisions[5].why) == (4, "same person as line 5")
    assert decisions[7].why == "same person as line 7"


# --- Preview and confirmation ----------------------------------------------------------------


@both_databases
def test_linkedin_connections_become_contacts_at_their_organisations(
    app, client, user, make_interview
):
    make_interview(
        user,
        organisation="ACME  robotics",
        people=[{"name": "Dana Smith", "email": "Dana.Smith@acme.example"}],
    )
    response = upload(client, SAMPLE.read_bytes(), "Connections.csv")
    preview = response.headers["Location"]
    page = client.get(preview).get_data(as_text=True)
    assert "Read as a LinkedIn connections export: 6 lines with contacts" in page
    assert "<strong>5</strong> new contacts will be added" in page
    assert "Already a contact" in page and "(same email)" in page
    assert "Import 6 rows" in page

    assert client.post(f"{preview}/confirm", data={"on_match": "merge"}).status_code == 302
    result = client.get(preview).get_data(as_text=True)
    assert "<dt>Contacts added</dt><dd>5</dd>" in result
    assert "<dt>Merged into contacts</dt><dd>1</dd>" in result

    contacts = {row[0]: row for row in contacts_of(app, user.id)}
    assert len(contacts) == 6
    # Dana was met at the interview: she is merged, her job there gets its title.
    assert contacts["Dana Smith"][1] == "Dana.Smith@acme.example"
    assert contacts["Dana Smith"][3] == "https://www.linkedin.com/in/dana-smith-4a1b2c"
    assert contacts["Dana Smith"][5:] == ("ACME robotics", "CTO")
    # "acme robotics" is the organisation the user already had.
    assert contacts["Lee Park"][5:] == ("ACME robotics", "Staff Engineer")
    assert contacts["Zoë Müller-Lüdenscheidt"][5:] == ("Initech, Inc.", "Head of Data")
    assert contacts["Aiko Tanaka"][5:] == ("", "")
    with app.app_context():
        names = db.session.execute(
            db.select(Organisation.name).where(Organisation.user_id == user.id)
        ).scalars()
        assert sorted(names) == ["ACME robotics", "Globex", "Initech, Inc.", "Umbrella Health"]
    connected = connections_of(app, user.id)
    assert ("Dana Smith", date(2024, 11, 3), "Connected on LinkedIn") in connected
    assert ("Lee Park", date(2023, 1, 15), "Connected on LinkedIn") in connected
    assert len(connected) == 6
    assert pending_of(app, user.id)[0].status == "done"


@pytest.mark.parametrize("on_match", ["merge", "skip"])
def test_importing_the_same_file_twice_adds_no_one_twice(app, client, user, on_match):
    import_file(client, SAMPLE.read_bytes(), "Connections.csv")
    before = row_counts(app)
    first = contacts_of(app, user.id)
    preview = import_file(client, SAMPLE.read_bytes(), "Connections.csv", on_match=on_match)
    assert contacts_of(app, user.id) == first
    after = row_counts(app)
    assert after["contact"] == before["contact"] == 6
    assert after["position"] == before["position"]
    assert after["interaction"] == before["interaction"] == 6
    assert after["organisation"] == before["organisation"]
    page = client.get(preview).get_data(as_text=True)
    assert "<dt>Contacts added</dt><dd>0</dd>" in page
    field = "Merged into contacts" if on_match == "merge" else "Skipped"
    assert f"<dt>{field}</dt><dd>6</dd>" in page


def test_merge_fills_blanks_and_records_a_move_and_skip_touches_nothing(app, client, user):
    import_file(
        client, b"Name,Email,Phone,Company,Title\r\nDana Smith,dana@a.example,,Acme,CTO\r\n"
    )
    update = b"Name,Email,Phone,Company,Title,Notes\r\n"
    update += b"Dana Smith,DANA@a.example,+1 555 0100,Globex,VP Engineering,Moved in May\r\n"
    import_file(client, update, on_match="skip")
    assert contacts_of(app, user.id) == [
        ("Dana Smith", "dana@a.example", "", "", "", "Acme", "CTO")
    ]
    import_file(client, update, on_match="merge")
    assert contacts_of(app, user.id) == [
        (
            "Dana Smith",
            "dana@a.example",
            "+1 555 0100",
            "",
            "Moved in May",
            "Globex",
            "VP Engineering",
        )
    ]
    with app.app_context():
        jobs = db.session.execute(
            db.select(Organisation.name, Position.ended_on, Position.started_on)
            .join(Position.organisation)
            .order_by(Position.id)
        ).all()
        today = jobs[1].started_on
        assert [tuple(job) for job in jobs] == [("Acme", today, None), ("Globex", None, today)]


def test_a_new_organisation_takes_its_first_spelling_in_the_file(app, client, user):
    data = b"Name,Company\r\nDana,Acme Robotics\r\nLee,ACME  robotics\r\nSam,acme robotics\r\n"
    import_file(client, data)
    assert {row[5] for row in contacts_of(app, user.id)} == {"Acme Robotics"}


def test_repeated_rows_in_one_file_make_one_contact(app, client, user):
    data = b"Name,Email,Phone,Company\r\nDana,dana@a.example,,Acme\r\nDana,DANA@a.example,555,\r\n"
    import_file(client, data)
    assert contacts_of(app, user.id) == [("Dana", "dana@a.example", "555", "", "", "Acme", "")]


def test_any_csv_with_columns_chosen_in_the_preview(app, client, user):
    data = "Person;Mail;Firm;Role;Profile\r\nJosé Núñez;jose@x.example;Initech;CFO;https://www.linkedin.com/in/jose\r\n"
    response = upload(client, data.encode("cp1252"), "spreadsheet.csv")
    preview = response.headers["Location"]
    page = client.get(preview).get_data(as_text=True)
    assert "Choose the column that holds the name" in page
    assert "For example: José Núñez" in page
    choices = {"column-0": "name", "column-1": "email", "column-2": "organisation"}
    twice = client.post(f"{preview}/columns", data={**choices, "column-3": "email"})
    assert twice.status_code == 400
    assert "“Email” is chosen for two columns" in twice.get_data(as_text=True)
    chosen = {**choices, "column-3": "title", "column-4": "linkedin_url"}
    assert client.post(f"{preview}/columns", data=chosen).status_code == 302
    page = client.get(preview).get_data(as_text=True)
    assert "<strong>1</strong> new contact will be added" in page
    assert client.post(f"{preview}/confirm", data={"on_match": "merge"}).status_code == 302
    assert contacts_of(app, user.id) == [
        (
            "José Núñez",
            "jose@x.example",
            "",
            "https://www.linkedin.com/in/jose",
            "",
            "Initech",
            "CFO",
        )
    ]


def test_the_preview_lists_every_row_that_cannot_be_imported_with_its_reason(app, client, user):
    data = b"Name,Company\r\n,Acme\r\nEve,=1+1\r\n<b>Bold</b> <script>alert(1)</script>,Acme\r\n"
    preview = upload(client, data).headers["Location"]
    page = client.get(f"{preview}?show=invalid").get_data(as_text=True)
    assert '<p class="error">No name.</p>' in page
    assert "“Company” holds a spreadsheet formula (=1+1); formulas are not imported." in page
    assert "Bold" not in page  # only the problem rows are shown
    page = client.get(preview).get_data(as_text=True)
    assert "&lt;b&gt;Bold&lt;/b&gt; &lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>alert(1)" not in page
    import_file(client, data)
    contact = contacts_of(app, user.id)
    assert [row[0] for row in contact] == ["<b>Bold</b> <script>alert(1)</script>"]
    listing = client.get("/contacts/").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in listing and "<script>alert" not in listing


def test_the_preview_pages_through_many_rows(client, user):
    data = "Name\r\n" + "".join(f"Person {n:04d}\r\n" for n in range(250))
    preview = upload(client, data.encode()).headers["Location"]
    first = client.get(preview).get_data(as_text=True)
    assert "Person 0000" in first and "Person 0099" in first and "Person 0100" not in first
    assert "Page 1 of 3" in first
    last = client.get(f"{preview}?page=3").get_data(as_text=True)
    assert "Person 0249" in last and "Person 0199" not in last
    odd = client.get(f"{preview}?page=999&show=bogus")
    assert odd.status_code == 200 and "Page 3 of 3" in odd.get_data(as_text=True)


def test_a_failure_during_the_import_saves_nothing(app, client, user, monkeypatch):
    preview = upload(client, SAMPLE.read_bytes(), "Connections.csv").headers["Location"]
    before = row_counts(app)
    real_insert = importing._insert

    def failing_insert(model, rows):
        real_insert(model, rows)  # contacts and positions are in; the interactions fail
        if model.__tablename__ == "interaction":
            raise OperationalError("INSERT INTO interaction", {}, Exception("disk I/O error"))

    monkeypatch.setattr(importing, "_insert", failing_insert)
    response = client.post(f"{preview}/confirm", data={"on_match": "merge"})
    assert response.status_code == 500
    assert "The import failed, so nothing was saved." in response.get_data(as_text=True)
    assert row_counts(app) == before
    assert pending_of(app, user.id)[0].status == "pending"
    monkeypatch.setattr(importing, "_insert", real_insert)
    assert client.post(f"{preview}/confirm", data={"on_match": "merge"}).status_code == 302
    assert row_counts(app)["contact"] == 6


def test_confirming_twice_imports_once(app, client, user):
    preview = import_file(client, SAMPLE.read_bytes(), "Connections.csv")
    again = client.post(f"{preview}/confirm", data={"on_match": "merge"}, follow_redirects=True)
    assert "This file has already been imported." in again.get_data(as_text=True)
    assert row_counts(app)["contact"] == 6


def test_discarding_a_file_imports_nothing(app, client, user):
    preview = upload(client, SAMPLE.read_bytes()).headers["Location"]
    response = client.post(f"{preview}/discard", follow_redirects=True)
    assert "nothing was imported" in response.get_data(as_text=True)
    assert pending_of(app, user.id) == [] and row_counts(app)["contact"] == 0
    assert client.get(preview).status_code == 404


def age(app, days: int) -> None:
    """Make every pending upload `days` older."""
    with app.app_context():
        for pending in db.session.execute(db.select(PendingImport)).scalars():
            pending.created_at -= timedelta(days=days)
        db.session.commit()


def test_uploads_left_for_a_day_are_forgotten(app, client, user, make_user):
    stale = upload(client, SAMPLE.read_bytes()).headers["Location"]
    age(app, 2)
    with app.app_context():
        assert pending_imports.forget_old(make_user().id) == 0  # only that user's
        db.session.commit()
    assert client.get(stale).status_code == 200
    fresh = upload(client, SAMPLE.read_bytes()).headers["Location"]
    assert client.get(stale).status_code == 404  # a new upload clears the user's old ones
    assert client.get(fresh).status_code == 200
    age(app, 2)
    with app.app_context():
        assert pending_imports.forget_old() == 1  # what a periodic sweep would call
        db.session.commit()
    assert pending_of(app, user.id) == []


# --- Bad uploads through the page ------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["empty", "an Excel workbook", "undecodable", "a broken vCard line"]
)
def test_a_bad_file_is_refused_on_the_page_and_changes_nothing(app, client, user, name):
    data, message = BAD_FILES[name]
    before = row_counts(app)
    response = upload(client, data, "contacts.csv")
    assert response.status_code == 400
    assert message in notice(response.get_data(as_text=True))
    assert row_counts(app) == before


def test_no_file_chosen(client, user):
    response = client.post("/import/", data={})
    assert response.status_code == 400
    assert notice(response.get_data(as_text=True)) == "Choose a file."


def test_a_50_megabyte_file_gets_a_plain_message_not_a_bare_413(app, client, user):
    before = row_counts(app)
    data = b"Name,Notes\r\n" + (b"Dana," + b"x" * 1000 + b"\r\n") * 50_000
    assert len(data) > 50_000_000
    response = upload(client, data)
    assert response.status_code == 400
    assert notice(response.get_data(as_text=True)) == (
        "The file is too large: the most Keepwarm reads is 20 MB."
    )
    assert row_counts(app) == before


def test_a_body_beyond_the_upload_limit_gets_the_same_page(app, client, user):
    app.config["UPLOAD_REQUEST_MAX_BYTES"] = 2 * 1024 * 1024
    response = upload(client, b"Name\r\n" + b"x" * 3 * 1024 * 1024)
    assert response.status_code == 413
    assert "The file is too large" in notice(response.get_data(as_text=True))


def test_the_larger_limit_is_only_for_the_upload(client, user):
    response = client.post("/interviews/new", data={"notes": "x" * 2 * 1024 * 1024})
    assert response.status_code == 413
    assert "Too large" in response.get_data(as_text=True)
    response.close()


# --- Isolation -------------------------------------------------------------------------------


def test_another_users_import_is_a_404_everywhere(app, client, user, make_user, login):
    preview = upload(client, SAMPLE.read_bytes()).headers["Location"]
    other = login(make_user(), as_client=app.test_client())
    before = row_counts(app)
    assert other.get(preview).status_code == 404
    for action in ("columns", "confirm", "discard"):
        response = other.post(f"{preview}/{action}", data={"on_match": "merge", "column-0": "name"})
        assert response.status_code == 404, action
    assert other.get("/import/" + "x" * 200).status_code == 404
    assert row_counts(app) == before
    assert pending_of(app, user.id)[0].status == "pending"


def test_an_import_id_never_reaches_the_log(app, client, user, caplog):
    preview = upload(client, SAMPLE.read_bytes()).headers["Location"]
    token = preview.rsplit("/", 1)[1]
    caplog.set_level(logging.INFO)
    anonymous = app.test_client()
    assert anonymous.get(preview).status_code == 302  # to the login page
    assert anonymous.post(f"{preview}/confirm", csrf=False).status_code == 400
    messages = [record.getMessage() for record in caplog.records]
    assert "access denied (login required): GET /import/[token] by anonymous" in messages[0]
    assert "POST /import/[token]/confirm" in messages[-1]
    assert not any(token in message for message in messages)


def test_matching_only_looks_at_your_own_contacts(app, client, user, make_user, make_interview):
    stranger = make_user()
    make_interview(
        stranger,
        organisation="Acme Robotics",
        people=[{"name": "Dana Smith", "email": "dana.smith@acme.example"}],
    )
    import_file(client, SAMPLE.read_bytes())
    with app.app_context():
        mine = db.session.execute(
            db.select(Contact.name).where(Contact.user_id == user.id)
        ).scalars()
        assert "Dana Smith" in set(mine)
        theirs = db.session.get(User, stranger.id)
        assert len(db.session.execute(db.select(Contact).filter_by(user_id=theirs.id)).all()) == 1
        organisations = db.session.execute(
            db.select(Organisation.user_id).where(Organisation.name_key == "acme robotics")
        ).scalars()
        assert sorted(organisations) == sorted([user.id, stranger.id])


# --- Size ------------------------------------------------------------------------------------


def test_twenty_thousand_rows_import_in_one_go(app, client, user):
    lines = ["First Name,Last Name,URL,Email Address,Company,Position,Connected On"]
    for n in range(20_000):
        lines.append(
            f"Person,{n:05d},https://www.linkedin.com/in/p{n},p{n}@example.com,"
            f"Company {n % 500},Engineer,{1 + n % 28:02d} Mar 2024"
        )
    data = ("\r\n".join(lines) + "\r\n").encode()
    started = time.monotonic()
    preview = upload(client, data, "Connections.csv").headers["Location"]
    page = client.get(preview).get_data(as_text=True)
    assert "<strong>20,000</strong> new contacts will be added" in page
    assert client.post(f"{preview}/confirm", data={"on_match": "merge"}).status_code == 302
    elapsed = time.monotonic() - started
    counts = row_counts(app)
    assert (counts["contact"], counts["position"], counts["interaction"]) == (
        20_000,
        20_000,
        20_000,
    )
    assert counts["organisation"] == 500
    assert "<dt>Contacts added</dt><dd>20,000</dd>" in client.get(preview).get_data(as_text=True)
    assert elapsed < 30, elapsed  # gunicorn's default worker timeout; about 6 s here
    # The same file again: matched by email, nothing added, and still quick.
    started = time.monotonic()
    import_file(client, data, "Connections.csv")
    assert {**row_counts(app), "pending_import": 1} == counts
    assert time.monotonic() - started < 30
