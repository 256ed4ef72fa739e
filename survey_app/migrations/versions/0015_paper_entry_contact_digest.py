"""paper entry contact digest: with double entry, both keyings must agree on the re-check
phone number too

Revision ID: 0015
Revises: 0010
Create Date: 2026-12-07 06:00:00.000000

A clerk keys the optional consent box and phone number of a paper form with its answers.
The number itself is kept only in recheck_contact, once the form counts; until then each
entry holds a keyed hash of it (HMAC with the application's secret), so that the second
entry can be compared with the first. It is cleared once the form is settled.
"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0015'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('paper_entry') as batch_op:
        batch_op.add_column(sa.Column('contact_digest', sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table('paper_entry') as batch_op:
        batch_op.drop_column('contact_digest')
