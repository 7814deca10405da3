"""add undelivered_addresses: addresses of a case that bounced for good (automatic mail to them
paused for that case until an admin records a corrected one).

Revision ID: 0006
Revises: 0005
Created: 2026-12-01 02:41:02.173346
"""

from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('undelivered_addresses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('address', sa.String(length=320), nullable=False),
    sa.Column('role', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('diagnostic', sa.Text(), nullable=False),
    sa.Column('message_id', sa.String(length=255), nullable=False),
    sa.Column('purpose', sa.String(length=64), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolved_by', sa.String(length=320), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('undelivered_addresses', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_undelivered_addresses_case_id'), ['case_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('undelivered_addresses', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_undelivered_addresses_case_id'))

    op.drop_table('undelivered_addresses')
