"""Contact search by any part of a name, job title or organisation, served by an index.

A search for "globex" must not read all 100,000 contacts of a large account, so it is
answered from trigram indexes, which find a substring of three or more characters:

- SQLite: an FTS5 table with the trigram tokenizer, `contact_search`, one document per
  contact (its name, then the title and organisation of each job, one per line, so no
  match spans two of them), kept current by triggers: every write updates it, whether
  it comes from a form, an import, a restore or a bulk insert.
- PostgreSQL: pg_trgm GIN indexes on the three columns, which serve ILIKE '%…%'.

Neither is a model: the DDL below runs after `create_all` and in the migration that
added it, and `tracker.db.modelled` keeps these objects out of schema comparisons.
Terms shorter than three characters cannot use a trigram; callers scan for those.

Alembic's batch mode on SQLite rebuilds a table to alter it, and the rebuilt table has
no triggers: a migration that alters contact, position or organisation that way must
create them again (tests/test_scale_search.py checks that they exist after upgrade).
"""

from sqlalchemy import Integer, MetaData, column, event, text
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import TextClause
from sqlalchemy.sql.selectable import TextualSelect

from .db import db

MIN_LENGTH = 3
TABLE = "contact_search"

# The document of each contact whose id is in (IDS): the name, then "\n title \n place"
# for each job. Every statement here is a constant; IDS is replaced by other constants.
DOCUMENTS = (
    "SELECT c.id, c.name || coalesce((SELECT group_concat(char(10) || p.title || char(10) "
    "|| o.name, '') FROM position AS p JOIN organisation AS o ON o.id = p.organisation_id "
    "WHERE p.contact_id = c.id), '') FROM contact AS c WHERE c.id IN (IDS)"
)
REFRESH = (
    "DELETE FROM contact_search WHERE rowid IN (IDS); "  # noqa: S608  # nosec B608 - constants only
    "INSERT INTO contact_search (rowid, document) " + DOCUMENTS + ";"
)
OF_PLACE = "SELECT contact_id FROM position WHERE organisation_id = new.id"
SQLITE_DDL = [
    "CREATE VIRTUAL TABLE IF NOT EXISTS contact_search USING fts5(document, tokenize='trigram')",
    "CREATE TRIGGER IF NOT EXISTS contact_search_insert AFTER INSERT ON contact BEGIN "
    "INSERT INTO contact_search (rowid, document) VALUES (new.id, new.name); END",
    "CREATE TRIGGER IF NOT EXISTS contact_search_rename AFTER UPDATE OF name ON contact BEGIN "
    + REFRESH.replace("IDS", "new.id")
    + " END",
    "CREATE TRIGGER IF NOT EXISTS contact_search_delete AFTER DELETE ON contact BEGIN "
    "DELETE FROM contact_search WHERE rowid = old.id; END",
    "CREATE TRIGGER IF NOT EXISTS position_search_insert AFTER INSERT ON position BEGIN "
    + REFRESH.replace("IDS", "new.contact_id")
    + " END",
    "CREATE TRIGGER IF NOT EXISTS position_search_update "
    "AFTER UPDATE OF title, organisation_id, contact_id ON position BEGIN "
    + REFRESH.replace("IDS", "old.contact_id")
    + " "
    + REFRESH.replace("IDS", "new.contact_id")
    + " END",
    "CREATE TRIGGER IF NOT EXISTS position_search_delete AFTER DELETE ON position BEGIN "
    + REFRESH.replace("IDS", "old.contact_id")
    + " END",
    "CREATE TRIGGER IF NOT EXISTS organisation_search_rename "
    "AFTER UPDATE OF name ON organisation BEGIN " + REFRESH.replace("IDS", OF_PLACE) + " END",
]
# Every contact's document, afresh (after create_all, and when the migration adds it).
SQLITE_REBUILD = [
    "DELETE FROM contact_search",
    "INSERT INTO contact_search (rowid, document) "  # noqa: S608 - constants only
    + DOCUMENTS.replace("IDS", "SELECT id FROM contact"),
]
POSTGRESQL_EXTENSION = "CREATE EXTENSION IF NOT EXISTS pg_trgm"
POSTGRESQL_DDL = [
    "CREATE INDEX IF NOT EXISTS ix_contact_name_trgm ON contact USING gin (name gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS ix_position_title_trgm ON position USING gin (title gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS ix_organisation_name_trgm ON organisation "
    "USING gin (name gin_trgm_ops)",
]


def is_search_object(name: str | None) -> bool:
    """The FTS table (and its shadow tables) or a trigram index: made here, not by models."""
    return bool(name) and (name.startswith(TABLE) or name.endswith("_trgm"))


def create(connection: Connection) -> None:
    """Build the index for this connection's database; safe to run again."""
    dialect = connection.dialect.name
    if dialect == "sqlite":
        for statement in (*SQLITE_DDL, *SQLITE_REBUILD):
            connection.exec_driver_sql(statement)
    elif dialect == "postgresql":
        for statement in (POSTGRESQL_EXTENSION, *POSTGRESQL_DDL):
            connection.exec_driver_sql(statement)


def drop(connection: Connection) -> None:
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("DROP TABLE IF EXISTS contact_search")


def install(metadata: MetaData) -> None:
    """Build the index with `create_all` and remove it with `drop_all` (tests, benches)."""
    if not event.contains(metadata, "after_create", _after_create):
        event.listen(metadata, "after_create", _after_create)
        event.listen(metadata, "before_create", _before_create)
        event.listen(metadata, "after_drop", _after_drop)


def _before_create(_metadata: MetaData, connection: Connection, **_kw: object) -> None:
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(POSTGRESQL_EXTENSION)


def _after_create(_metadata: MetaData, connection: Connection, **_kw: object) -> None:
    create(connection)


def _after_drop(_metadata: MetaData, connection: Connection, **_kw: object) -> None:
    drop(connection)


def sqlite_matches(term: str) -> TextualSelect:
    """Ids of contacts whose document contains `term` (SQLite), as a subquery."""
    return (
        text("SELECT rowid FROM contact_search WHERE contact_search MATCH :search_phrase")
        .bindparams(search_phrase=_phrase(term))
        .columns(column("rowid", Integer))
    )


def sqlite_count(term: str, up_to: int) -> int:
    """How many documents contain `term` (SQLite), counting no further than `up_to`."""
    return db.session.execute(
        text(
            "SELECT count(*) FROM (SELECT rowid FROM contact_search "
            "WHERE contact_search MATCH :search_phrase LIMIT :up_to)"
        ),
        {"search_phrase": _phrase(term), "up_to": up_to},
    ).scalar_one()


def sqlite_document_has(pattern: str) -> TextClause:
    """The contact's document matches the LIKE `pattern` (SQLite), tested row by row.

    `document || ''` is an expression FTS5 cannot plan for: the row is fetched by rowid
    and tested, instead of the whole MATCH being run once per contact.
    """
    return text(
        "EXISTS (SELECT 1 FROM contact_search WHERE contact_search.rowid = contact.id "
        "AND (contact_search.document || '') LIKE :search_pattern ESCAPE '\\')"
    ).bindparams(search_pattern=pattern)


def _phrase(term: str) -> str:
    """An FTS5 phrase: the term in double quotes, its own quotes doubled."""
    return '"' + term.replace('"', '""') + '"'
