"""Contact search on PostgreSQL: one document per contact, in a table of its own

PostgreSQL searched three trigram indexes (contact name, job title, organisation name),
collected every match and sorted them by name: a term matching thousands of people cost
thousands of rows. Now, as on SQLite, each contact has one document (name, then each
job's title and organisation, one per line) in `contact_search`, with the contact's user
and name, kept current by triggers; a GIN trigram index on the document and a B-tree in
(user, name, id) order let the planner choose between sorting few matches and reading
the user's contacts in name order. The three old indexes serve nothing any more and go.
SQLite is unchanged. The SQL is tracker/search.py's as it was when this was written.

Revision ID: 0cd7256a5abe
Revises: fee102f63b6f
Create Date: 2026-11-27 11:00:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0cd7256a5abe'
down_revision = 'fee102f63b6f'
branch_labels = None
depends_on = None

# The table, its triggers, every document, then the indexes (faster built once, filled).
UPGRADE = [
    'CREATE TABLE IF NOT EXISTS contact_search (contact_id integer NOT NULL, user_id integer NOT NULL, name text NOT NULL, document text NOT NULL, CONSTRAINT contact_search_pkey PRIMARY KEY (contact_id), CONSTRAINT contact_search_contact_id_fkey FOREIGN KEY (contact_id) REFERENCES contact (id) ON DELETE CASCADE)',
    "CREATE OR REPLACE FUNCTION contact_search_write(ids integer[]) RETURNS void LANGUAGE plpgsql AS $$ BEGIN PERFORM 1 FROM contact WHERE id = ANY (ids) ORDER BY id FOR NO KEY UPDATE; INSERT INTO contact_search (contact_id, user_id, name, document) SELECT c.id, c.user_id, c.name, c.name || coalesce((SELECT string_agg(chr(10) || p.title || chr(10) || o.name, '') FROM position AS p JOIN organisation AS o ON o.id = p.organisation_id WHERE p.contact_id = c.id), '') FROM contact AS c WHERE c.id = ANY (ids) ON CONFLICT (contact_id) DO UPDATE SET user_id = excluded.user_id, name = excluded.name, document = excluded.document; END $$",
    "CREATE OR REPLACE FUNCTION contact_search_refresh() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF TG_TABLE_NAME = 'contact' THEN PERFORM contact_search_write(ARRAY[NEW.id]); ELSIF TG_TABLE_NAME = 'organisation' THEN PERFORM contact_search_write(ARRAY(SELECT contact_id FROM position WHERE organisation_id = NEW.id)); ELSIF TG_OP = 'INSERT' THEN PERFORM contact_search_write(ARRAY[NEW.contact_id]); ELSIF TG_OP = 'UPDATE' THEN PERFORM contact_search_write(ARRAY[OLD.contact_id, NEW.contact_id]); ELSE PERFORM contact_search_write(ARRAY[OLD.contact_id]); END IF; RETURN NULL; END $$",
    'DROP TRIGGER IF EXISTS contact_search_contact ON contact',
    'CREATE TRIGGER contact_search_contact AFTER INSERT OR UPDATE OF name, user_id ON contact FOR EACH ROW EXECUTE FUNCTION contact_search_refresh()',
    'DROP TRIGGER IF EXISTS contact_search_position ON position',
    'CREATE TRIGGER contact_search_position AFTER INSERT OR DELETE OR UPDATE OF title, organisation_id, contact_id ON position FOR EACH ROW EXECUTE FUNCTION contact_search_refresh()',
    'DROP TRIGGER IF EXISTS contact_search_organisation ON organisation',
    'CREATE TRIGGER contact_search_organisation AFTER UPDATE OF name ON organisation FOR EACH ROW EXECUTE FUNCTION contact_search_refresh()',
    "INSERT INTO contact_search (contact_id, user_id, name, document) SELECT c.id, c.user_id, c.name, c.name || coalesce((SELECT string_agg(chr(10) || p.title || chr(10) || o.name, '') FROM position AS p JOIN organisation AS o ON o.id = p.organisation_id WHERE p.contact_id = c.id), '') FROM contact AS c WHERE c.id IN (SELECT id FROM contact) ON CONFLICT (contact_id) DO UPDATE SET user_id = excluded.user_id, name = excluded.name, document = excluded.document",
    'CREATE INDEX IF NOT EXISTS contact_search_user_name ON contact_search (user_id, name, contact_id)',
    'CREATE INDEX IF NOT EXISTS contact_search_document_trgm ON contact_search USING gin (document gin_trgm_ops)',
    'ANALYZE contact_search',
    'DROP INDEX IF EXISTS ix_contact_name_trgm',
    'DROP INDEX IF EXISTS ix_position_title_trgm',
    'DROP INDEX IF EXISTS ix_organisation_name_trgm',
]
DOWNGRADE = [
    'DROP TABLE IF EXISTS contact_search',
    'DROP FUNCTION IF EXISTS contact_search_refresh() CASCADE',
    'DROP FUNCTION IF EXISTS contact_search_write(integer[])',
    'CREATE INDEX IF NOT EXISTS ix_contact_name_trgm ON contact USING gin (name gin_trgm_ops)',
    'CREATE INDEX IF NOT EXISTS ix_position_title_trgm ON position USING gin (title gin_trgm_ops)',
    'CREATE INDEX IF NOT EXISTS ix_organisation_name_trgm ON organisation USING gin (name gin_trgm_ops)',
]


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        for statement in UPGRADE:
            op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for statement in DOWNGRADE:
            op.execute(statement)
