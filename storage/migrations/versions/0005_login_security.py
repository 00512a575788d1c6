"""users.auth_epoch and disabled_at (revocable sessions and tokens); login_throttle (issue 17)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""
from alembic import op
import sqlalchemy as sa

from storage.tables import AwareDateTime

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('users') as batch:
        batch.add_column(sa.Column('auth_epoch', sa.Integer(), nullable=False, server_default='0'))
        batch.add_column(sa.Column('disabled_at', AwareDateTime(), nullable=True))
    op.create_table(
        'login_throttle',
        sa.Column('key', sa.String(length=120), primary_key=True),
        sa.Column('failures', sa.Integer(), nullable=False),
        sa.Column('last_failure_at', AwareDateTime(), nullable=False),
        sa.Column('blocked_until', AwareDateTime(), nullable=True),
        sa.Column('locked_at', AwareDateTime(), nullable=True),
    )


def downgrade() -> None:
    op.drop_table('login_throttle')
    with op.batch_alter_table('users') as batch:
        batch.drop_column('disabled_at')
        batch.drop_column('auth_epoch')
