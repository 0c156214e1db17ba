"""Contact search by any part of a name, job title or organisation, served by an index.

A search for "globex" must not read all 100,000 contacts of a large account, so it is
answered from trigram indexes, which find a substring of three or more characters, over
one document per contact: its name, then the title and organisation of each job, one per
line, so no match spans two of them (a search term holds no control characters).

- SQLite: an FTS5 table with the trigram tokenizer, `contact_search`, kept current by
  triggers: every write updates it, whether it comes from a form, an import, a restore
  or a bulk insert. SQLite has no statistics to choose a plan by: tracker.contacts
  counts the matches, probes the first contacts in name order, and chooses.
- PostgreSQL: a table `contact_search` (the contact's id, user, name and document) with
  a pg_trgm GIN index on the document and a B-tree in (user, name, id) order, kept
  current by triggers too. From its statistics PostgreSQL chooses between collecting the
  matches through the GIN index and sorting them (a rare term), and reading the user's
  contacts in name order until the page is full (a term that matches thousands). Its
  statistics cannot tell that a term's thousands of matches all sort late ("zoe"), so
  tracker.contacts probes the first contacts in name order and, when they hold no page
  of matches, has the matches collected (`postgresql_collected`).

Neither is a model: the DDL below runs after `create_all` and in the migrations that
added it, and `tracker.db.modelled` keeps these objects out of schema comparisons.
Terms shorter than three characters cannot use a trigram: SQLite scans for those, and
PostgreSQL reads the user's contacts in name order.

Alembic's batch mode on SQLite rebuilds a table to alter it, and the rebuilt table has
no triggers: a migration that alters contact, position or organisation that way must
create them again (tests/test_scale_search.py checks that they exist after upgrade).
"""

from sqlalchemy import Integer, MetaData, Select, Text, column, event, table, text
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import TextClause
from sqlalchemy.sql.selectable import TextualSelect

from .db import db
from .models import Contact

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
# The document of each contact whose id is in (IDS), as SQLite's, for PostgreSQL.
POSTGRESQL_DOCUMENTS = (
    "SELECT c.id, c.user_id, c.name, c.name || coalesce((SELECT string_agg(chr(10) "
    "|| p.title || chr(10) || o.name, '') FROM position AS p JOIN organisation AS o "
    "ON o.id = p.organisation_id WHERE p.contact_id = c.id), '') FROM contact AS c "
    "WHERE c.id IN (IDS)"
)
POSTGRESQL_UPSERT = (
    "INSERT INTO contact_search (contact_id, user_id, name, document) "  # nosec B608 - constants only
    + POSTGRESQL_DOCUMENTS
    + " ON CONFLICT (contact_id) DO UPDATE SET user_id = excluded.user_id, "
    "name = excluded.name, document = excluded.document"
)
POSTGRESQL_DDL = [
    "CREATE TABLE IF NOT EXISTS contact_search (contact_id integer NOT NULL, "
    "user_id integer NOT NULL, name text NOT NULL, document text NOT NULL, "
    "CONSTRAINT contact_search_pkey PRIMARY KEY (contact_id), "
    "CONSTRAINT contact_search_contact_id_fkey FOREIGN KEY (contact_id) "
    "REFERENCES contact (id) ON DELETE CASCADE)",
    # A user's contacts in the list's order, to read until a page is full.
    "CREATE INDEX IF NOT EXISTS contact_search_user_name "
    "ON contact_search (user_id, name, contact_id)",
    "CREATE INDEX IF NOT EXISTS contact_search_document_trgm "
    "ON contact_search USING gin (document gin_trgm_ops)",
    # The contacts are locked first, and the documents read by the next statement, with
    # a snapshot taken after any wait: a job another transaction added and committed
    # meanwhile is in the document, instead of being overwritten by an older one.
    # Planned at each call: a plan cached while the tables were small would scan them
    # whole on every row of a bulk load (demo data, imports, restores), quadratic in rows.
    "CREATE OR REPLACE FUNCTION contact_search_write(ids integer[]) RETURNS void "
    "LANGUAGE plpgsql SET plan_cache_mode = force_custom_plan AS $$ BEGIN "
    "PERFORM 1 FROM contact WHERE id = ANY (ids) ORDER BY id FOR NO KEY UPDATE; "
    + POSTGRESQL_UPSERT.replace("IN (IDS)", "= ANY (ids)")
    + "; END $$",
    "CREATE OR REPLACE FUNCTION contact_search_refresh() RETURNS trigger "
    "LANGUAGE plpgsql AS $$ BEGIN "
    "IF TG_TABLE_NAME = 'contact' THEN PERFORM contact_search_write(ARRAY[NEW.id]); "
    "ELSIF TG_TABLE_NAME = 'organisation' THEN PERFORM contact_search_write("
    "ARRAY(SELECT contact_id FROM position WHERE organisation_id = NEW.id)); "
    "ELSIF TG_OP = 'INSERT' THEN PERFORM contact_search_write(ARRAY[NEW.contact_id]); "
    "ELSIF TG_OP = 'UPDATE' THEN "
    "PERFORM contact_search_write(ARRAY[OLD.contact_id, NEW.contact_id]); "
    "ELSE PERFORM contact_search_write(ARRAY[OLD.contact_id]); "
    "END IF; RETURN NULL; END $$",
    # A deleted contact's row goes with it (the foreign key); every other change here.
    "DROP TRIGGER IF EXISTS contact_search_contact ON contact",
    "CREATE TRIGGER contact_search_contact AFTER INSERT OR UPDATE OF name, user_id "
    "ON contact FOR EACH ROW EXECUTE FUNCTION contact_search_refresh()",
    "DROP TRIGGER IF EXISTS contact_search_position ON position",
    "CREATE TRIGGER contact_search_position AFTER INSERT OR DELETE "
    "OR UPDATE OF title, organisation_id, contact_id "
    "ON position FOR EACH ROW EXECUTE FUNCTION contact_search_refresh()",
    "DROP TRIGGER IF EXISTS contact_search_organisation ON organisation",
    "CREATE TRIGGER contact_search_organisation AFTER UPDATE OF name "
    "ON organisation FOR EACH ROW EXECUTE FUNCTION contact_search_refresh()",
]
# Every contact's document, afresh (after create_all, and when the migration adds it).
POSTGRESQL_REBUILD = [POSTGRESQL_UPSERT.replace("IDS", "SELECT id FROM contact")]
POSTGRESQL_DROP = [
    "DROP TABLE IF EXISTS contact_search",
    "DROP FUNCTION IF EXISTS contact_search_refresh() CASCADE",
    "DROP FUNCTION IF EXISTS contact_search_write(integer[])",
]
# The PostgreSQL table, for queries (not a model: create_all leaves it to the DDL above).
SEARCH = table(
    TABLE,
    column("contact_id", Integer),
    column("user_id", Integer),
    column("name", Text),
    column("document", Text),
)


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
        for statement in (POSTGRESQL_EXTENSION, *POSTGRESQL_DDL, *POSTGRESQL_REBUILD):
            connection.exec_driver_sql(statement)


def drop(connection: Connection) -> None:
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("DROP TABLE IF EXISTS contact_search")
    elif connection.dialect.name == "postgresql":
        for statement in POSTGRESQL_DROP:
            connection.exec_driver_sql(statement)


def install(metadata: MetaData) -> None:
    """Build the index with `create_all` and remove it with `drop_all` (tests, benches)."""
    if not event.contains(metadata, "after_create", _after_create):
        event.listen(metadata, "after_create", _after_create)
        event.listen(metadata, "before_create", _before_create)
        event.listen(metadata, "before_drop", _before_drop)
        event.listen(metadata, "after_drop", _after_drop)


def _before_create(_metadata: MetaData, connection: Connection, **_kw: object) -> None:
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(POSTGRESQL_EXTENSION)


def _after_create(_metadata: MetaData, connection: Connection, **_kw: object) -> None:
    create(connection)


def _before_drop(_metadata: MetaData, connection: Connection, **_kw: object) -> None:
    if connection.dialect.name == "postgresql":  # its table refers to contact
        drop(connection)


def _after_drop(_metadata: MetaData, connection: Connection, **_kw: object) -> None:
    if connection.dialect.name == "sqlite":
        drop(connection)


def postgresql_search(query: Select, user_id: int, pattern: str) -> Select:
    """`query` (of contacts) narrowed to the user's documents matching the ILIKE `pattern`.

    Ordered by the search table's copy of the name, then the id: the list's order, in
    the columns of the (user, name, id) index, which PostgreSQL may read until the page
    is full; or it collects the matches through the trigram index and sorts them.
    """
    return (
        query.join(SEARCH, SEARCH.c.contact_id == Contact.id)
        .where(
            SEARCH.c.user_id == user_id,
            Contact.user_id == user_id,
            SEARCH.c.document.ilike(pattern, escape="\\"),
        )
        .order_by(SEARCH.c.name, SEARCH.c.contact_id)
    )


def postgresql_collected(user_id: int, pattern: str) -> Select:
    """The user's contacts whose document matches the ILIKE `pattern`, collected and sorted.

    For terms whose matches the name-order read would reach late (tracker.contacts
    decides): a MATERIALIZED CTE is planned on its own, so PostgreSQL gathers the matches
    through the trigram index and sorts them by name, whatever it estimates for reading
    the (user, name, id) index, an estimate that assumes matches spread over the names.
    Rows of the search table's own copies of the id and name: joining contact would add
    a lookup per match, and the triggers keep the copies current.
    """
    hits = (
        db.select(SEARCH.c.contact_id.label("id"), SEARCH.c.name)
        .where(SEARCH.c.user_id == user_id, SEARCH.c.document.ilike(pattern, escape="\\"))
        .cte("hits")
        .prefix_with("MATERIALIZED")
    )
    return db.select(hits.c.id, hits.c.name).order_by(hits.c.name, hits.c.id)


def early_matches(user_id: int, pattern: str, among: int, up_to: int) -> int:
    """How many of the user's first `among` contacts in name order match the LIKE `pattern`,
    counting no further than `up_to`.

    Reads at most `among` rows of the (user, name) index, testing each one's document,
    and stops at the `up_to`-th match: a bounded probe of what reading the whole list in
    name order would meet first.
    """
    if db.session.get_bind().dialect.name != "postgresql":
        return len(sqlite_first_matches(user_id, pattern, among, up_to))
    statement = (
        "SELECT count(*) FROM (SELECT 1 FROM (SELECT document FROM contact_search "
        "WHERE user_id = :user_id ORDER BY name, contact_id LIMIT :among) AS probe "
        "WHERE document ILIKE :search_pattern LIMIT :up_to) AS found"
    )
    parameters = {"user_id": user_id, "among": among, "search_pattern": pattern, "up_to": up_to}
    return db.session.execute(text(statement), parameters).scalar_one()


def sqlite_first_matches(user_id: int, pattern: str, among: int, up_to: int) -> list[int]:
    """The ids of the first `up_to` matches of the LIKE `pattern` among the user's first
    `among` contacts in name order (SQLite), as early_matches reads them: when there are
    `up_to` of them, they are the list's first rows, which the search need not read again.
    """
    statement = (
        "SELECT contact.id FROM (SELECT id FROM contact "  # noqa: S608  # nosec B608 - constants only
        "WHERE user_id = :user_id ORDER BY name, id LIMIT :among) AS contact "
        "WHERE " + _SQLITE_DOCUMENT_HAS + " LIMIT :up_to"
    )
    parameters = {"user_id": user_id, "among": among, "search_pattern": pattern, "up_to": up_to}
    return list(db.session.execute(text(statement), parameters).scalars())


def sqlite_matches(term: str) -> TextualSelect:
    """Ids of contacts whose document contains `term` (SQLite), as a subquery."""
    return (
        text("SELECT rowid FROM contact_search WHERE contact_search MATCH :search_phrase")
        .bindparams(search_phrase=_phrase(term))
        .columns(column("rowid", Integer))
    )


def sqlite_scanned(pattern: str) -> TextualSelect:
    """Ids of contacts whose document matches the LIKE `pattern` (SQLite), as a subquery.

    For terms too short for a trigram: every document (of every user) is read once and
    tested, about 0.2 microseconds each, where testing a user's contacts one by one in
    name order costs about 2 (a lookup by rowid in the FTS table for each).
    """
    return (
        text(
            "SELECT rowid FROM contact_search "
            "WHERE (document || '') LIKE :search_pattern ESCAPE '\\'"
        )
        .bindparams(search_pattern=pattern)
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
    return text(_SQLITE_DOCUMENT_HAS).bindparams(search_pattern=pattern)


_SQLITE_DOCUMENT_HAS = (
    "EXISTS (SELECT 1 FROM contact_search WHERE contact_search.rowid = contact.id "
    "AND (contact_search.document || '') LIKE :search_pattern ESCAPE '\\')"
)


def _phrase(term: str) -> str:
    """An FTS5 phrase: the term in double quotes, its own quotes doubled."""
    return '"' + term.replace('"', '""') + '"'
