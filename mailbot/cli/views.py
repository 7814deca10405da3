"""`mailbot cases` and `mailbot case REF`: plain-text views for office admins."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from mailbot.schedule.deadlines import deadline_label
from mailbot.schedule.policy import case_times, policy_of
from mailbot.schedule.workdays import WorkCalendar
from mailbot.store.models import (Case, Document, Event, InboundMessage, OutboxMessage, Payment, PendingCommandRecord,
                                  UndeliveredAddress)
from mailbot.store.undelivered import undelivered_by_case


MESSAGE_EVENTS = ("message_received", "staff_message", "stranger_message", "automatic_message")


def _table(rows: list[list[str]], headers: list[str]) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows)] if rows else [len(h) for h in headers]
    line = lambda cells: "  ".join(str(c).ljust(w) for c, w in zip(cells, widths)).rstrip()
    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(r) for r in rows)])


def cases_table(app, state: str | None = None) -> str:
    zone = app.config.office.zone
    with app.sessions() as session:
        query = select(Case).order_by(Case.id)
        if state:
            query = query.where(Case.state == state)
        cases = list(session.execute(query).scalars())
        counts = dict(session.execute(select(Document.case_id, func.count()).group_by(Document.case_id)).all())
        bounced = undelivered_by_case(session)
        now = app.clock.now()
        cal = WorkCalendar.from_rulebook(app.rulebook)
        policy = policy_of(app.config)
        rows = [[c.ref, c.state, c.opened_at.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
                 c.updated_at.astimezone(zone).strftime("%Y-%m-%d %H:%M"), c.language, c.condition_id or "-",
                 str(counts.get(c.id, 0)), str(len(c.findings or [])),
                 deadline_label(case_times(c), now, cal, zone, policy) or "-",
                 ", ".join(bounced.get(c.id, [])) or "-"] for c in cases]
        if app.rulebook.hospitals:   # a network: which hospital each case is at
            rows = [[*row[:2], c.hospital or app.rulebook.default_hospital, *row[2:]] for row, c in zip(rows, cases)]
    if not rows:
        return "no cases" + (f" in state {state}" if state else "")
    headers = ["ref", "state", "opened", "updated", "lang", "condition", "docs", "open findings", "deadline",
               "undelivered address"]
    table = _table(rows, headers[:2] + ["hospital"] + headers[2:] if app.rulebook.hospitals else headers)
    waiting = sum(1 for c in cases if c.id in bounced)
    if waiting:
        table += (f"\n\n{waiting} case(s) with an undelivered address: no automatic mail goes to it; "
                  "`mailbot case REF --set-email ROLE ADDRESS` records the right one")
    return table


def case_detail(app, ref: str) -> str | None:
    zone = app.config.office.zone
    when = lambda dt: dt.astimezone(zone).strftime("%Y-%m-%d %H:%M")
    with app.sessions() as session:
        case = session.execute(select(Case).where(Case.ref == ref.upper())).scalar_one_or_none()
        if case is None:
            return None
        form = case.form or {}
        hospital = app.rulebook.hospitals.get(case.hospital or "")
        at = f"  at {hospital.name}" if hospital is not None else ""
        out = [f"Case {case.ref}: {case.state}  (language {case.language}, opened {when(case.opened_at)}){at}", "",
               "Parties:",
               f"  requestor: {(form.get('requestor_name', '') + ' ').lstrip()}<{case.requestor_email}> "
               f"as {form.get('requestor_role', '?')}",
               f"  patient:   {form.get('patient_name', '?')}, born {form.get('patient_birth_date', '?')}"
               + (f" <{form['patient_email']}>" if form.get("patient_email") else ""),
               f"  condition: {case.condition_id or form.get('condition', '?')}; consultation: {form.get('consultation_type', '-')}",
               f"  delivery: {form.get('delivery', 'email')}; share with referring physician: "
               f"{form.get('share_with_referring_physician', 'no')}",
               f"  consent:   {'yes' if case.consent else 'no'}", ""]
        if form.get("clinical_question"):
            out += [f"Clinical question: {form['clinical_question']}", ""]
        out.append("Open findings:" if case.findings else "Open findings: none (complete)")
        for f in case.findings or []:
            out.append(f"  - {f['code']}: {f.get('subject', '')}")
        out += ["", "Documents:"]
        for d in case.documents:
            out += _document_lines(d)
        if not case.documents:
            out.append("  none")
        out += ["", "Assignment and payment:",
                f"  triage: {case.triage or '-'}",
                f"  specialist: {case.specialist_email or '-'}"
                + (f" (declined by {', '.join(case.declined_by)})" if case.declined_by else "")
                + (f"; report due {when(case.report_due_at)}" if case.report_due_at else ""),
                f"  amount due: {case.amount_due or '-'}"]
        out += _journey_lines(case, when)
        for p in session.execute(select(Payment).where(Payment.case_id == case.id).order_by(Payment.id)).scalars():
            out.append(f"  paid {p.amount} (due {p.expected}) on {when(p.at)} recorded by {p.recorded_by}")
        out += _undelivered_lines(session, case, when)
        out += _pending_lines(session, case.id, when) + ["", "Timeline:"]
        inbound = {m.id: m for m in session.execute(
            select(InboundMessage).where(InboundMessage.case_id == case.id)).scalars()}
        for e in session.execute(select(Event).where(Event.case_id == case.id).order_by(Event.id)).scalars():
            detail = {k: v for k, v in (e.detail or {}).items() if k != "notice"}   # notice: the dedup key
            src = inbound.get(detail.pop("inbound_id", None))
            who = f" from {src.from_addr} ({src.role})" if src is not None and e.kind in MESSAGE_EVENTS else ""
            extra = ", ".join(f"{k}={v}" for k, v in detail.items() if v not in (None, "", [], {}))
            out.append(f"  {when(e.at)}  {e.kind}{who}" + (f": {extra}" if extra else ""))
            if who and (src.summary or {}).get("unreadable_parts"):
                out.append(f"      could not be read: {'; '.join(src.summary['unreadable_parts'])}")
        out += ["", "Outgoing mail:"]
        for m in session.execute(select(OutboxMessage).where(OutboxMessage.case_id == case.id)
                                 .order_by(OutboxMessage.id)).scalars():
            out.append(f"  {when(m.created_at)}  {m.status:<6} {m.purpose} -> {', '.join(m.recipients)}"
                       + (f" (attempts {m.attempts}: {m.last_error})" if m.last_error else ""))
    return "\n".join(out)


def _undelivered_lines(session, case: Case, when) -> list[str]:
    paused = session.execute(select(UndeliveredAddress).where(
        UndeliveredAddress.case_id == case.id, UndeliveredAddress.resolved_at.is_(None))).scalars().all()
    if not paused:
        return []
    return ["", "Undelivered addresses (no automatic mail goes to them):",
            *(f"  {u.address} ({u.role}): {u.status or 'no status'} on {when(u.at)}"
              + (f": {u.diagnostic}" if u.diagnostic else "") for u in paused),
            f"  correct with: mailbot case {case.ref} --set-email ROLE ADDRESS"]


def _document_lines(d) -> list[str]:
    """One document of `mailbot case`: name (and the containers it came from), what it is, the verdict."""
    verdict = d.problem or ("badly named" + (f" (suggest {d.suggestion})" if d.suggestion else "")
                            if not d.name_ok else "ok")
    where = "".join(f", inside {c}" for c in d.inside or ())
    out = [f"  - {d.filename}{where}  [{d.kind}, {d.pages} p., {', '.join(d.doc_types) or 'unclassified'}] {verdict}"]
    if d.searchable_sha256:
        out.append("      the staff receive the PDF made of it (searchable when read by OCR)")
    if d.ocr_state and d.ocr_state != "done":
        out.append(f"      OCR of the whole scan: {d.ocr_state.split(':', 1)[0]}")
    if d.detail:   # what inspection noticed: active content (JavaScript...), no text layer, limits
        out.append(f"      {d.detail}")
    return out


def _pending_lines(session, case_id: int, when) -> list[str]:
    """Commands given without proof of their sender, and what became of each confirmation request."""
    rows = list(session.execute(select(PendingCommandRecord).where(PendingCommandRecord.case_id == case_id)
                                .order_by(PendingCommandRecord.id)).scalars())
    if not rows:
        return []
    out = ["", "Commands waiting for confirmation:"]
    for r in rows:
        what = r.line or r.verb
        fate = (f"asked, until {when(r.expires_at)}" if r.status == "pending" else
                f"{r.status} {when(r.resolved_at)}" if r.resolved_at else r.status)
        out.append(f"  {when(r.requested_at)}  {what!r} as {r.role}: {r.address} {fate}")
    return out


def outbox_table(app, state: str | None = None) -> str:
    """`mailbot outbox [--state S]`: outgoing mail without addresses or subjects (they can name
    a patient): id, case, purpose, state, attempts, times and the last error."""
    zone = app.config.office.zone
    when = lambda dt: dt.astimezone(zone).strftime("%Y-%m-%d %H:%M") if dt else "-"
    with app.sessions() as session:
        query = select(OutboxMessage.id, OutboxMessage.message_id, Case.ref, OutboxMessage.purpose, OutboxMessage.status,
                       OutboxMessage.attempts, OutboxMessage.created_at, OutboxMessage.next_attempt_at,
                       OutboxMessage.sent_at, OutboxMessage.last_error) \
            .outerjoin(Case, Case.id == OutboxMessage.case_id).order_by(OutboxMessage.id)
        if state:
            query = query.where(OutboxMessage.status == state)
        rows = session.execute(query).all()
    if not rows:
        return "no outgoing mail" + (f" in state {state}" if state else "")
    table = [[str(r.id), r.ref or "-", r.purpose, r.status, str(r.attempts), when(r.created_at),
              when(r.sent_at) if r.status == "sent" else (when(r.next_attempt_at) if r.status == "queued" else "-"),
              _short_error(r.last_error, r.message_id)] for r in rows]
    return _table(table, ["id", "case", "purpose", "state", "attempts", "created", "sent / next attempt",
                          "last error"])


def _short_error(error: str, message_id: str) -> str:
    """The last error on one line, without the row's own Message-ID (the id column says which)."""
    from mailbot.faults import redact_addresses

    text = " ".join((error or "-").replace(f" {message_id}", "").split())
    return redact_addresses(text)[:160]


def _journey_lines(case, when) -> list[str]:
    """Where the case came from and what followed its report (additional opinion, treatment path)."""
    out = []
    if case.parent_ref:
        out.append(f"  update of: {case.parent_ref}")
    if case.additional_of:
        out.append(f"  additional opinion on: {case.additional_of}")
    treatment = (case.after_report or {}).get("treatment")
    if treatment:
        at = when(datetime.fromisoformat(treatment["at"])) if treatment.get("at") else "?"
        out.append(f"  treatment path: forwarded to {treatment.get('to') or 'the admins'} on {at}")
    return out
