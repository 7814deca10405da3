"""add oauth_tokens: the stored (rotated) OAuth2 refresh tokens of the IMAP/SMTP logins.

A database made by create_all between the OAuth2 and the Alembic releases already has the
table; it is then left as it is.

Revision ID: 0002
Revises: 0001
Created: 2026-11-30 23:49:23.118802
"""

from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    if sa.inspect(op.get_bind()).has_table('oauth_tokens'):
        return
    op.create_table('oauth_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account', sa.String(length=512), nullable=False),
    sa.Column('label', sa.String(length=320), nullable=False),
    sa.Column('seed', sa.String(length=64), nullable=False),
    sa.Column('refresh_token', sa.LargeBinary(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('blocked_reason', sa.String(length=32), nullable=True),
    sa.Column('blocked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('blocked_count', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('account')
    )


def downgrade() -> None:
    op.drop_table('oauth_tokens')
