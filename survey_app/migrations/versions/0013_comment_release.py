"""comment release: free-text answers released, masked, to the agency's officers

Revision ID: 0013
Revises: 0010
Create Date: 2026-12-07 06:00:00.000000

Append-only like the responses it refers to: a release is never changed; releasing the
same answer again adds a row.
"""
from alembic import op
import sqlalchemy as sa

from survey_app.models import append_only_ddl


# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('comment_release',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('response_id', sa.Integer(), nullable=False),
    sa.Column('item_code', sa.String(length=40), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('released_by_id', sa.Integer(), nullable=True),
    sa.Column('released_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['released_by_id'], ['user.id'], name=op.f('fk_comment_release_released_by_id_user')),
    sa.ForeignKeyConstraint(['response_id'], ['response.id'], name=op.f('fk_comment_release_response_id_response')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_comment_release'))
    )
    with op.batch_alter_table('comment_release', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_comment_release_response_id'), ['response_id'], unique=False)

    for statement in append_only_ddl(op.get_bind().dialect.name, 'comment_release'):
        op.execute(statement)


def downgrade():
    with op.batch_alter_table('comment_release', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_comment_release_response_id'))

    op.drop_table('comment_release')
