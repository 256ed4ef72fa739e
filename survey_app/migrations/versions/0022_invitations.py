"""invitations after a one-stop case: column map, imports, invitations, delivery log

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07 19:40:00.000000

New tables only. An invitation keeps a phone number or e-mail address and its link's
token only while it waits to be sent: a CHECK makes a settled invitation hold neither.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('case_column_map',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('columns', sa.JSON(), nullable=False),
    sa.Column('consent_values', sa.JSON(), nullable=False),
    sa.Column('prefer', sa.String(length=8), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('updated_by', sa.String(length=120), nullable=False),
    sa.CheckConstraint("prefer IN ('sms', 'email')", name=op.f('ck_case_column_map_prefer')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_column_map'))
    )
    op.create_table('case_import',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('imported_at', sa.DateTime(), nullable=False),
    sa.Column('imported_by', sa.String(length=120), nullable=False),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.Column('invited', sa.Integer(), nullable=False),
    sa.Column('no_consent', sa.Integer(), nullable=False),
    sa.Column('no_contact', sa.Integer(), nullable=False),
    sa.Column('already_invited', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaign.id'], name=op.f('fk_case_import_campaign_id_campaign')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_import'))
    )
    with op.batch_alter_table('case_import', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_import_campaign_id'), ['campaign_id'], unique=False)

    op.create_table('imported_case',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('import_id', sa.Integer(), nullable=False),
    sa.Column('case_hash', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaign.id'], name=op.f('fk_imported_case_campaign_id_campaign')),
    sa.ForeignKeyConstraint(['import_id'], ['case_import.id'], name=op.f('fk_imported_case_import_id_case_import')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_imported_case')),
    sa.UniqueConstraint('campaign_id', 'case_hash', name=op.f('uq_imported_case_campaign_id'))
    )
    with op.batch_alter_table('imported_case', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_imported_case_import_id'), ['import_id'], unique=False)

    op.create_table('invitation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('import_id', sa.Integer(), nullable=False),
    sa.Column('form_id', sa.Integer(), nullable=False),
    sa.Column('contact_hash', sa.String(length=64), nullable=False),
    sa.Column('channel', sa.String(length=8), nullable=False),
    sa.Column('phone', sa.String(length=16), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('token', sa.String(length=64), nullable=True),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(), nullable=False),
    sa.Column('sent_at', sa.DateTime(), nullable=True),
    sa.Column('erased_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint("channel IN ('sms', 'email')", name=op.f('ck_invitation_channel')),
    sa.CheckConstraint("status = 'pending' OR (phone IS NULL AND email IS NULL AND token IS NULL)", name=op.f('ck_invitation_erased')),
    sa.CheckConstraint("status IN ('pending', 'sent', 'failed')", name=op.f('ck_invitation_status')),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaign.id'], name=op.f('fk_invitation_campaign_id_campaign')),
    sa.ForeignKeyConstraint(['form_id'], ['issued_form.id'], name=op.f('fk_invitation_form_id_issued_form')),
    sa.ForeignKeyConstraint(['import_id'], ['case_import.id'], name=op.f('fk_invitation_import_id_case_import')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invitation')),
    sa.UniqueConstraint('campaign_id', 'contact_hash', name=op.f('uq_invitation_campaign_id')),
    sa.UniqueConstraint('form_id', name=op.f('uq_invitation_form_id'))
    )
    with op.batch_alter_table('invitation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invitation_import_id'), ['import_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_invitation_status'), ['status'], unique=False)

    op.create_table('invitation_delivery',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('invitation_id', sa.Integer(), nullable=False),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('channel', sa.String(length=8), nullable=False),
    sa.Column('outcome', sa.String(length=8), nullable=False),
    sa.Column('detail', sa.String(length=200), nullable=False),
    sa.CheckConstraint("outcome IN ('sent', 'error')", name=op.f('ck_invitation_delivery_outcome')),
    sa.ForeignKeyConstraint(['invitation_id'], ['invitation.id'], name=op.f('fk_invitation_delivery_invitation_id_invitation')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invitation_delivery'))
    )
    with op.batch_alter_table('invitation_delivery', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invitation_delivery_invitation_id'), ['invitation_id'], unique=False)



def downgrade():
    with op.batch_alter_table('invitation_delivery', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_invitation_delivery_invitation_id'))

    op.drop_table('invitation_delivery')
    with op.batch_alter_table('invitation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_invitation_status'))
        batch_op.drop_index(batch_op.f('ix_invitation_import_id'))

    op.drop_table('invitation')
    with op.batch_alter_table('imported_case', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_imported_case_import_id'))

    op.drop_table('imported_case')
    with op.batch_alter_table('case_import', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_import_campaign_id'))

    op.drop_table('case_import')
    op.drop_table('case_column_map')
