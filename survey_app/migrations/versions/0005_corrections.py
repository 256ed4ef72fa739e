"""corrections: an administrator's corrections of a response's answers

Revision ID: 0005
Revises: 0004_archive
Create Date: 2026-11-27 01:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

from survey_app.models import append_only_ddl


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004_archive'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('response_correction',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('response_id', sa.Integer(), nullable=False),
    sa.Column('changes', sa.Text(), nullable=False),
    sa.Column('previous', sa.Text(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('corrected_by_id', sa.Integer(), nullable=True),
    sa.Column('corrected_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['corrected_by_id'], ['user.id'], name=op.f('fk_response_correction_corrected_by_id_user')),
    sa.ForeignKeyConstraint(['response_id'], ['response.id'], name=op.f('fk_response_correction_response_id_response')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_response_correction'))
    )
    with op.batch_alter_table('response_correction', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_response_correction_response_id'), ['response_id'], unique=False)

    for statement in append_only_ddl(op.get_bind().dialect.name, 'response_correction'):
        op.execute(statement)


def downgrade():
    with op.batch_alter_table('response_correction', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_response_correction_response_id'))

    op.drop_table('response_correction')
