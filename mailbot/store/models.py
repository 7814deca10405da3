"""Database schema (SQLAlchemy 2). One row per case, inbound message, document, event, outbox mail.

Everything a decision needs is here or on disk by content hash; the raw message is kept so any
decision can be replayed.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import JSON, DateTime, TypeDecorator, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class UTCDateTime(TypeDecorator):
    """Stored as UTC, always returned aware: SQLite would otherwise hand back naive values
    that cannot be compared with the clock's aware ones."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use aware UTC")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON, list[Any]: JSON}


class CaseCounter(Base):
    """Last sequence number handed out per year: refs are never reused, even after deletion."""

    __tablename__ = "case_counters"
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)


class Case(Base):
    __tablename__ = "cases"
    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(String(32), unique=True)
    state: Mapped[str] = mapped_column(String(32), index=True)
    language: Mapped[str] = mapped_column(String(2))
    requestor_email: Mapped[str] = mapped_column(String(320), index=True)
    condition_id: Mapped[str | None] = mapped_column(String(64))
    form: Mapped[dict[str, Any]] = mapped_column(default=dict)   # merged request-form fields
    consent: Mapped[dict[str, Any]] = mapped_column(default=dict)  # consent-form fields
    findings: Mapped[list[Any]] = mapped_column(default=list)    # latest completeness findings
    opened_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    completed_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    specialist_email: Mapped[str | None] = mapped_column(String(320), index=True)
    amount_due: Mapped[str | None] = mapped_column(String(16))
    triage: Mapped[dict[str, Any]] = mapped_column(default=dict)
    declined_by: Mapped[list[Any]] = mapped_column(default=list)
    pending_extra: Mapped[dict[str, Any]] = mapped_column(default=dict)
    parent_ref: Mapped[str | None] = mapped_column(String(32))
    additional_of: Mapped[str | None] = mapped_column(String(32))   # the reported case this opinion follows
    after_report: Mapped[dict[str, Any]] = mapped_column(default=dict)   # the report's files, the treatment path
    hospital: Mapped[str | None] = mapped_column(String(64))   # hospitals.toml id; None: the office of config
    paid_at: Mapped[datetime | None]
    report_sent_at: Mapped[datetime | None]
    report_due_at: Mapped[datetime | None]

    documents: Mapped[list["Document"]] = relationship(back_populates="case", order_by="Document.id")
    events: Mapped[list["Event"]] = relationship(back_populates="case", order_by="Event.id")


class InboundMessage(Base):
    __tablename__ = "inbound_messages"
    id: Mapped[int] = mapped_column(primary_key=True)
    dedup_key: Mapped[str] = mapped_column(String(128), unique=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="SET NULL"), index=True)
    message_id: Mapped[str] = mapped_column(String(998), default="")
    from_addr: Mapped[str] = mapped_column(String(320), default="")
    raw_sha256: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime]
    disposition: Mapped[str] = mapped_column(String(32))  # filed | automatic | quarantined | stranger
    role: Mapped[str] = mapped_column(String(32), default="")  # requestor, patient, triage, ...
    summary: Mapped[dict[str, Any]] = mapped_column(default=dict)  # subject, attachment names


class Document(Base):
    __tablename__ = "documents"
    __table_args__ = (UniqueConstraint("case_id", "sha256", name="uq_document_per_case"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    inbound_id: Mapped[int] = mapped_column(ForeignKey("inbound_messages.id", ondelete="CASCADE"))
    filename: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int]
    kind: Mapped[str] = mapped_column(String(16))
    doc_types: Mapped[list[Any]] = mapped_column(default=list)
    pages: Mapped[int] = mapped_column(default=0)
    has_text: Mapped[bool] = mapped_column(default=False)
    problem: Mapped[str | None] = mapped_column(String(32))
    name_ok: Mapped[bool] = mapped_column(default=True)
    name_reason: Mapped[str | None] = mapped_column(String(32))
    suggestion: Mapped[str | None] = mapped_column(String(255))
    detail: Mapped[str] = mapped_column(Text, default="")
    language: Mapped[str | None] = mapped_column(String(8))   # detected language of the text layer, if judged
    received_at: Mapped[datetime]
    inside: Mapped[list[Any]] = mapped_column(default=list)   # containers it was unpacked from, innermost first
    # A photo turned into a PDF, or a scan given a text layer by OCR: what the staff receive (the
    # original, `sha256`, is kept too). None: the document is sent as it came.
    searchable_sha256: Mapped[str | None] = mapped_column(String(64))
    # OCR of a long scan left to the background job (schedule/jobs.run_ocr_queue): "" nothing to do, "queued",
    # "running:<ISO time claimed>", "done", "failed".
    ocr_state: Mapped[str] = mapped_column(String(40), default="")

    case: Mapped[Case] = relationship(back_populates="documents")


class Event(Base):
    """The case timeline: every message in and out, every state change and action."""

    __tablename__ = "events"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(48))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)

    case: Mapped[Case] = relationship(back_populates="events")


class OutboxMessage(Base):
    """A reply queued in the same transaction as the case change; the sender drains it."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    message_id: Mapped[str] = mapped_column(String(255), unique=True)
    purpose: Mapped[str] = mapped_column(String(64))
    sender: Mapped[str] = mapped_column(String(320))
    recipients: Mapped[list[Any]] = mapped_column()
    subject: Mapped[str] = mapped_column(Text)
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(16), default="queued")  # queued | sent | failed
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime]
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]


class PendingCommandRecord(Base):
    """A command given without proof of its sender, kept until the address on record answers the
    confirmation request (Message-ID `message_id`) with CONFIRM, or until it expires. The original
    message is in the file store (`raw_sha256`), so a report's PDFs can be read again then."""

    __tablename__ = "pending_commands"
    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[str] = mapped_column(String(255), unique=True)   # of our confirmation request
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    verb: Mapped[str] = mapped_column(String(16))
    line: Mapped[str] = mapped_column(Text, default="")     # the command line as written
    role: Mapped[str] = mapped_column(String(32))
    address: Mapped[str] = mapped_column(String(320))       # the address on record that was asked
    raw_sha256: Mapped[str] = mapped_column(String(64), default="")   # the message that gave the command
    requested_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16), default="pending")   # pending | confirmed | expired
    resolved_at: Mapped[datetime | None]


class DeliveryAlert(Base):
    """An outbox message the admins were told is long undelivered: at most once per message,
    even with two daemons (the primary key)."""

    __tablename__ = "delivery_alerts"
    outbox_id: Mapped[int] = mapped_column(ForeignKey("outbox.id", ondelete="CASCADE"), primary_key=True)
    at: Mapped[datetime]


class UndeliveredAddress(Base):
    """An address of a case that bounced for good: automatic mail to it is paused for that case
    until an admin records a corrected address (`resolved_at` then set). The row keeps the
    bounced mail's Message-ID (to resend it), the status code and the remote server's words,
    never the bounce's body."""

    __tablename__ = "undelivered_addresses"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    address: Mapped[str] = mapped_column(String(320))
    role: Mapped[str] = mapped_column(String(32))             # requestor, patient, triage, specialist, ...
    status: Mapped[str] = mapped_column(String(16), default="")   # "5.1.1"
    diagnostic: Mapped[str] = mapped_column(Text, default="")
    message_id: Mapped[str] = mapped_column(String(255), default="")   # our mail that bounced
    purpose: Mapped[str] = mapped_column(String(64), default="")
    at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[str] = mapped_column(String(320), default="")   # admin address, or "cli"


class Payment(Base):
    __tablename__ = "payments"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    amount: Mapped[str] = mapped_column(String(16))
    expected: Mapped[str] = mapped_column(String(16))
    recorded_by: Mapped[str] = mapped_column(String(320))   # admin address, or "cli"
    at: Mapped[datetime]


class Reminder(Base):
    """One row per reminder or alert ever sent for a case: the unique key makes sending it
    twice impossible, even with two daemons on one PostgreSQL database."""

    __tablename__ = "reminders"
    __table_args__ = (UniqueConstraint("case_id", "key", name="uq_reminder_per_case"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime]


class MailboxForget(Base):
    """Message-IDs of a purged case still to be deleted from the mailbox's folders. Written in
    the purge's transaction, removed once the mailbox has deleted them: a crash in between only
    delays the deletion."""

    __tablename__ = "mailbox_forget"
    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[str] = mapped_column(String(998))
    at: Mapped[datetime]


class AuditLine(Base):
    """What remains of a purged case: no names, no documents."""

    __tablename__ = "audit"
    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime]
    action: Mapped[str] = mapped_column(String(48))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


class OAuthToken(Base):
    """One OAuth2 grant a login uses: its latest refresh token, Fernet-encrypted with
    the key from `token_key_env` (never in the config file), and whether an admin must act.

    `seed` fingerprints the configured refresh token this one descends from: when an admin
    configures a new one, the stored chain is stale and the configured token wins.
    """

    __tablename__ = "oauth_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    account: Mapped[str] = mapped_column(String(512), unique=True)   # mailbox|provider|issuer|client|grant
    label: Mapped[str] = mapped_column(String(320))                  # "office@example.org (microsoft)"
    seed: Mapped[str] = mapped_column(String(64), default="")
    refresh_token: Mapped[bytes | None] = mapped_column(LargeBinary)
    updated_at: Mapped[datetime]
    blocked_reason: Mapped[str | None] = mapped_column(String(32))   # invalid_grant | invalid_client
    blocked_at: Mapped[datetime | None]
    blocked_count: Mapped[int] = mapped_column(default=0)            # times blocked: one alert each


class Marker(Base):
    """Things the service did that must happen once, or be shown later, whichever process did
    them: `last_cycle` (time of the last round that fetched, processed and delivered without a
    service down), `digest:<date>` (the admins' digest of that day was queued), `rules_bad:<hash>`
    (the admins were told about that broken version of the rule files). Inserting a key twice
    fails on the primary key, which is what makes those once-only, even with two daemons."""

    __tablename__ = "markers"
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    at: Mapped[datetime]
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
