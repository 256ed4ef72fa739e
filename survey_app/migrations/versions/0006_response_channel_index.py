"""response channel index: the (campaign, agency) index also holds the channel

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27 01:40:00.000000

The results pages count a campaign's responses per agency and channel. The index on
(campaign_id, agency_id) did not hold the channel, so that count read every response row
(answers included): about 1.5 s at a million responses on SQLite. With the channel in
the index the count is answered from the index alone. It replaces the old index rather
than joining it, so a submission still updates one index here, not two; every query that
used the old index uses this one's (campaign_id, agency_id) prefix.

On PostgreSQL the index also carries the response id (INCLUDE), so that reading a
campaign's (id, agency_id) pairs, which chooses the bootstrap samples, stays an
index-only scan; SQLite keeps the rowid in every index anyway.

CREATE INDEX blocks inserts into `response` while it runs (docs/deployment.md).
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    # Created before the old one is dropped: queries on a campaign's responses always
    # have an index to use. Index operations alone never make batch mode copy the table.
    with op.batch_alter_table('response', schema=None) as batch_op:
        batch_op.create_index('ix_response_campaign_agency_channel',
                              ['campaign_id', 'agency_id', 'channel'], unique=False,
                              postgresql_include=['id'])
        batch_op.drop_index('ix_response_campaign_agency')


def downgrade():
    with op.batch_alter_table('response', schema=None) as batch_op:
        batch_op.create_index('ix_response_campaign_agency', ['campaign_id', 'agency_id'],
                              unique=False)
        batch_op.drop_index('ix_response_campaign_agency_channel')
