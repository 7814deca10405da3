"""patient journey: the detected language of a document's text; on a case, the reported case an
additional opinion follows and what happened after the report (its files, the treatment path).

Plain ADD COLUMNs (no batch copy of the table: on SQLite that would drop and recreate `cases`,
and its ON DELETE CASCADE children would go with it).

Revision ID: 0007
Revises: 0009
Created: 2026-12-01 02:55:00
"""

from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('documents', sa.Column('language', sa.String(length=8), nullable=True))
    op.add_column('cases', sa.Column('additional_of', sa.String(length=32), nullable=True))
    op.add_column('cases', sa.Column('after_report', sa.JSON(), nullable=False, server_default=sa.text("'{}'")))


def downgrade() -> None:
    with op.batch_alter_table('cases') as batch:
        batch.drop_column('after_report')
        batch.drop_column('additional_of')
    with op.batch_alter_table('documents') as batch:
        batch.drop_column('language')
