"""Contact search served by trigram indexes

SQLite: an FTS5 table with the trigram tokenizer holding one document per contact (name,
job titles, organisations), kept current by triggers. PostgreSQL: the pg_trgm extension
and GIN trigram indexes on contact.name, position.title and organisation.name. The SQL
is tracker/search.py's as it was when this migration was written.

Revision ID: b185c822c058
Revises: 651c37567621
Create Date: 2026-11-25 18:35:59.440779

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'b185c822c058'
down_revision = '651c37567621'
branch_labels = None
depends_on = None

SQLITE_UPGRADE = [
    "CREATE VIRTUAL TABLE IF NOT EXISTS contact_search USING fts5(document, tokenize='trigram')",
    'CREATE TRIGGER IF NOT EXISTS contact_search_insert AFTER INSERT ON contact BEGIN INSERT INTO contact_search (rowid, document) VALUES (new.id, new.name); END',
    "CREATE TRIGGER IF NOT EXISTS contact_search_rename AFTER UPDATE OF name ON contact BEGIN DELETE FROM contact_search WHERE rowid IN (new.id); INSERT INTO contact_search (rowid, document) SELECT c.id, c.name || coalesce((SELECT group_concat(char(10) || p.title || char(10) || o.name, '') FROM position AS p JOIN organisation AS o ON o.id = p.organisation_id WHERE p.contact_id = c.id), '') FROM contact AS c WHERE c.id IN (new.id); END",
    'CREATE TRIGGER IF NOT EXISTS contact_search_delete AFTER DELETE ON contact BEGIN DELETE FROM contact_search WHERE rowid = old.id; END',
    "CREATE TRIGGER IF NOT EXISTS position_search_insert AFTER INSERT ON position BEGIN DELETE FROM contact_search WHERE rowid IN (new.contact_id); INSERT INTO contact_search (rowid, document) SELECT c.id, c.name || coalesce((SELECT group_concat(char(10) || p.title || char(10) || o.name, '') FROM position AS p JOIN organisation AS o ON o.id = p.organisation_id WHERE p.contact_id = c.id), '') FROM contact AS c WHERE c.id IN (new.contact_id); END",
    "CREATE TRIGGER IF NOT EXISTS position_search_update AFTER UPDATE OF title, organisation_id, contact_id ON position BEGIN DELETE FROM contact_search WHERE rowid IN (old.contact_id); INSERT INTO contact_search (rowid, document) SELECT c.id, c.name || coalesce((SELECT group_concat(char(10) || p.title || char(10) || o.name, '') FROM position AS p JOIN organisation AS o ON o.id = p.organisation_id WHERE p.contact_id = c.id), '') FROM contact AS c WHERE c.id IN (old.contact_id); DELETE FROM contact_search WHERE rowid IN (new.contact_id); INSERT INTO contact_search (rowid, document) SELECT c.id, c.name || coalesce((SELECT group_concat(char(10) || p.title || char(10) || o.name, '') FROM position AS p JOIN organisation AS o ON o.id = p.organisation_id WHERE p.contact_id = c.id), '') FROM contact AS c WHERE c.id IN (new.contact_id); END",
    "CREATE TRIGGER IF NOT EXISTS position_search_delete AFTER DELETE ON position BEGIN DELETE FROM contact_search WHERE rowid IN (old.contact_id); INSERT INTO contact_search (rowid, document) SELECT c.id, c.name || coalesce((SELECT group_concat(char(10) || p.title || char(10) || o.name, '') FROM position AS p JOIN organisation AS o ON o.id = p.organisation_id WHERE p.contact_id = c.id), '') FROM contact AS c WHERE c.id IN (old.contact_id); END",
    "CREATE TRIGGER IF NOT EXISTS organisation_search_rename AFTER UPDATE OF name ON organisation BEGIN DELETE FROM contact_search WHERE rowid IN (SELECT contact_id FROM position WHERE organisation_id = new.id); INSERT INTO contact_search (rowid, document) SELECT c.id, c.name || coalesce((SELECT group_concat(char(10) || p.title || char(10) || o.name, '') FROM position AS p JOIN organisation AS o ON o.id = p.organisation_id WHERE p.contact_id = c.id), '') FROM contact AS c WHERE c.id IN (SELECT contact_id FROM position WHERE organisation_id = new.id); END",
    'DELETE FROM contact_search',
    "INSERT INTO contact_search (rowid, document) SELECT c.id, c.name || coalesce((SELECT group_concat(char(10) || p.title || char(10) || o.name, '') FROM position AS p JOIN organisation AS o ON o.id = p.organisation_id WHERE p.contact_id = c.id), '') FROM contact AS c WHERE c.id IN (SELECT id FROM contact)",
]
SQLITE_TRIGGERS = [
    "contact_search_insert",
    "contact_search_rename",
    "contact_search_delete",
    "position_search_insert",
    "position_search_update",
    "position_search_delete",
    "organisation_search_rename",
]
POSTGRESQL_UPGRADE = [
    'CREATE EXTENSION IF NOT EXISTS pg_trgm',
    'CREATE INDEX IF NOT EXISTS ix_contact_name_trgm ON contact USING gin (name gin_trgm_ops)',
    'CREATE INDEX IF NOT EXISTS ix_position_title_trgm ON position USING gin (title gin_trgm_ops)',
    'CREATE INDEX IF NOT EXISTS ix_organisation_name_trgm ON organisation USING gin (name gin_trgm_ops)',
]
POSTGRESQL_INDEXES = ["ix_contact_name_trgm", "ix_position_title_trgm", "ix_organisation_name_trgm"]


def upgrade():
    dialect = op.get_bind().dialect.name
    statements = {"sqlite": SQLITE_UPGRADE, "postgresql": POSTGRESQL_UPGRADE}.get(dialect, [])
    for statement in statements:
        op.execute(statement)


def downgrade():
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for trigger in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS contact_search")
    elif dialect == "postgresql":
        for index in POSTGRESQL_INDEXES:
            op.execute(f"DROP INDEX IF EXISTS {index}")
