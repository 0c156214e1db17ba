"""Contact search on PostgreSQL: the document writer is planned at each call

Revision ID: 5c1e7a9d2b40
Revises: 0cd7256a5abe
Create Date: 2026-11-25 23:08:00

A plan cached while the tables were small scanned them whole for every row of a bulk
load, so loading N contacts took time in N squared.
"""

from alembic import op

revision = "5c1e7a9d2b40"
down_revision = "0cd7256a5abe"
branch_labels = None
depends_on = None

FUNCTION = "contact_search_write(integer[])"


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER FUNCTION {FUNCTION} SET plan_cache_mode = force_custom_plan")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER FUNCTION {FUNCTION} RESET plan_cache_mode")
