"""add markers: the last good cycle, the daily digest sent, a broken rules version reported
(one row per key, so each happens once even with two daemons).

Revision ID: 0005
Revises: 0004
Created: 2026-12-01 02:50:00
"""

from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('markers',
    sa.Column('key', sa.String(length=128), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )


def downgrade() -> None:
    op.drop_table('markers')
