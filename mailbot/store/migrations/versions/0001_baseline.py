"""Baseline: the schema as store/models.py made it with create_all before migrations existed.

A database made then has exactly these tables; `mailbot db upgrade` stamps it 0001 and
migrates it from here (store/schema.py).

Revision ID: 0001
Revises:
Created: 2026-11-30
"""

from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('audit',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ref', sa.String(length=32), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('action', sa.String(length=48), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )

    op.create_table('case_counters',
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('last', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('year')
    )

    op.create_table('cases',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ref', sa.String(length=32), nullable=False),
    sa.Column('state', sa.String(length=32), nullable=False),
    sa.Column('language', sa.String(length=2), nullable=False),
    sa.Column('requestor_email', sa.String(length=320), nullable=False),
    sa.Column('condition_id', sa.String(length=64), nullable=True),
    sa.Column('form', sa.JSON(), nullable=False),
    sa.Column('consent', sa.JSON(), nullable=False),
    sa.Column('findings', sa.JSON(), nullable=False),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('specialist_email', sa.String(length=320), nullable=True),
    sa.Column('amount_due', sa.String(length=16), nullable=True),
    sa.Column('triage', sa.JSON(), nullable=False),
    sa.Column('declined_by', sa.JSON(), nullable=False),
    sa.Column('pending_extra', sa.JSON(), nullable=False),
    sa.Column('parent_ref', sa.String(length=32), nullable=True),
    sa.Column('paid_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('report_sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('report_due_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('ref')
    )
    op.create_index(op.f('ix_cases_requestor_email'), 'cases', ['requestor_email'], unique=False)
    op.create_index(op.f('ix_cases_specialist_email'), 'cases', ['specialist_email'], unique=False)
    op.create_index(op.f('ix_cases_state'), 'cases', ['state'], unique=False)

    op.create_table('mailbox_forget',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.String(length=998), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )

    op.create_table('events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('kind', sa.String(length=48), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_events_case_id'), 'events', ['case_id'], unique=False)

    op.create_table('inbound_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('dedup_key', sa.String(length=128), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('message_id', sa.String(length=998), nullable=False),
    sa.Column('from_addr', sa.String(length=320), nullable=False),
    sa.Column('raw_sha256', sa.String(length=64), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('disposition', sa.String(length=32), nullable=False),
    sa.Column('role', sa.String(length=32), nullable=False),
    sa.Column('summary', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('dedup_key')
    )
    op.create_index(op.f('ix_inbound_messages_case_id'), 'inbound_messages', ['case_id'], unique=False)

    op.create_table('outbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('message_id', sa.String(length=255), nullable=False),
    sa.Column('purpose', sa.String(length=64), nullable=False),
    sa.Column('sender', sa.String(length=320), nullable=False),
    sa.Column('recipients', sa.JSON(), nullable=False),
    sa.Column('subject', sa.Text(), nullable=False),
    sa.Column('raw', sa.LargeBinary(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('message_id')
    )
    op.create_index(op.f('ix_outbox_case_id'), 'outbox', ['case_id'], unique=False)
    op.create_index('ix_outbox_due', 'outbox', ['status', 'next_attempt_at'], unique=False)

    op.create_table('payments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('amount', sa.String(length=16), nullable=False),
    sa.Column('expected', sa.String(length=16), nullable=False),
    sa.Column('recorded_by', sa.String(length=320), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_payments_case_id'), 'payments', ['case_id'], unique=False)

    op.create_table('reminders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('case_id', 'key', name='uq_reminder_per_case')
    )
    op.create_index(op.f('ix_reminders_case_id'), 'reminders', ['case_id'], unique=False)

    op.create_table('documents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('inbound_id', sa.Integer(), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('doc_types', sa.JSON(), nullable=False),
    sa.Column('pages', sa.Integer(), nullable=False),
    sa.Column('has_text', sa.Boolean(), nullable=False),
    sa.Column('problem', sa.String(length=32), nullable=True),
    sa.Column('name_ok', sa.Boolean(), nullable=False),
    sa.Column('name_reason', sa.String(length=32), nullable=True),
    sa.Column('suggestion', sa.String(length=255), nullable=True),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['inbound_id'], ['inbound_messages.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('case_id', 'sha256', name='uq_document_per_case')
    )
    op.create_index(op.f('ix_documents_case_id'), 'documents', ['case_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_documents_case_id'), table_name='documents')
    op.drop_table('documents')
    op.drop_index(op.f('ix_reminders_case_id'), table_name='reminders')
    op.drop_table('reminders')
    op.drop_index(op.f('ix_payments_case_id'), table_name='payments')
    op.drop_table('payments')
    op.drop_index('ix_outbox_due', table_name='outbox')
    op.drop_index(op.f('ix_outbox_case_id'), table_name='outbox')
    op.drop_table('outbox')
    op.drop_index(op.f('ix_inbound_messages_case_id'), table_name='inbound_messages')
    op.drop_table('inbound_messages')
    op.drop_index(op.f('ix_events_case_id'), table_name='events')
    op.drop_table('events')
    op.drop_table('mailbox_forget')
    op.drop_index(op.f('ix_cases_state'), table_name='cases')
    op.drop_index(op.f('ix_cases_specialist_email'), table_name='cases')
    op.drop_index(op.f('ix_cases_requestor_email'), table_name='cases')
    op.drop_table('cases')
    op.drop_table('case_counters')
    op.drop_table('audit')
