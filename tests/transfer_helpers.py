"""Helpers for the import, export and backup tests: uploads and comparable views of data."""

import html
import io
import re
from datetime import date

from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from tracker.db import db
from tracker.models import Contact, Interaction, PendingImport


def upload(client, data: bytes, filename: str = "contacts.csv", url: str = "/import/"):
    """Post a file the way the import form does.

    The body is encoded in memory: the test client spools large bodies to a temporary
    file it never closes, which the warnings-as-errors setting would report.
    """
    upload = FileStorage(io.BytesIO(data), filename=filename, content_type="text/csv")
    fields = {"csrf_token": client.csrf_token(), "file": upload}
    boundary, body = encode_multipart(MultiDict(fields))
    content_type = f"multipart/form-data; boundary={boundary}"
    return client.post(url, data=body, content_type=content_type, csrf=False)


def import_file(client, data: bytes, filename: str = "contacts.csv", on_match: str = "merge"):
    """Upload, then confirm; returns the preview URL (which shows the result afterwards)."""
    response = upload(client, data, filename)
    assert response.status_code == 302, response.get_data(as_text=True)
    preview = response.headers["Location"]
    confirmed = client.post(f"{preview}/confirm", data={"on_match": on_match})
    assert confirmed.status_code == 302, confirmed.get_data(as_text=True)
    return preview


def contacts_of(app, user_id: int) -> list[tuple]:
    """(name, email, phone, LinkedIn, notes, current organisation, title) per contact."""
    with app.app_context():
        contacts = db.session.execute(
            db.select(Contact).where(Contact.user_id == user_id).order_by(Contact.id)
        ).scalars()
        rows = []
        for contact in contacts:
            open_jobs = [p for p in contact.positions if p.ended_on is None]
            job = max(open_jobs, key=lambda p: (p.started_on or date.min, p.id), default=None)
            rows.append(
                (
                    contact.name,
                    contact.email,
                    contact.phone,
                    contact.linkedin_url,
                    contact.notes,
                    job.organisation.name if job else "",
                    job.title if job else "",
                )
            )
        return rows


def connections_of(app, user_id: int) -> list[tuple]:
    """(contact name, date, note) for every interaction of the user."""
    with app.app_context():
        rows = db.session.execute(
            db.select(Contact.name, Interaction.occurred_on, Interaction.note)
            .join(Contact, Interaction.contact_id == Contact.id)
            .where(Interaction.user_id == user_id)
            .order_by(Contact.name, Interaction.occurred_on)
        ).all()
        return [tuple(row) for row in rows]


def pending_of(app, user_id: int) -> list[PendingImport]:
    with app.app_context():
        rows = db.session.execute(
            db.select(PendingImport).where(PendingImport.user_id == user_id)
        ).scalars()
        result = list(rows)
        for row in result:
            db.session.expunge(row)
        return result


def notice(page: str) -> str:
    """The text of the error notice on an import or restore page."""
    match = re.search(r'<p class="error" id="file-error">([^<]+)</p>', page)
    assert match, page[:2000]
    return html.unescape(match.group(1))


# Text that trips up CSV, vCard and spreadsheets: separators, quotes, newlines, formulas.
AWKWARD = {
    "formula": '=HYPERLINK("http://evil.example","x")',
    "notes": 'Talked about "event sourcing"; her team, Kafka\nand a second line – café ☕',
    "long": "A long note " + "é" * 120,
}


def build_network(app, make_interview, user) -> None:
    """A user with every kind of record: interviews, people, moves, interactions, follow-ups
    in every state, settings off their defaults, and awkward text everywhere."""
    from datetime import time

    from tracker import followups
    from tracker.contacts import record_move
    from tracker.models import (
        FollowUp,
        FollowUpStatus,
        InteractionKind,
        Organisation,
        Outcome,
        ParticipantRole,
        Stage,
        User,
    )

    make_interview(
        user,
        organisation="Acme Robotics",
        role="Senior Backend Engineer",
        held_on=date(2026, 11, 20),
        outcome=Outcome.DECLINED,
        stage=Stage.ONSITE,
        notes=AWKWARD["notes"],
        people=[
            {
                "name": "Dana Smith",
                "title": "CTO",
                "email": "dana@acme.example",
                "phone": "+44 20 7946 0000",
                "linkedin_url": "https://www.linkedin.com/in/dana-smith",
                "role": ParticipantRole.HIRING_MANAGER,
                "topics": "Kafka, event sourcing; hiring in Berlin",
            },
            {"name": "Lee Park", "title": "Staff Engineer", "email": "lee@acme.example"},
        ],
    )
    make_interview(
        user,
        organisation="Globex, Inc.",
        role="Platform Engineer",
        held_on=date(2026, 11, 23),
        outcome=Outcome.PENDING,
        stage=Stage.FINAL,
        people=[
            {"name": AWKWARD["formula"], "title": "-Staff; Engineer", "phone": "-1 (555) 0100"},
            {
                "name": "Zoë Müller-Lüdenscheidt",
                "title": "@Head of Data",
                "topics": AWKWARD["long"],
            },
        ],
    )
    with app.app_context():
        owner = db.session.get(User, user.id)
        owner.digest_hour = 6
        owner.first_check_in_days = 60
        contacts = {
            c.name: c
            for c in db.session.execute(db.select(Contact).filter_by(user_id=user.id)).scalars()
        }
        dana, lee = contacts["Dana Smith"], contacts["Lee Park"]
        dana.notes = AWKWARD["notes"]
        contacts["Zoë Müller-Lüdenscheidt"].remind = False
        acme = db.session.execute(
            db.select(Organisation).filter_by(name="Acme Robotics")
        ).scalar_one()
        acme.website, acme.notes = "https://acme.example", "Opening a Berlin office"
        record_move(lee, "Initech", "Head of Platform", date(2026, 11, 24), date(2026, 11, 25))
        followups.log_interaction(
            owner, dana, InteractionKind.COFFEE, date(2026, 11, 24), 'Coffee; "great"'
        )
        manual = followups.add_manual(
            owner, "Send Dana the article", date(2026, 12, 1), time(9, 30), dana, note="=1+1"
        )
        done = followups.add_manual(owner, "Ask Lee about Initech", date(2026, 11, 26), contact=lee)
        followups.complete(owner, done, note="Asked", log=True)
        still_open = db.session.execute(
            db.select(FollowUp)
            .filter_by(user_id=user.id, status=FollowUpStatus.OPEN)
            .where(FollowUp.id != manual.id)
            .order_by(FollowUp.id)
        ).scalars()
        followups.skip(owner, next(iter(still_open)))
        db.session.commit()
