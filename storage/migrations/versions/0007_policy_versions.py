"""policy_versions: imported policy files, one row per version (CONTRACT §9)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30
"""
from alembic import op
import sqlalchemy as sa

from storage.tables import AwareDateTime

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'policy_versions',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('policy_id', sa.String(length=64), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('text', sa.String(), nullable=False),
        sa.Column('checksum', sa.String(length=64), nullable=False),
        sa.Column('document', sa.String(length=200), nullable=True),
        sa.Column('reason', sa.String(), nullable=True),
        sa.Column('actor', sa.String(length=100), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('effective_at', AwareDateTime(), nullable=False),
        sa.Column('impact', sa.JSON(), nullable=False),
        sa.UniqueConstraint('policy_id', 'version', name='uq_policy_versions_id_version'),
    )


def downgrade() -> None:
    op.drop_table('policy_versions')
