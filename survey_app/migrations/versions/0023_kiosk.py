"""kiosk: counter tablets registered to answer one agency's form (channel kiosk)

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07 19:10:00.000000

A kiosk holds only digests of its enrolment link and of the credential its tablet keeps
in a cookie. Responses from a kiosk need no column of their own: channel `kiosk` (0021)
and `device_hash`, the keyed hash of the kiosk's id.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'kiosk',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('agency_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=120), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('created_by', sa.String(length=120), nullable=False),
        sa.Column('enrol_hash', sa.String(length=64), nullable=True),
        sa.Column('enrol_expires_at', sa.DateTime(), nullable=True),
        sa.Column('credential_hash', sa.String(length=64), nullable=True),
        sa.Column('enrolled_at', sa.DateTime(), nullable=True),
        sa.Column('last_used_at', sa.DateTime(), nullable=True),
        sa.Column('revoked_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['agency_id'], ['agency.id'],
                                name=op.f('fk_kiosk_agency_id_agency')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_kiosk')),
        sa.UniqueConstraint('credential_hash', name=op.f('uq_kiosk_credential_hash')),
        sa.UniqueConstraint('enrol_hash', name=op.f('uq_kiosk_enrol_hash')),
    )


def downgrade():
    op.drop_table('kiosk')
