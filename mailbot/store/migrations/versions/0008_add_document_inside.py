"""add documents.inside: the containers (ZIP, winmail.dat, Outlook .msg) a document was unpacked
from, innermost first; an empty list for a file attached directly (every existing row). And
documents.searchable_sha256: the PDF made from a photo, or a scan with an OCR text layer, that the
staff receive instead of the original (NULL: the document goes as it came). And
documents.ocr_state: the OCR of a long scan queued for the background job ("" for every
existing row: nothing to do).

Revision ID: 0008
Revises: 0006
Created: 2026-12-01 02:50:00
"""

from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('documents') as batch_op:
        batch_op.add_column(sa.Column('inside', sa.JSON(), nullable=False, server_default='[]'))
        batch_op.add_column(sa.Column('searchable_sha256', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('ocr_state', sa.String(length=40), nullable=False, server_default=''))


def downgrade() -> None:
    with op.batch_alter_table('documents') as batch_op:
        batch_op.drop_column('ocr_state')
        batch_op.drop_column('searchable_sha256')
        batch_op.drop_column('inside')
