"""response submit key: a citizen's submission's idempotency key, unique

Revision ID: 0016
Revises: 0010
Create Date: 2026-12-07 06:00:00.000000

The open-link form carries a random key per rendering (in its signed token); its keyed
hash is stored with the response under a unique index (partial: only keyed rows, so a
single-use form's answer, which its form already makes unique, writes no entry), so that
repeats of one submission (a double tap, a phone retrying) store one response. The column is added (nullable: the
responses before it, and those of other channels, have none) and the index created;
neither rewrites the table, and no stored row changes, so the append-only triggers stay.
"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('response', sa.Column('submit_key', sa.String(length=64), nullable=True))
    # Partial: only open-link submissions carry a key, so the others write no index entry.
    op.create_index('ix_response_submit_key', 'response', ['submit_key'], unique=True,
                    sqlite_where=sa.text('submit_key IS NOT NULL'),
                    postgresql_where=sa.text('submit_key IS NOT NULL'))


def downgrade():
    op.drop_index('ix_response_submit_key', table_name='response')
    # SQLite (3.35+) drops a column without a table rebuild, which would lose the triggers.
    op.drop_column('response', 'submit_key')
