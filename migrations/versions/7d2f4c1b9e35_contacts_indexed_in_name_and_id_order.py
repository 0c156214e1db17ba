"""Contacts indexed in (user, name, id) order

Revision ID: 7d2f4c1b9e35
Revises: 5c1e7a9d2b40
Create Date: 2026-12-07 16:30:00

Every contacts list is in (name, id) order. With the id in the user's name index,
PostgreSQL reads a page in that order instead of sorting each run of equal names
(SQLite's indexes already end in the row's id). An index alone changes: no table is
rebuilt, so the contact search triggers stay.
"""

from alembic import op

revision = "7d2f4c1b9e35"
down_revision = "5c1e7a9d2b40"
branch_labels = None
depends_on = None


def upgrade():
    op.drop_index("ix_contact_user_name", table_name="contact")
    op.create_index("ix_contact_user_name", "contact", ["user_id", "name", "id"])


def downgrade():
    op.drop_index("ix_contact_user_name", table_name="contact")
    op.create_index("ix_contact_user_name", "contact", ["user_id", "name"])
