"""add pending_commands: commands given without proof of their sender, kept until the address on
record confirms them (keyed by the Message-ID of the confirmation request) or they expire.

Revision ID: 0004
Revises: 0003
Created: 2026-12-01 02:39:39.172987
"""

from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('pending_commands',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.String(length=255), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('verb', sa.String(length=16), nullable=False),
    sa.Column('line', sa.Text(), nullable=False),
    sa.Column('role', sa.String(length=32), nullable=False),
    sa.Column('address', sa.String(length=320), nullable=False),
    sa.Column('raw_sha256', sa.String(length=64), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('message_id')
    )
    with op.batch_alter_table('pending_commands', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pending_commands_case_id'), ['case_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('pending_commands', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pending_commands_case_id'))

    op.drop_table('pending_commands')
