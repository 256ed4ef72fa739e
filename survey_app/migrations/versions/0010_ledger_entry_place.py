"""ledger entry place: an entry's id is campaign_id * 2**32 + seq, and the second index goes

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-27 13:30:00.000000

Every append wrote two B-trees: the table (keyed by a counter) and the unique index on
(campaign_id, seq) that finds a chain's end and keeps each number once. With the id made
the entry's place, the table's own key does both, and the index goes: one page less
written, and one tree less searched, at every submission. A CHECK ties the id to its
campaign and number. On SQLite the table is rebuilt (its id stays the INTEGER PRIMARY KEY,
the rowid); on PostgreSQL the id becomes a BIGINT without a sequence. The append-only
triggers are set again on the rebuilt table (SQLite) and held off while ids are renumbered
(PostgreSQL). Going back keeps the ids (unique either way) and restores the index.
"""
from alembic import op

from survey_app.models import append_only_ddl


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

# Written out here rather than imported: a migration keeps what it did.
_PLACE = "campaign_id * 4294967296 + seq"
_CHECK = f"seq > 0 AND seq < 4294967296 AND id = {_PLACE}"
_COLUMNS = "id, campaign_id, seq, kind, ref, at, payload, prev_hash, hash"
_TABLE = """
CREATE TABLE ledger_entry_new (
    id INTEGER NOT NULL,
    campaign_id INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    kind VARCHAR(20) NOT NULL,
    ref VARCHAR(80) NOT NULL,
    at DATETIME NOT NULL,
    payload TEXT NOT NULL,
    prev_hash VARCHAR(64) NOT NULL,
    hash VARCHAR(64) NOT NULL,
    CONSTRAINT pk_ledger_entry PRIMARY KEY (id),
    CONSTRAINT fk_ledger_entry_campaign_id_campaign FOREIGN KEY(campaign_id)
        REFERENCES campaign (id),
    {constraint}
)"""


def _rebuild_sqlite(constraint: str, ids: str) -> None:
    op.execute(_TABLE.format(constraint=constraint))
    op.execute(f"INSERT INTO ledger_entry_new ({_COLUMNS}) "
               f"SELECT {ids}, {_COLUMNS.split(', ', 1)[1]} FROM ledger_entry")
    op.execute("DROP TABLE ledger_entry")  # its triggers go with it
    op.execute("ALTER TABLE ledger_entry_new RENAME TO ledger_entry")
    for statement in append_only_ddl("sqlite", "ledger_entry"):
        op.execute(statement)


def upgrade():
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_sqlite(f"CONSTRAINT ck_ledger_entry_place CHECK ({_CHECK})", _PLACE)
        return
    op.execute("ALTER TABLE ledger_entry DISABLE TRIGGER ledger_entry_append_only")
    op.execute("ALTER TABLE ledger_entry ALTER COLUMN id DROP DEFAULT")
    op.execute("DROP SEQUENCE IF EXISTS ledger_entry_id_seq")
    op.execute("ALTER TABLE ledger_entry ALTER COLUMN id TYPE BIGINT")
    op.execute("UPDATE ledger_entry SET id = campaign_id::bigint * 4294967296 + seq")
    op.execute("ALTER TABLE ledger_entry ENABLE TRIGGER ledger_entry_append_only")
    op.drop_constraint("uq_ledger_entry_campaign_id", "ledger_entry", type_="unique")
    op.create_check_constraint("ck_ledger_entry_place", "ledger_entry", _CHECK)


def downgrade():
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_sqlite("CONSTRAINT uq_ledger_entry_campaign_id UNIQUE (campaign_id, seq)",
                        "id")
        return
    op.drop_constraint("ck_ledger_entry_place", "ledger_entry", type_="check")
    op.create_unique_constraint("uq_ledger_entry_campaign_id", "ledger_entry",
                                ["campaign_id", "seq"])
    # New entries take ids after the highest one kept (a BIGINT still: they are large).
    op.execute("CREATE SEQUENCE ledger_entry_id_seq OWNED BY ledger_entry.id")
    op.execute("SELECT setval('ledger_entry_id_seq', "
               "(SELECT coalesce(max(id), 0) + 1 FROM ledger_entry), false)")
    op.execute("ALTER TABLE ledger_entry ALTER COLUMN id "
               "SET DEFAULT nextval('ledger_entry_id_seq')")
