"""comment element: a released comment may be filed under the element it speaks of

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 14:00:00.000000

The official report counts the released comments by element (Tiếp cận dịch vụ, Thủ tục
hành chính…). The column is added in place (no table copy), so the append-only triggers
of comment_release stay as they are.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('comment_release', sa.Column('element_code', sa.String(length=16),
                                               nullable=True))


def downgrade():
    with op.batch_alter_table('comment_release', schema=None) as batch_op:
        batch_op.drop_column('element_code')
