"""Two-factor secrets sealed at rest

Revision ID: fee102f63b6f
Revises: 40b635b42b41
Create Date: 2026-11-27 10:00:00.000000

The plain `totp_secret` becomes `totp_secret_sealed`: Fernet under a key derived from
the app's SECRET_KEY, as tracker.sealing does (written out here, so this step keeps
working whatever that module becomes). Downgrade opens them again, with SECRET_KEY or
one of SECRET_KEY_FALLBACKS; a secret no key opens is dropped (recovery codes still work).

Columns are added and dropped with plain ALTER TABLE, not a batch: on SQLite a batch
rebuilds `user`, and dropping the old table would cascade into every table that
references it.
"""
import base64

from alembic import op
import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app


# revision identifiers, used by Alembic.
revision = 'fee102f63b6f'
down_revision = '40b635b42b41'
branch_labels = None
depends_on = None

PURPOSE = b"keepwarm totp secret"  # tracker.sealing.TOTP_SECRET


def sealer():
    config = current_app.config
    keys = [config["SECRET_KEY"], *(config.get("SECRET_KEY_FALLBACKS") or [])]
    fernets = []
    for key in keys:
        key = key.encode() if isinstance(key, str) else key
        derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=PURPOSE).derive(key)
        fernets.append(Fernet(base64.urlsafe_b64encode(derived)))
    return MultiFernet(fernets)


def convert(source, target, change):
    """Fill `target` from `source` through `change` for every user that has one."""
    user = sa.table("user", sa.column("id"), sa.column(source), sa.column(target))
    bind = op.get_bind()
    rows = bind.execute(sa.select(user.c.id, user.c[source]).where(user.c[source].is_not(None)))
    for user_id, value in rows.all():
        bind.execute(user.update().where(user.c.id == user_id).values({target: change(value)}))


def upgrade():
    op.add_column('user', sa.Column('totp_secret_sealed', sa.Text(), nullable=True))
    fernet = sealer()
    convert('totp_secret', 'totp_secret_sealed', lambda plain: fernet.encrypt(plain.encode()).decode())
    op.drop_column('user', 'totp_secret')


def downgrade():
    op.add_column('user', sa.Column('totp_secret', sa.String(length=64), nullable=True))
    fernet = sealer()

    def unseal(sealed):
        try:
            return fernet.decrypt(sealed.encode()).decode()
        except InvalidToken:
            return None

    convert('totp_secret_sealed', 'totp_secret', unseal)
    op.drop_column('user', 'totp_secret_sealed')
