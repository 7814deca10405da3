"""Case queries and updates the pipeline needs: refs, lookups, snapshots for the pure core."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mailbot.documents.inspect import active_content_of
from mailbot.store.models import Case, CaseCounter, OutboxMessage
from mailbot.workflow.model import CaseView, StoredDocument
from mailbot.workflow.transitions import OPEN_STATES, State


def next_ref(session: Session, prefix: str, year: int) -> str:
    """Hand out the next ref of the year; row-locked so parallel workers never share one."""
    for _ in range(3):
        counter = session.execute(
            select(CaseCounter).where(CaseCounter.year == year).with_for_update()).scalar_one_or_none()
        if counter is None:
            try:
                with session.begin_nested():
                    counter = CaseCounter(year=year, last=0)
                    session.add(counter)
                    session.flush()
            except IntegrityError:
                continue
        counter.last += 1
        session.flush()
        return f"{prefix}-{year}-{counter.last:05d}"
    raise RuntimeError("could not allocate a case reference")


def view(case: Case) -> CaseView:
    return CaseView(
        ref=case.ref, state=State(case.state), language=case.language, requestor_email=case.requestor_email,
        form=dict(case.form or {}), consent=dict(case.consent or {}),
        documents=tuple(StoredDocument(d.filename, d.sha256, tuple(d.doc_types or ()),
                                       d.problem is None and d.name_ok,
                                       d.problem or ("" if d.name_ok else f"badly named ({d.name_reason})"),
                                       active_content_of(d.detail or ""), d.language or "", tuple(d.inside or ()),
                                       d.searchable_sha256)
                        for d in case.documents),
        condition_id=case.condition_id, specialist_email=case.specialist_email, amount_due=case.amount_due,
        triage=dict(case.triage or {}), declined_by=tuple(case.declined_by or ()),
        pending_extra=dict(case.pending_extra or {}), parent_ref=case.parent_ref,
        report_sent_at=case.report_sent_at, opened_at=case.opened_at, additional_of=case.additional_of,
        after_report=dict(case.after_report or {}), hospital=case.hospital,
    )


def by_ref(session: Session, ref: str) -> Case | None:
    return session.execute(select(Case).where(Case.ref == ref.upper())).scalar_one_or_none()


def by_sent_message_ids(session: Session, message_ids: list[str]) -> Case | None:
    ids = [m for m in message_ids if m]
    if not ids:
        return None
    row = session.execute(
        select(OutboxMessage.case_id).where(OutboxMessage.message_id.in_(ids), OutboxMessage.case_id.is_not(None))
        .order_by(OutboxMessage.id.desc()).limit(1)).scalar_one_or_none()
    return session.get(Case, row) if row is not None else None


def open_cases_by_specialist(session: Session) -> dict[str, int]:
    rows = session.execute(select(Case.specialist_email, func.count()).where(
        Case.state == "with_specialist", Case.specialist_email.is_not(None)).group_by(Case.specialist_email))
    return {email.lower(): count for email, count in rows}


def open_cases_awaiting_documents(session: Session, requestor: str) -> list[Case]:
    return list(session.execute(
        select(Case).where(Case.requestor_email == requestor.lower(), Case.state == "awaiting_documents")
        .order_by(Case.id)).scalars())


def open_cases_of(session: Session, requestor: str) -> list[Case]:
    """Every open case whose requestor is this address, oldest first."""
    return list(session.execute(
        select(Case).where(Case.requestor_email == requestor.lower(), Case.state.in_([str(s) for s in OPEN_STATES]))
        .order_by(Case.id)).scalars())
