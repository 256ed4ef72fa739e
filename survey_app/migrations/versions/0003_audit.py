"""audit: re-verification draws and outcomes, re-check contacts

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

from survey_app.models import append_only_ddl


# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('reverify_draw',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('seed', sa.BigInteger(), nullable=False),
    sa.Column('rate', sa.Float(), nullable=False),
    sa.Column('oversample_flagged', sa.Float(), nullable=False),
    sa.Column('as_of_seq', sa.Integer(), nullable=False),
    sa.Column('population', sa.Integer(), nullable=False),
    sa.Column('selected', sa.Text(), nullable=False),
    sa.Column('drawn_by_id', sa.Integer(), nullable=True),
    sa.Column('drawn_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaign.id'], name=op.f('fk_reverify_draw_campaign_id_campaign')),
    sa.ForeignKeyConstraint(['drawn_by_id'], ['user.id'], name=op.f('fk_reverify_draw_drawn_by_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reverify_draw'))
    )
    with op.batch_alter_table('reverify_draw', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reverify_draw_campaign_id'), ['campaign_id'], unique=False)

    op.create_table('reverification',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('draw_id', sa.Integer(), nullable=False),
    sa.Column('response_id', sa.Integer(), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('recorded_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("outcome IN ('confirmed', 'not_confirmed', 'unreachable', 'answers_differ')", name=op.f('ck_reverification_outcome')),
    sa.ForeignKeyConstraint(['draw_id'], ['reverify_draw.id'], name=op.f('fk_reverification_draw_id_reverify_draw')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['user.id'], name=op.f('fk_reverification_recorded_by_id_user')),
    sa.ForeignKeyConstraint(['response_id'], ['response.id'], name=op.f('fk_reverification_response_id_response')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reverification'))
    )
    with op.batch_alter_table('reverification', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reverification_response_id'), ['response_id'], unique=False)

    # Personal data: deletable, unlike the tables above.
    op.create_table('recheck_contact',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('response_id', sa.Integer(), nullable=False),
    sa.Column('phone', sa.String(length=16), nullable=False),
    sa.Column('consented_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['response_id'], ['response.id'], name=op.f('fk_recheck_contact_response_id_response')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recheck_contact')),
    sa.UniqueConstraint('response_id', name=op.f('uq_recheck_contact_response_id'))
    )

    dialect = op.get_bind().dialect.name
    for table in ("reverify_draw", "reverification"):
        for statement in append_only_ddl(dialect, table):
            op.execute(statement)


def downgrade():
    op.drop_table('recheck_contact')
    with op.batch_alter_table('reverification', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reverification_response_id'))

    op.drop_table('reverification')
    with op.batch_alter_table('reverify_draw', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reverify_draw_campaign_id'))

    op.drop_table('reverify_draw')
