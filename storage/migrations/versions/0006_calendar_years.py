"""calendar_years and calendar_revision: working-day schedules imported by operators (CONTRACT §10)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30
"""
from alembic import op
import sqlalchemy as sa

from storage.tables import AwareDateTime

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'calendar_years',
        sa.Column('year', sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('source', sa.String(length=300), nullable=False),
        sa.Column('days', sa.JSON(), nullable=False),
        sa.Column('content', sa.String(), nullable=False),
        sa.Column('imported_at', AwareDateTime(), nullable=False),
        sa.Column('imported_by', sa.String(length=100), nullable=False),
        sa.Column('reason', sa.String(), nullable=True),
    )
    op.create_table(
        'calendar_revision',
        sa.Column('id', sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column('token', sa.String(length=64), nullable=False),
    )


def downgrade() -> None:
    op.drop_table('calendar_revision')
    op.drop_table('calendar_years')
