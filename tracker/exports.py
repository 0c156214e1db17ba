"""Exports as generators: contacts as CSV and vCard 4.0, follow-ups as iCalendar.

Each reads the user's rows in batches by id (keyset), so a response can stream 100,000
contacts without holding them all: only one batch is alive at a time.
"""

import csv
import io
import itertools
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Select, func

from . import agenda, calendar
from .bulk import BATCH, batches
from .db import db
from .models import (
    Contact,
    FollowUp,
    FollowUpStatus,
    Interaction,
    Interview,
    Organisation,
    Participant,
    Position,
)
from .vcard import write_card

# Cells a spreadsheet would read as a formula (OWASP "CSV injection"); a leading quote
# makes them text. A cell that starts with a quote before one of these gets one more, so
# csv_unescape(csv_safe(s)) == s for every string.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CSV_HEADER = (
    "Name",
    "Organisation",
    "Title",
    "Email",
    "Phone",
    "LinkedIn URL",
    "Notes",
    "Last touch",
    "Next touch",
)


_QUOTED = ("'", *FORMULA_STARTS)


def csv_safe(cell: str) -> str:
    """The cell as a spreadsheet shows it as text: never read as a formula."""
    if cell.startswith(FORMULA_STARTS) or (cell.startswith("'") and cell[1:].startswith(_QUOTED)):
        return "'" + cell
    return cell


def csv_unescape(cell: str) -> str:
    """Undo csv_safe: drop the quote it put before a formula start or another quote."""
    if cell.startswith("'") and cell[1:].startswith(_QUOTED):
        return cell[1:]
    return cell


@dataclass(frozen=True)
class ContactRow:
    id: int
    name: str
    email: str
    phone: str
    linkedin_url: str
    notes: str
    organisation: str
    title: str
    last_touch: date | None
    next_touch: date | None


def _by_contact(query: Select, ids: set[int]) -> dict[int, date]:
    rows = db.session.execute(query.group_by(query.selected_columns[0]))
    return {contact_id: day for contact_id, day in rows if contact_id in ids}


def contact_rows(user_id: int, size: int = BATCH) -> Iterator[ContactRow]:
    """Every contact of the user by id, with the current job and the last and next touch.

    Each batch costs five queries, each a range scan of a contact_id index over the
    batch's ids; rows of contacts outside the batch (another user's) are dropped here.
    """
    query = db.select(
        Contact.id, Contact.name, Contact.email, Contact.phone, Contact.linkedin_url, Contact.notes
    ).where(Contact.user_id == user_id)
    for batch in batches(query, Contact.id, size):
        ids = {row.id for row in batch}
        low, high = batch[0].id, batch[-1].id
        jobs: dict[int, tuple] = {}
        positions = db.session.execute(
            db.select(Position.contact_id, Position.ended_on, Position.started_on, Position.id)
            .add_columns(Organisation.name, Position.title)
            .join(Organisation, Position.organisation_id == Organisation.id)
            .where(Position.contact_id.between(low, high))
        )
        for contact_id, ended, started, ident, organisation, title in positions:
            rank = (ended is None, started or date.min, ident)
            if contact_id in ids and (contact_id not in jobs or rank > jobs[contact_id][0]):
                jobs[contact_id] = (rank, organisation, title)
        interacted = _by_contact(
            db.select(Interaction.contact_id, func.max(Interaction.occurred_on)).where(
                Interaction.contact_id.between(low, high)
            ),
            ids,
        )
        met = _by_contact(
            db.select(Participant.contact_id, func.max(Interview.held_on))
            .join(Interview, Participant.interview_id == Interview.id)
            .where(Participant.contact_id.between(low, high)),
            ids,
        )
        due = _by_contact(
            db.select(FollowUp.contact_id, func.min(FollowUp.due_on)).where(
                FollowUp.contact_id.between(low, high), FollowUp.status == FollowUpStatus.OPEN
            ),
            ids,
        )
        for row in batch:
            _, organisation, title = jobs.get(row.id, (None, "", ""))
            touches = [d for d in (interacted.get(row.id), met.get(row.id)) if d]
            yield ContactRow(
                id=row.id,
                name=row.name,
                email=row.email,
                phone=row.phone,
                linkedin_url=row.linkedin_url,
                notes=row.notes,
                organisation=organisation,
                title=title,
                last_touch=max(touches) if touches else None,
                next_touch=due.get(row.id),
            )


def _lines(rows: Iterator[Sequence[str]]) -> Iterator[str]:
    """CSV text, a chunk per 1,000 rows, every cell made safe for spreadsheets."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for count, row in enumerate(rows, start=1):
        writer.writerow([csv_safe(cell) for cell in row])
        if count % BATCH == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _iso(day: date | None) -> str:
    return day.isoformat() if day else ""


def contacts_csv(user_id: int) -> Iterator[str]:
    """The contacts as CSV, with a BOM so that Excel reads the UTF-8."""
    yield "\ufeff"
    rows = (
        (c.name, c.organisation, c.title, c.email, c.phone, c.linkedin_url, c.notes)
        + (_iso(c.last_touch), _iso(c.next_touch))
        for c in contact_rows(user_id)
    )
    yield from _lines(itertools.chain([CSV_HEADER], rows))


def contact_uid(contact_id: int, base_url: str) -> str:
    """A vCard UID that stays the same for a contact across exports."""
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'{base_url}/contacts/{contact_id}')}"


def contacts_vcard(user_id: int, base_url: str) -> Iterator[str]:
    """The contacts as vCard 4.0, one card each, in chunks of a batch."""
    chunk: list[str] = []
    for c in contact_rows(user_id):
        chunk.append(
            write_card(
                c.name,
                contact_uid(c.id, base_url),
                email=c.email,
                phone=c.phone,
                organisation=c.organisation,
                title=c.title,
                url=c.linkedin_url,
                notes=c.notes,
            )
        )
        if len(chunk) == BATCH:
            yield "".join(chunk)
            chunk = []
    yield "".join(chunk)


def follow_ups_ics(user_id: int, base_url: str, today: date) -> Iterator[bytes]:
    """Every follow-up of the user (open, done and skipped) as one iCalendar file."""
    end = b"END:VCALENDAR\r\n"
    empty = calendar.calendar_bytes([], base_url, name="Keepwarm follow-ups")
    yield empty.removesuffix(end)
    query = db.select(FollowUp.id).where(FollowUp.user_id == user_id)
    for batch in batches(query, FollowUp.id):
        loaded = db.session.execute(
            db.select(FollowUp)
            .where(FollowUp.id.in_([row.id for row in batch]))
            .options(
                db.joinedload(FollowUp.contact),
                db.joinedload(FollowUp.organisation),
                db.joinedload(FollowUp.interview),
            )
            .order_by(FollowUp.id)
        ).scalars()
        items = agenda.describe(list(loaded.unique()), today)
        yield b"".join(calendar.event_for(item, base_url).to_ical() for item in items)
    yield end
