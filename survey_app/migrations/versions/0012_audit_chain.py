"""audit chain: the audit log becomes a hash chain; checkpoints record the tally's digest

Revision ID: 0012
Revises: 0010
Create Date: 2026-12-07 06:00:00.000000

Each audit-log row gets its place in one global chain (`seq`, unique), the hash of the
row before it and its own hash, sha256(prev_hash, seq, its content as canonical JSON);
the rows found are chained in id order. The table is append-only: its guard is dropped
around the backfill and set again (SQLite: the batch rebuild drops the triggers anyway).
A checkpoint gains the answer tally's digest, mark and last correction when it was
taken and checked (none for older ones). Going back drops the columns; the rows stay.
"""
import json

import sqlalchemy as sa
from alembic import op

from analysis.ledger import GENESIS, audit_payload, entry_hash
from survey_app.models import append_only_ddl

# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


_CHECKPOINT_COLUMNS = ("tally_digest", "tally_mark", "tally_last_correction")


def _guard(drop: bool) -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for name in ("audit_log_no_update", "audit_log_no_delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    elif dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log")
    if not drop:
        for statement in append_only_ddl(dialect, "audit_log"):
            op.execute(statement)


def _when(value) -> str:
    if isinstance(value, str):  # SQLite hands back stored times as text
        from datetime import datetime

        value = datetime.fromisoformat(value)
    return value.isoformat("T", "seconds") + "Z"


def _json(value):
    return json.loads(value) if isinstance(value, str) else value


def upgrade():
    conn = op.get_bind()
    _guard(drop=True)
    with op.batch_alter_table("audit_log") as batch:
        batch.add_column(sa.Column("seq", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("hash", sa.String(length=64), nullable=True))
    rows = conn.execute(sa.text(
        "SELECT id, at, actor, action, object_type, object_id, before, after "
        "FROM audit_log ORDER BY id")).all()
    prev, updates = GENESIS, []
    for seq, (row_id, at, actor, action, object_type, object_id, before, after) in \
            enumerate(rows, start=1):
        digest = entry_hash(prev, seq, audit_payload(
            at=_when(at), actor=actor, action=action, object_type=object_type,
            object_id=object_id, before=_json(before), after=_json(after)))
        updates.append({"id": row_id, "seq": seq, "prev": prev, "hash": digest})
        prev = digest
    if updates:
        conn.execute(sa.text("UPDATE audit_log SET seq = :seq, prev_hash = :prev, "
                             "hash = :hash WHERE id = :id"), updates)
    with op.batch_alter_table("audit_log") as batch:
        batch.alter_column("seq", existing_type=sa.Integer(), nullable=False)
        batch.alter_column("prev_hash", existing_type=sa.String(length=64), nullable=False)
        batch.alter_column("hash", existing_type=sa.String(length=64), nullable=False)
        batch.create_unique_constraint(op.f("uq_audit_log_seq"), ["seq"])
    _guard(drop=False)

    # New nullable columns: no rebuild on SQLite, no row rewritten on PostgreSQL.
    op.add_column("ledger_checkpoint", sa.Column("tally_digest", sa.String(length=64),
                                                 nullable=True))
    op.add_column("ledger_checkpoint", sa.Column("tally_mark", sa.Integer(), nullable=True))
    op.add_column("ledger_checkpoint", sa.Column("tally_last_correction", sa.Integer(),
                                                 nullable=True))


def downgrade():
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        # Dropping a column rebuilds the table, and its triggers go with it.
        with op.batch_alter_table("ledger_checkpoint") as batch:
            for column in _CHECKPOINT_COLUMNS:
                batch.drop_column(column)
        for statement in append_only_ddl(dialect, "ledger_checkpoint"):
            op.execute(statement)
    else:
        for column in _CHECKPOINT_COLUMNS:
            op.drop_column("ledger_checkpoint", column)
    _guard(drop=True)
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_constraint(op.f("uq_audit_log_seq"), type_="unique")
        batch.drop_column("hash")
        batch.drop_column("prev_hash")
        batch.drop_column("seq")
    _guard(drop=False)
