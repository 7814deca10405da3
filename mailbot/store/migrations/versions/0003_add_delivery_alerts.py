"""add delivery_alerts: the outgoing messages the admins were told are long undelivered (one
row per message, so they are told once, even by two daemons).

Revision ID: 0003
Revises: 0002
Created: 2026-12-01 00:16:08.090472
"""

from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('delivery_alerts',
    sa.Column('outbox_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['outbox_id'], ['outbox.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('outbox_id')
    )


def downgrade() -> None:
    op.drop_table('delivery_alerts')
