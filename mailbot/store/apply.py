"""Write one Decision: the inbound record, the case's typed patch, its new documents, events and
payment. Nothing is decided here: every column written is named in the decision."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum

from sqlalchemy import update
from sqlalchemy.orm import Session

from mailbot.store import cases as case_store
from mailbot.store.files import FileStore
from mailbot.store.undelivered import apply_delivery
from mailbot.store.models import Case, Document, Event, InboundMessage, Payment, PendingCommandRecord
from mailbot.workflow.model import Decision

DOCUMENT_COPY = ("inbound_id", "filename", "sha256", "size", "kind", "doc_types", "pages", "has_text", "problem",
                 "name_ok", "name_reason", "suggestion", "detail", "language", "received_at", "inside",
                 "searchable_sha256", "ocr_state")


@dataclass(frozen=True)
class Inbound:
    """What is kept of the message a decision answers (an email, or a CLI command)."""

    dedup_key: str
    raw: bytes
    message_id: str = ""
    from_addr: str = ""
    defects: tuple[str, ...] = ()
    unreadable_parts: tuple[str, ...] = ()                  # parts the parser could not extract
    files: dict[str, bytes] = field(default_factory=dict)   # attachment bytes by digest
    references: tuple[str, ...] = ()                        # its References header, for our replies


def apply(session: Session, files: FileStore, d: Decision, inbound: Inbound, now: datetime,
          *, case_prefix: str, zone) -> tuple[Case | None, InboundMessage]:
    """Returns the case row (None when the message belongs to no case) and the inbound row."""
    raw_digest = files.put(inbound.raw)
    case = case_store.by_ref(session, d.case_ref) if d.case_ref else None
    if d.new_case:
        case = _open_case(session, d, now, case_prefix, zone)
    row = InboundMessage(
        dedup_key=inbound.dedup_key, case_id=case.id if case is not None else None,
        message_id=inbound.message_id[:998], from_addr=inbound.from_addr, raw_sha256=raw_digest, received_at=now,
        disposition=str(d.disposition), role=str(d.sender_role),
        summary={"attachments": [a.filename for a in d.attachments], "defects": list(inbound.defects)[:20],
                 "reason": d.reason, "unreadable_parts": list(inbound.unreadable_parts)})
    session.add(row)
    session.flush()
    if case is None:
        return None, row
    _file_documents(session, files, d, inbound, case, row, now)
    patch = d.patch.as_dict()
    for column, value in patch.items():
        setattr(case, column, value.value if isinstance(value, Enum) else value)   # stored as plain text
    if patch:
        case.updated_at = now
    if d.payment is not None:
        session.add(Payment(case_id=case.id, amount=d.payment["amount"], expected=d.payment["expected"],
                            recorded_by=d.payment["by"] or "cli", at=now))
    for kind, detail in d.events:
        session.add(Event(case_id=case.id, at=now, kind=kind, detail={**detail, "inbound_id": row.id}))
    if d.resolves is not None:
        request_id, status = d.resolves
        session.execute(update(PendingCommandRecord).where(
            PendingCommandRecord.message_id == request_id, PendingCommandRecord.status == "pending")
            .values(status=status, resolved_at=now).execution_options(synchronize_session=False))
    session.flush()
    if d.delivery is not None:
        apply_delivery(session, case, d.delivery, now)
    return case, row


def keep_command(session: Session, d: Decision, case: Case, row: InboundMessage, request_id: str,
                 now: datetime) -> None:
    """The command of `d` waits for the answer to our request `request_id` (sent in this transaction)."""
    c = d.confirmation
    session.add(PendingCommandRecord(message_id=request_id, case_id=case.id, verb=c["verb"], line=c["line"],
                                     role=c["role"], address=c["address"], raw_sha256=row.raw_sha256,
                                     requested_at=now, expires_at=c["expires_at"], status="pending"))


def _open_case(session: Session, d: Decision, now: datetime, prefix: str, zone) -> Case:
    ref = case_store.next_ref(session, prefix, now.astimezone(zone).year)
    fields = d.patch.as_dict()
    case = Case(ref=ref, state=str(fields["state"].value if isinstance(fields["state"], Enum) else fields["state"]),
                language=fields["language"],
                requestor_email=fields["requestor_email"], findings=[], opened_at=now, updated_at=now)
    session.add(case)
    session.flush()
    earlier = fields.get("parent_ref") or fields.get("additional_of")
    parent = case_store.by_ref(session, earlier) if earlier else None
    if parent is not None:   # an update or an additional opinion carries the earlier documents forward
        for doc in parent.documents:
            session.add(Document(**{c: getattr(doc, c) for c in DOCUMENT_COPY}, case_id=case.id))
        if fields.get("additional_of"):   # the reported case's timeline shows where its question went
            session.add(Event(case_id=parent.id, at=now, kind="additional_opinion_opened", detail={"case": ref}))
        session.flush()
    return case


def _file_documents(session: Session, files: FileStore, d: Decision, inbound: Inbound, case: Case,
                    row: InboundMessage, now: datetime) -> None:
    wanted = set(d.filed)
    for a in d.attachments:
        if a.sha256 not in wanted:
            continue
        files.put(inbound.files[a.sha256])   # content-addressed; stored before the commit that refers to it
        if a.searchable_sha256:              # the PDF made of a photo or a scan: the staff's copy
            files.put(inbound.files[a.searchable_sha256])
        session.add(Document(
            case_id=case.id, inbound_id=row.id, filename=a.filename[:255], sha256=a.sha256, size=a.size,
            kind=a.kind, doc_types=list(a.doc_types), pages=a.pages, has_text=a.has_text, problem=a.problem,
            name_ok=a.name_ok, name_reason=a.name_reason, suggestion=a.suggestion, detail=a.detail[:500],
            language=a.language or None, received_at=now, inside=[name[:255] for name in a.inside],
            searchable_sha256=a.searchable_sha256, ocr_state="queued" if a.ocr_queued else ""))
