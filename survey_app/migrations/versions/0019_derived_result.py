"""derived result: bootstrap intervals and quality-flag counts kept between computations

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 16:30:00.000000

A results page's first view at a million responses spent 5.5 s bootstrapping 151 groups
whose respondents had mostly not changed, and the official report 50 s computing quality
flags of a closed round. Each such result is kept under the SHA-256 digest of all its
inputs (`analysis.stored`), so it is computed again only when they change.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'derived_result',
        sa.Column('key', sa.String(length=64), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('payload', sa.LargeBinary(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_derived_result')),
    )
    op.create_index(op.f('ix_derived_result_kind'), 'derived_result', ['kind'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_derived_result_kind'), table_name='derived_result')
    op.drop_table('derived_result')
