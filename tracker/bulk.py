"""Bulk reads and writes: rows in batches by id, and inserts that give back their ids.

Imports and restores write thousands of rows; exports and backups read them. One
statement per thousand rows, never one per row, on SQLite and PostgreSQL alike.
"""

from collections.abc import Iterator, Sequence

from sqlalchemy import Select, func, insert

from .db import db

BATCH = 1000


def batches(query: Select, key, size: int = BATCH) -> Iterator[Sequence]:
    """The rows of `query`, whose first column is `key` (an id), a query per batch by id."""
    last = None
    while True:
        page = query if last is None else query.where(key > last)
        rows = db.session.execute(page.order_by(key).limit(size)).all()
        if not rows:
            return
        yield rows
        last = rows[-1][0]


def insert_ids(model: type, rows: list[dict]) -> list[int]:
    """Insert the rows in bulk; their new ids, in the order of the rows.

    PostgreSQL batches INSERT ... RETURNING and keeps the order. SQLite cannot promise
    the order of RETURNING rows, so SQLAlchemy would fall back to a statement per row;
    instead the ids are given: the transaction holds SQLite's write lock (tracker.db
    begins every writing transaction IMMEDIATE), so the ids above the largest are free.
    """
    if not rows:
        return []
    if db.session.get_bind().dialect.name != "sqlite":
        statement = insert(model).returning(model.id, sort_by_parameter_order=True)
        return list(db.session.execute(statement, rows).scalars())
    start = db.session.execute(db.select(func.max(model.id))).scalar() or 0
    ids = list(range(start + 1, start + 1 + len(rows)))
    numbered = [{**row, "id": ident} for ident, row in zip(ids, rows, strict=True)]
    db.session.execute(insert(model), numbered)
    return ids
