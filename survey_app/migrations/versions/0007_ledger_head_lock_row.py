"""ledger head: the chain's end is its last entry; the head row only serialises appends

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27 02:30:00.000000

Every submission rewrote the head row (its sequence number and hash) besides appending
the entry: a statement and a page written per response for a copy of what the last entry
already holds. The row stays, as the lock that serialises appends on PostgreSQL.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('ledger_head', schema=None) as batch_op:
        batch_op.drop_column('hash')
        batch_op.drop_column('seq')


def downgrade():
    with op.batch_alter_table('ledger_head', schema=None) as batch_op:
        batch_op.add_column(sa.Column('seq', sa.Integer(), nullable=False,
                                      server_default='0'))
        batch_op.add_column(sa.Column('hash', sa.String(length=64), nullable=False,
                                      server_default='0' * 64))
    # Back to a copy of each chain's last entry (on SQLite appends kept no head row).
    op.execute("""
        INSERT INTO ledger_head (campaign_id, seq, hash)
        SELECT DISTINCT e.campaign_id, 0, '""" + '0' * 64 + """' FROM ledger_entry e
        WHERE NOT EXISTS (SELECT 1 FROM ledger_head h WHERE h.campaign_id = e.campaign_id)""")
    op.execute("""
        UPDATE ledger_head SET
            seq = (SELECT max(e.seq) FROM ledger_entry e
                   WHERE e.campaign_id = ledger_head.campaign_id),
            hash = (SELECT e.hash FROM ledger_entry e
                    WHERE e.campaign_id = ledger_head.campaign_id
                    ORDER BY e.seq DESC LIMIT 1)
        WHERE EXISTS (SELECT 1 FROM ledger_entry e
                      WHERE e.campaign_id = ledger_head.campaign_id)""")
