"""history: refuse TRUNCATE too (PostgreSQL)

Row-level triggers do not fire on TRUNCATE, so the append-only guard of 0001 needs a statement-level
trigger for it. SQLite has no TRUNCATE (a DELETE without WHERE fires the row trigger).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE TRIGGER history_no_truncate BEFORE TRUNCATE ON history "
            "FOR EACH STATEMENT EXECUTE FUNCTION zcflow_history_append_only()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS history_no_truncate ON history")
