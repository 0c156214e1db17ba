"""The SQLAlchemy object, its naming convention, and SQLite set up for real use."""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from flask import Flask, has_request_context, request
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import BindParameter, Executable, Integer, MetaData, bindparam, event, literal
from sqlalchemy.engine import CursorResult, Engine
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)


def rows_of(statement: Executable, values: dict | None = None) -> CursorResult:
    """The rows of a Core statement (columns, no ORM entities) in the session's transaction.

    Run on the session's connection, not through Session.execute: a statement that loads
    no objects gains nothing from the ORM's handling, which cost about as much again as
    the rest of its execution (45 of 100 microseconds; a page runs several). Pending
    changes are flushed first, as Session.execute's autoflush would.
    """
    if db.session.autoflush:
        db.session.flush()
    return db.session.connection().execute(statement, values or {})


def count_param(name: str) -> BindParameter[int]:
    """A statement's row count or offset (LIMIT, OFFSET), written into its SQL when it runs.

    PostgreSQL plans a statement prepared on a connection (psycopg prepares one run five
    times) once for every value of its parameters; a LIMIT it cannot see is planned as a
    tenth of the table, for a plan of whole-table sorts and joins. In the SQL, the plan is
    made for the few rows a page asks for: the contacts list's statement went from 540
    to 430 µs at 100,000 contacts. Statements built once stay built once (SQLAlchemy
    caches them compiled).
    """
    return bindparam(name, type_=Integer, literal_execute=True)


def count_value(value: int) -> BindParameter[int]:
    """count_param with its value given: for statements built where they run."""
    return literal(value, Integer, literal_execute=True)


def modelled(name: str | None, type_: str, parent_names: dict) -> bool:
    """Whether a schema object is the models' to describe (Alembic's include_name).

    The contact search index is made by DDL (tracker.search), so comparing the models
    with the database (`flask db check`, autogenerate) leaves it out.
    """
    from .search import is_search_object

    return not (type_ in ("table", "index") and is_search_object(name))


migrate = Migrate(render_as_batch=True, include_name=modelled)


def init_app(app: Flask) -> None:
    """Bind the database and migrations to the app; tune SQLite connections."""
    from . import search

    search.install(db.metadata)
    db.init_app(app)
    migrate.init_app(app, db, directory=str(app.config["MIGRATIONS_DIR"]))
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            _configure_sqlite(db.engine)


def _configure_sqlite(engine: Engine) -> None:
    """WAL, a busy timeout and foreign keys; write transactions take the lock up front.

    A deferred transaction that reads and then writes fails at once with "database is
    locked" when another process committed in between, whatever the busy timeout, so
    every transaction that may write starts with BEGIN IMMEDIATE. Reads on GET stay
    deferred so pages never queue behind a writer.
    """

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record) -> None:
        # Let SQLAlchemy's "begin" event emit BEGIN itself (pysqlite would delay it).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection) -> None:
        # Straight to the driver: through exec_driver_sql, every request's BEGIN cost as
        # much as a query (SQLAlchemy's execution, not SQLite's, was the time).
        reads = _reading.get() or (has_request_context() and request.method in READ_ONLY_METHODS)
        connection.connection.driver_connection.execute("BEGIN" if reads else "BEGIN IMMEDIATE")


_reading: ContextVar[bool] = ContextVar("keepwarm_reading", default=False)


@contextmanager
def reading() -> Iterator[None]:
    """A transaction begun in this block only reads: on SQLite it begins deferred, so slow
    work done with what it read (composing an email) holds no one's writes back.

    The caller ends it (commit) before writing, which then begins IMMEDIATE as usual.
    """
    token = _reading.set(True)
    try:
        yield
    finally:
        _reading.reset(token)
