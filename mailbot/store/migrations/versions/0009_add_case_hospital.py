"""add cases.hospital: the hospital of a network (rules/hospitals.toml) a case was opened for;
empty for the cases of a single-hospital office.

Revision ID: 0009
Revises: 0008
Created: 2026-12-01 03:10:00
"""

from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('cases') as batch:
        batch.add_column(sa.Column('hospital', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('cases') as batch:
        batch.drop_column('hospital')
