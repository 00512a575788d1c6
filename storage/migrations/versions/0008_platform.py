"""platform side (CONTRACT §11): idempotency keys, webhooks and their events, shared settings

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30
"""
from alembic import op
import sqlalchemy as sa

from storage.tables import AwareDateTime

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'idempotency_keys',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('user_id', sa.Integer(), sa.ForeignKey('users.id'), nullable=False),
        sa.Column('key', sa.String(length=255), nullable=False),
        sa.Column('request_hash', sa.String(length=64), nullable=False),
        sa.Column('status_code', sa.Integer(), nullable=False),
        sa.Column('response', sa.JSON(), nullable=False),
        sa.Column('created_at', AwareDateTime(), nullable=False),
        sa.Column('expires_at', AwareDateTime(), nullable=False),
        sa.UniqueConstraint('user_id', 'key', name='uq_idempotency_keys_user_key'),
    )
    op.create_index('ix_idempotency_keys_expires_at', 'idempotency_keys', ['expires_at'])
    op.create_table(
        'webhooks',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('url', sa.String(length=2000), nullable=False),
        sa.Column('secret', sa.String(length=200), nullable=False),
        sa.Column('policies', sa.String(length=2000), nullable=True),
        sa.Column('created_at', AwareDateTime(), nullable=False),
    )
    op.create_table(
        'webhook_events',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('webhook_id', sa.Integer(), sa.ForeignKey('webhooks.id'), nullable=False),
        sa.Column('event_id', sa.String(length=64), nullable=False),
        sa.Column('case_id', sa.Integer(), sa.ForeignKey('cases.id'), nullable=False),
        sa.Column('seq', sa.Integer(), nullable=False),
        sa.Column('action', sa.String(length=32), nullable=False),
        sa.Column('from_state', sa.String(length=32), nullable=False),
        sa.Column('to_state', sa.String(length=32), nullable=False),
        sa.Column('at', AwareDateTime(), nullable=False),
        sa.Column('policy_id', sa.String(length=64), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', AwareDateTime(), nullable=True),
        sa.Column('created_at', AwareDateTime(), nullable=False),
        sa.Column('sent_at', AwareDateTime(), nullable=True),
        sa.Column('last_error', sa.String(), nullable=True),
        sa.UniqueConstraint('webhook_id', 'case_id', 'seq', name='uq_webhook_events_case_seq'),
    )
    op.create_index('ix_webhook_events_due', 'webhook_events', ['next_attempt_at'],
                    postgresql_where=sa.text("status IN ('pending', 'sending')"),
                    sqlite_where=sa.text("status IN ('pending', 'sending')"))
    op.create_index('ix_webhook_events_failed', 'webhook_events', ['webhook_id'],
                    postgresql_where=sa.text("status = 'failed'"), sqlite_where=sa.text("status = 'failed'"))
    op.create_table(
        'settings',
        sa.Column('name', sa.String(length=64), primary_key=True),
        sa.Column('value', sa.String(length=2000), nullable=False),
    )


def downgrade() -> None:
    op.drop_table('settings')
    op.drop_table('webhook_events')
    op.drop_table('webhooks')
    op.drop_table('idempotency_keys')
