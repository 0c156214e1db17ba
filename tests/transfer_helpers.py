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
