"""history(at): the 办理日志 page (newest first, by date) and the dashboard's pace (moves of the last
10 working days) read history by time; without it each scans the whole table

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30
"""
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_history_at', 'history', ['at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_history_at', table_name='history')
