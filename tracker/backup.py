"""A full backup as JSON, and restoring one into an empty account.

The backup holds every record of the user (settings, organisations, contacts, jobs,
interviews, the people met, interactions and follow-ups) under a format version. Its
ids are its own: records refer to each other by them, and a restore gives every record
a new id, so a backup restores into any empty account on either database. Columns are
read from the models, so a column added later is backed up without a change here.
"""

import dataclasses
import enum
import functools
import json
from collections.abc import Iterator, Sequence
from datetime import date, datetime, time
from typing import NamedTuple
from zoneinfo import available_timezones

from sqlalchemy import Column, TypeDecorator
from sqlalchemy.exc import DataError, IntegrityError

from . import playbook
from .bulk import batches, insert_ids
from .clock import utcnow
from .db import db
from .models import (
    Contact,
    FollowUp,
    Interaction,
    Interview,
    Organisation,
    Participant,
    Position,
    User,
)

FORMAT = "keepwarm-backup"
VERSION = 1
MODELS = (Organisation, Contact, Position, Interview, Participant, Interaction, FollowUp)
SETTINGS = ("timezone", "digest_enabled", "digest_hour") + tuple(
    f.name for f in dataclasses.fields(playbook.Settings)
)
# The user's rows a backup leaves out, and why (a test checks every table is accounted for).
NOT_BACKED_UP = {
    "outbox": "the log of emails sent: a restored account starts a fresh one",
    "pending_import": "files uploaded for import but not imported",
    "password_reset": "single-use sign-in secrets, never carried into another account",
    "recovery_code": "single-use sign-in secrets, never carried into another account",
}
NOT_EMPTY = (
    "Your account already has contacts, interviews or follow-ups, so the backup was not "
    "restored. Restore it into a new, empty account."
)


class BackupProblem(ValueError):
    """The backup cannot be restored; the message says why. Nothing was changed."""


# Rows without a user_id belong to the user through a parent that has one.
PARENTS = {
    Position: (Position.contact_id, Contact),
    Participant: (Participant.interview_id, Interview),
}


def _rows(model: type, user_id: int) -> Iterator[Sequence]:
    """The user's rows of `model`, a batch at a time, each batch one or two index scans.

    A child table is read per batch of its parent's ids (a range on its parent column,
    filtered to the batch), in parent then id order: query plans stay cheap even before
    PostgreSQL has statistics for freshly filled tables.
    """
    query = db.select(*_columns(model))
    if model not in PARENTS:
        yield from batches(query.where(model.user_id == user_id), model.id)
        return
    column, parent = PARENTS[model]
    for owners in batches(db.select(parent.id).where(parent.user_id == user_id), parent.id):
        ids = {row.id for row in owners}
        rows = db.session.execute(
            query.where(column.between(owners[0].id, owners[-1].id)).order_by(column, model.id)
        )
        yield [row for row in rows if getattr(row, column.key) in ids]


def _columns(model: type) -> list[Column]:
    return [column for column in model.__table__.columns if column.name != "user_id"]


def _plain(value: object) -> object:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, date | time):
        return value.isoformat()
    return value


def dump(user: User) -> Iterator[str]:
    """The backup as JSON text, a chunk per batch of rows."""
    head = {
        "format": FORMAT,
        "version": VERSION,
        "exported_at": utcnow().isoformat(),
        "settings": {name: getattr(user, name) for name in SETTINGS},
    }
    yield json.dumps(head, indent=1)[:-2] + ',\n "tables": {'
    for number, model in enumerate(MODELS):
        columns = _columns(model)
        names = [column.name for column in columns]
        yield ("," if number else "") + f'\n  "{model.__tablename__}": ['
        separator = "\n   "
        for batch in _rows(model, user.id):
            if not batch:
                continue
            records = (dict(zip(names, map(_plain, row), strict=True)) for row in batch)
            yield separator + ",\n   ".join(json.dumps(r, ensure_ascii=False) for r in records)
            separator = ",\n   "
        yield "]"
    yield "\n }\n}\n"


def is_empty(user_id: int) -> bool:
    """No organisations, contacts, interviews, interactions or follow-ups."""
    for model in (Organisation, Contact, Interview, Interaction, FollowUp):
        if db.session.execute(db.select(model.id).where(model.user_id == user_id)).first():
            return False
    return True


def _setting(name: str, value: object) -> object:
    """A setting from the backup, if it is one the settings pages would accept."""
    if name == "timezone":
        usable = isinstance(value, str) and (value == "UTC" or value in available_timezones())
    elif name == "digest_enabled":
        usable = isinstance(value, bool)
    else:
        highest = 23 if name == "digest_hour" else 3650
        usable = type(value) is int and 0 <= value <= highest
    if usable:
        return value
    raise BackupProblem(f"The backup's setting “{name}” has a value Keepwarm cannot use.")


class Field(NamedTuple):
    """What restoring needs to know about one column, worked out once per table."""

    name: str
    optional: bool  # may be missing from a record: nullable or with a default
    nullable: bool
    target: str | None  # the table a reference points to
    kind: type
    length: int


@functools.cache
def _fields(model: type) -> tuple[Field, ...]:
    """The restorable columns of `model` (all but user_id), read from the model."""
    fields = []
    for column in _columns(model):
        kind = column.type
        kind = kind.impl_instance if isinstance(kind, TypeDecorator) else kind
        target = next((fk.column.table.name for fk in column.foreign_keys), None)
        length = getattr(kind, "length", None) or 10**9
        optional = column.nullable or column.default is not None
        fields.append(
            Field(column.name, optional, column.nullable, target, kind.python_type, length)
        )
    return tuple(fields)


def _value(field: Field, value: object) -> object:
    """A JSON value as the column's Python type; ValueError if it is not one."""
    kind = field.kind
    if value is None:
        if field.nullable:
            return None
        raise ValueError("missing")
    if issubclass(kind, enum.Enum):
        return kind(value)
    if kind in (datetime, date, time) and not isinstance(value, str):
        raise ValueError("not a date or time")
    if kind is datetime:
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is None:
            raise ValueError("no time zone")
        return moment
    if kind in (date, time):
        return kind.fromisoformat(value)
    if kind is bool and isinstance(value, bool):
        return value
    if kind is int and type(value) is int and abs(value) < 2**31:
        return value
    text = kind is str and isinstance(value, str)
    if text and len(value) <= field.length and "\x00" not in value:  # PostgreSQL refuses NUL
        return value
    raise ValueError("wrong type or too long")


def _row(model: type, record: object, ids: dict, user_id: int) -> tuple[int, dict]:
    """One backup record as a row for `model`, its references mapped to the new ids."""
    table, fields = model.__tablename__, _fields(model)
    if not isinstance(record, dict) or not isinstance(record.get("id"), int):
        raise BackupProblem(f"A record in “{table}” has no id.")
    unknown = record.keys() - {field.name for field in fields}
    if unknown:
        names = ", ".join(sorted(unknown))
        raise BackupProblem(f"“{table}” record {record['id']} has unknown fields: {names}.")
    row: dict = {"user_id": user_id} if "user_id" in model.__table__.columns else {}
    for field in fields:
        if field.name == "id" or (field.optional and field.name not in record):
            continue
        value = record.get(field.name)
        try:
            if field.target and value is not None:
                if not isinstance(value, int) or value not in ids.get(field.target, {}):
                    raise ValueError("refers to a record that is not in the backup")
                row[field.name] = ids[field.target][value]
            else:
                row[field.name] = _value(field, value)
        except ValueError as error:
            raise BackupProblem(
                f"“{table}” record {record['id']}: “{field.name}” is not valid ({error})."
            ) from None
    return record["id"], row


def _insert(model: type, records: list, ids: dict, user_id: int) -> dict[int, int]:
    """Insert one table's records a thousand at a time; backup id -> new id."""
    table, mapping = model.__tablename__, {}
    for start in range(0, len(records), 1000):
        rows = [_row(model, record, ids, user_id) for record in records[start : start + 1000]]
        try:
            new = insert_ids(model, [row for _, row in rows])
        except (IntegrityError, DataError):
            raise BackupProblem(f"The database refused a record in “{table}”.") from None
        for (old, _), ident in zip(rows, new, strict=True):
            if mapping.setdefault(old, ident) != ident:
                raise BackupProblem(f"“{table}” has two records with the same id.")
    return mapping


def restore(user: User, data: bytes) -> dict[str, int]:
    """Load a backup into the user's empty account; BackupProblem and no change otherwise."""
    if not is_empty(user.id):
        raise BackupProblem(NOT_EMPTY)
    try:
        document = json.loads(data)
    except (ValueError, RecursionError):
        raise BackupProblem("This is not a Keepwarm backup: it is not a JSON file.") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise BackupProblem("This is not a Keepwarm backup file.")
    if document.get("version") != VERSION:
        raise BackupProblem("This backup was made by another version of Keepwarm.")
    settings, tables = document.get("settings"), document.get("tables")
    if not isinstance(settings, dict) or not isinstance(tables, dict):
        raise BackupProblem("The backup file is incomplete.")
    if tables.keys() - {model.__tablename__ for model in MODELS}:
        raise BackupProblem("The backup has records of a kind Keepwarm does not know.")
    for name in SETTINGS:
        if name in settings:
            setattr(user, name, _setting(name, settings[name]))
    ids: dict[str, dict[int, int]] = {}
    for model in MODELS:
        records = tables.pop(model.__tablename__, [])  # freed table by table
        if not isinstance(records, list):
            raise BackupProblem("The backup file is incomplete.")
        ids[model.__tablename__] = _insert(model, records, ids, user.id)
    db.session.flush()
    return {table: len(mapping) for table, mapping in ids.items()}
