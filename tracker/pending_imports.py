"""Uploaded contact files kept for their preview: parse once, map columns, match.

The file is parsed once and kept as a PendingImport (its rows as JSON) under a random
id bound to the user, so every preview page and the import itself (tracker.importing)
read the same rows. Functions add and flush; the caller commits once.
"""

import json
import secrets
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete

from .clock import utcnow
from .db import db
from .imports import (
    FIELDS,
    Action,
    Decision,
    Known,
    Table,
    candidates,
    guess_mapping,
    mapping_problem,
    plan,
    read,
)
from .models import Contact, Organisation, PendingImport, Position
from .organisations import name_key

KEEP_FOR = timedelta(days=1)
CHUNK = 900  # ids per IN (...) list, well under every database's parameter limit


def chunks(items: list, size: int = CHUNK) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def forget_old(user_id: int | None = None) -> int:
    """Delete uploads older than KEEP_FOR (of one user, or everyone's); how many went."""
    old = delete(PendingImport).where(PendingImport.created_at < utcnow() - KEEP_FOR)
    if user_id is not None:
        old = old.where(PendingImport.user_id == user_id)
    return db.session.execute(old).rowcount


def receive(user_id: int, filename: str, data: bytes) -> PendingImport:
    """Parse an upload and keep it for the preview; ImportProblem if it cannot be read."""
    table = read(data)
    forget_old(user_id)
    content = {"columns": table.columns, "rows": table.rows, "numbers": table.numbers}
    pending = PendingImport(
        id=secrets.token_urlsafe(16),
        user_id=user_id,
        filename=" ".join(filename.split())[:255],
        source=table.source,
        row_count=len(table.rows),
        content=json.dumps(content, ensure_ascii=False),
        mapping=json.dumps(guess_mapping(table.columns)),
    )
    db.session.add(pending)
    db.session.flush()
    return pending


def table_of(pending: PendingImport) -> Table:
    content = json.loads(pending.content)
    return Table(pending.source, content["columns"], content["rows"], content["numbers"])


def examples(table: Table) -> list[str]:
    """The first non-empty cell of each column, to show what the column holds."""
    found = [""] * len(table.columns)
    for row in table.rows[:50]:
        for column, cell in enumerate(row[: len(found)]):
            found[column] = found[column] or cell.strip()
    return found


def mapping_of(pending: PendingImport) -> dict[str, int]:
    return {name: int(column) for name, column in json.loads(pending.mapping).items()}


def choose_columns(pending: PendingImport, choices: list[str]) -> str | None:
    """Save the field chosen for each column ("" to leave it out); a problem, or None."""
    mapping: dict[str, int] = {}
    for column, name in enumerate(choices):
        if not name:
            continue
        if name not in FIELDS:
            return "Pick a field from the list for every column."
        if name in mapping:
            return f"“{FIELDS[name]}” is chosen for two columns; choose it for one only."
        mapping[name] = column
    pending.mapping = json.dumps(mapping)
    return None


def known_contacts(user_id: int) -> Known:
    """The user's contacts by email and by (name, organisation) for the matching rules."""
    jobs: dict[int, set[str]] = defaultdict(set)
    rows = db.session.execute(
        db.select(Position.contact_id, Organisation.name_key)
        .join(Organisation, Position.organisation_id == Organisation.id)
        .where(Organisation.user_id == user_id)
    )
    for contact_id, key in rows:
        jobs[contact_id].add(key)
    known = Known()
    contacts = db.session.execute(
        db.select(Contact.id, Contact.name, Contact.email)
        .where(Contact.user_id == user_id)
        .order_by(Contact.id)
    )
    for contact_id, name, email in contacts:
        known.names[contact_id] = name
        if email:
            known.by_email.setdefault(email.casefold(), contact_id)
        for organisation in jobs.get(contact_id) or {""}:
            known.by_name.setdefault((name_key(name), organisation), contact_id)
    return known


@dataclass(frozen=True)
class Preview:
    table: Table
    decisions: list[Decision]
    names: dict[int, str]  # the matched contacts' names
    problem: str | None = None

    def count(self, action: Action) -> int:
        return sum(1 for decision in self.decisions if decision.action is action)


def preview(pending: PendingImport) -> Preview:
    """What importing the file now would do, row by row."""
    table, mapping = table_of(pending), mapping_of(pending)
    problem = mapping_problem(mapping)
    if problem:
        return Preview(table, [], {}, problem)
    known = known_contacts(pending.user_id)
    decisions = plan(candidates(table, mapping), known, table.noun)
    return Preview(table, decisions, known.names)
