"""answer tally on SQLite: one B-tree (WITHOUT ROWID) instead of a table and its key index

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27 04:30:00.000000

Every submission adds one to about twenty tally rows. Keyed by its primary key alone, the
table is a single B-tree: each of those upserts searches and writes one tree, not a key
index and then the table. PostgreSQL has no such option; there nothing changes.
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

_TABLE = """
CREATE TABLE {name} (
    campaign_id INTEGER NOT NULL,
    agency_id INTEGER NOT NULL,
    item_id INTEGER NOT NULL,
    score INTEGER NOT NULL,
    n INTEGER NOT NULL,
    CONSTRAINT pk_answer_tally PRIMARY KEY (campaign_id, agency_id, item_id, score),
    CONSTRAINT fk_answer_tally_agency_id_agency FOREIGN KEY(agency_id) REFERENCES agency (id),
    CONSTRAINT fk_answer_tally_campaign_id_campaign FOREIGN KEY(campaign_id)
        REFERENCES campaign (id),
    CONSTRAINT fk_answer_tally_item_id_item FOREIGN KEY(item_id) REFERENCES item (id)
){options}"""


def _rebuild(options: str) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute(_TABLE.format(name="answer_tally_new", options=options))
    op.execute("INSERT INTO answer_tally_new (campaign_id, agency_id, item_id, score, n) "
               "SELECT campaign_id, agency_id, item_id, score, n FROM answer_tally")
    op.execute("DROP TABLE answer_tally")
    op.execute("ALTER TABLE answer_tally_new RENAME TO answer_tally")


def upgrade():
    _rebuild(" WITHOUT ROWID")


def downgrade():
    _rebuild("")
