"""The database's own refusal to update or delete the append-only tables, installed as
each is created (migrations install it through `append_only_ddl`)."""

from __future__ import annotations

from sqlalchemy import event

from ..extensions import db
from . import ledger, responses, reverification, users  # noqa: F401  (their tables)

# Rows a citizen submitted, and the records about them, are never updated or deleted by
# the application; the database refuses it too, so a slip in code cannot do it silently.
APPEND_ONLY_TABLES = ("response", "response_review", "audit_log", "ledger_entry",
                      "ledger_checkpoint", "reverify_draw", "reverification",
                      "response_correction", "comment_release")


def append_only_ddl(dialect: str, table: str) -> list[str]:
    if dialect == "sqlite":
        return [
            f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END",
            f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END",
        ]
    if dialect == "postgresql":
        return [
            "CREATE OR REPLACE FUNCTION forbid_change() RETURNS trigger AS $$ BEGIN "
            "RAISE EXCEPTION USING MESSAGE = TG_TABLE_NAME || ' is append-only'; END; $$ "
            "LANGUAGE plpgsql",
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION forbid_change()",
        ]
    return []


def _install_append_only(table, connection, **kw):
    for statement in append_only_ddl(connection.dialect.name, table.name):
        connection.exec_driver_sql(statement)


for _name in APPEND_ONLY_TABLES:
    event.listen(db.metadata.tables[_name], "after_create", _install_append_only)
