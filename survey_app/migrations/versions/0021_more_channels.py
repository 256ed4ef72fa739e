"""more channels: a response may come by invitation (after a one-stop case) or from a kiosk

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07 19:10:00.000000

Only the response table's CHECK on its channel changes, and only to allow more values. On
PostgreSQL the constraint is replaced. On SQLite a constraint cannot be altered; rebuilding
the response table would copy every row (a million in a large round) and drop its
append-only triggers, so the table's stored definition is edited in place, the documented
way for a change that leaves every stored row valid (sqlite.org/lang_altertable.html,
"making other kinds of table schema changes"), and checked with `PRAGMA integrity_check`.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None

_BEFORE = ("open", "single_use", "paper", "api")
_AFTER = ("open", "single_use", "invitation", "kiosk", "paper", "api")


def _check(values) -> str:
    return f"channel IN {values!r}"


def _change(old, new) -> None:
    conn = op.get_bind()
    placeholders = ", ".join(f"'{v}'" for v in new)
    left = conn.exec_driver_sql(
        f"SELECT count(*) FROM response WHERE channel NOT IN ({placeholders})").scalar()
    if left:
        raise RuntimeError(f"{left} responses came through a channel the schema would refuse")
    if conn.dialect.name == "sqlite":
        sql = conn.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'response'").scalar()
        if _check(old) not in sql:
            raise RuntimeError(f"response table's channel check not found: {sql}")
        version = conn.exec_driver_sql("PRAGMA schema_version").scalar()
        conn.exec_driver_sql("PRAGMA writable_schema = ON")
        conn.exec_driver_sql(
            "UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = 'response'",
            (sql.replace(_check(old), _check(new)),))
        conn.exec_driver_sql(f"PRAGMA schema_version = {version + 1}")
        conn.exec_driver_sql("PRAGMA writable_schema = OFF")
        result = conn.exec_driver_sql("PRAGMA integrity_check").scalar()
        if result != "ok":
            raise RuntimeError(f"integrity check after changing the channel check: {result}")
    else:
        op.drop_constraint(op.f("ck_response_channel"), "response", type_="check")
        op.create_check_constraint(op.f("ck_response_channel"), "response", sa.text(_check(new)))


def upgrade():
    _change(_BEFORE, _AFTER)


def downgrade():
    # Refused while any response came by invitation or from a kiosk.
    _change(_AFTER, _BEFORE)
