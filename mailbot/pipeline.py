"""The intake shell: one raw message -> parse, look up, decide (pure), apply in ONE transaction.

The Decision is computed by pure code from what is looked up here; this module only reads
and writes. Nothing leaves the process (no mail sent, no IMAP move) until the commit is done.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import re
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from mailbot.blank_forms_cache import blank_form
from mailbot.checks.authentication import sender_authenticated
from mailbot.checks.automatic import automatic_reason
from mailbot.clock import Clock
from mailbot.config import Config
from mailbot.forms import fields_from_body
from mailbot.parse import ParsedMessage, parse_message
from mailbot.replies.render import Renderer
from mailbot.rulebook.models import Rulebook
from mailbot.store import cases as case_store
from mailbot.store.files import FileStore, sha256
from mailbot.errors import MailbotError
from mailbot.store.models import Case, Document, Event, InboundMessage, OutboxMessage, Payment
from mailbot.workdays import WorkCalendar
from mailbot.workflow.commands import parse_command
from mailbot.workflow.model import CLOSED_STATES
from mailbot.workflow.staff import StaffFacts, decide_command, read_command
from mailbot.workflow.attachments import assess
from mailbot.workflow.intake import Office, decide
from mailbot.workflow.limits import split_by_cap
from mailbot.workflow.model import Decision
from mailbot.workflow.routing import (Candidates, Route, choose_case, find_refs, form_names_other_patient, route_closed_case,
                                     sender_role)

log = logging.getLogger(__name__)
CASE_UPDATABLE = {"triage", "amount_due", "specialist_email", "declined_by", "pending_extra", "paid_at",
                  "report_sent_at", "report_due_at", "closed_at", "parent_ref"}


DOCUMENT_COPY = ("inbound_id", "filename", "sha256", "size", "kind", "doc_types", "pages", "has_text", "problem",
                 "name_ok", "name_reason", "suggestion", "detail", "received_at")


class CaseNotFound(MailbotError):
    """No case has that reference."""


@dataclass
class Outcome:
    """What happened to one message; `replies` are (recipients, subject, raw) as queued."""

    disposition: str
    case_ref: str | None
    decision: Decision | None
    replies: list[tuple[list[str], str, bytes]] = field(default_factory=list)
    already_done: bool = False


def dedup_key(msg: ParsedMessage, raw: bytes) -> str:
    """The same message delivered twice (or re-read after a crash) maps to one key."""
    if msg.message_id:
        return "mid:" + hashlib.sha256(f"{msg.message_id}\0{msg.from_addr}".encode()).hexdigest()
    normalised = re.sub(rb"\r\n|\r", b"\n", raw)
    return "raw:" + hashlib.sha256(normalised).hexdigest()


class Intake:
    def __init__(self, config: Config, rulebook: Rulebook, sessions: sessionmaker[Session], files: FileStore,
                 renderer: Renderer, clock: Clock):
        self.config = config
        self.rulebook = rulebook
        self.sessions = sessions
        self.files = files
        self.renderer = renderer
        self.clock = clock
        off = config.office
        pay = config.payment
        self.office = Office(name=off.name, address=off.address, languages=tuple(off.languages),
                             triage_working_days=config.reminders.triage_working_days,
                             report_working_days=config.reminders.report_working_days,
                             payment={"beneficiary": pay.beneficiary, "iban": pay.iban, "bic": pay.bic})
        self.own_addresses = {off.address.lower()}
        self.calendar = WorkCalendar.from_rulebook(rulebook)
        self.sent_id = re.compile(rf"<({re.escape(off.case_prefix)}-\d{{4}}-\d{{5}})\.[^<>@\s]+@{re.escape(off.domain)}>", re.I)

    # -- the one public step ---------------------------------------------------------------
    def process(self, raw: bytes, *, dry_run: bool = False) -> Outcome:
        msg = parse_message(raw)
        key = dedup_key(msg, raw)
        with self.sessions() as session:
            if session.execute(select(InboundMessage.id).where(InboundMessage.dedup_key == key)).first():
                return Outcome("duplicate", None, None, already_done=True)
            outcome = self._process(session, msg, raw, key, dry_run)
            if dry_run:
                session.rollback()
            else:
                session.commit()
            return outcome

    def _process(self, session: Session, msg: ParsedMessage, raw: bytes, key: str, dry_run: bool) -> Outcome:
        now = self.clock.now()
        automatic = automatic_reason(msg, self.own_addresses)
        max_bytes = self.config.office.max_attachment_mb * 1024 * 1024
        seen: set[str] = set()
        attachments = []
        for att in msg.attachments:
            digest = sha256(att.data)
            if digest in seen:
                continue
            seen.add(digest)
            attachments.append(assess(att, self.rulebook, max_bytes=max_bytes, known_hashes=frozenset()))

        route, case = self._route(session, msg, raw, attachments, automatic, now)
        if case is not None:
            known = frozenset(d.sha256 for d in case.documents)
            attachments = [dataclasses.replace(a, duplicate=a.sha256 in known) for a in attachments]
        role = sender_role(msg.from_addr, route.case, self.rulebook)
        decision = None
        if automatic is None and case is not None and role != "stranger":
            decision = self._command_decision(session, msg, tuple(attachments), route.case, case, role, now)
        if decision is None:
            restart = self._report_due(now) if case is not None and case.state == "with_specialist" else None
            decision = decide(msg, tuple(attachments), route, role, automatic, self.rulebook, self.office,
                              report_due_if_restarted=restart)
        return self._apply(session, decision, msg, raw, key, case, now, dry_run)

    def _route(self, session: Session, msg: ParsedMessage, raw: bytes, attachments, automatic: str | None,
               now) -> tuple[Route, Case | None]:
        """Look up the candidate cases (thread, then ref, then the sender's one open case) and let
        the pure routing rules choose; returns the route and the chosen case's row."""
        cited = [msg.in_reply_to, *msg.references]
        by_thread = case_store.by_sent_message_ids(session, cited)
        if by_thread is None and automatic:
            found = self.sent_id.findall(raw.decode("latin-1"))  # a bounce quotes our Message-ID
            by_thread = case_store.by_ref(session, found[0]) if found else None
        by_reference = None
        for ref in find_refs(msg.subject, self.config.office.case_prefix) + \
                find_refs(msg.text, self.config.office.case_prefix):
            by_reference = case_store.by_ref(session, ref)
            if by_reference is not None:
                break
        sender_cases = case_store.open_cases_awaiting_documents(session, msg.from_addr) if msg.from_addr else []
        views = {c.id: case_store.view(c) for c in filter(None, [by_thread, by_reference, *sender_cases])}
        form_here: dict[str, str] = dict(fields_from_body(msg.text))
        for a in attachments:
            form_here.update(a.form_fields)
        other_patient = any(form_names_other_patient(form_here, views[c.id]) for c in sender_cases)
        route = choose_case(Candidates(
            by_thread=views[by_thread.id] if by_thread else None,
            by_reference=views[by_reference.id] if by_reference else None,
            sender_open=tuple(views[c.id] for c in sender_cases)), carries_form_for_other_patient=other_patient)
        route = route_closed_case(route, now=now, update_months=self.rulebook.pricing.update_months,
                                  brings_documents=any(a.problem is None for a in attachments))
        if route.case is None:
            return route, None
        return route, next(c for c in (by_thread, by_reference, *sender_cases)
                           if c is not None and c.ref == route.case.ref)

    def _report_due(self, now):
        return self.calendar.add_working_days(now, self.config.reminders.report_working_days, self.config.office.zone)

    def _command_decision(self, session: Session, msg: ParsedMessage, attachments, view, case: Case, role: str,
                          now) -> Decision | None:
        parsed = read_command(msg, role)
        report_docs: tuple[tuple[str, str], ...] = ()
        if role == "specialist" and case.state == "with_specialist":
            report_docs = tuple((a.sha256, a.filename) for a in attachments
                                if a.kind == "pdf" and a.problem is None and not a.duplicate)
        case_docs = tuple((d.sha256, d.filename) for d in case.documents if d.problem is None and d.name_ok)
        security = self.config.security
        authenticated = not security.require_authenticated_staff or \
            sender_authenticated(msg, security.authserv_id)
        return decide_command(msg, attachments, view, role, parsed, self.rulebook, self.office,
                              self.staff_facts(session, case, now), case_docs, report_docs,
                              authenticated=authenticated)

    def staff_facts(self, session: Session, case: Case, now) -> StaffFacts:
        previous, same = None, False
        loads = case_store.open_cases_by_specialist(session)
        if case.parent_ref:
            parent = case_store.by_ref(session, case.parent_ref)
            if parent is not None and parent.specialist_email:
                previous = parent.specialist_email
                member = next((m for m in self.rulebook.staff.specialists
                               if str(m.email).lower() == previous), None)
                same = member is not None and loads.get(previous, 0) < member.max_open_cases
        return StaffFacts(now=now, open_cases=loads, report_due=self._report_due(now),
                          previous_specialist=previous, is_update_same_specialist=same)

    def record_payment(self, ref: str, amount: str | None, *, by: str = "cli") -> Outcome:
        """`mailbot payment REF [--amount X]`: the same decision as an admin's PAID email."""
        now = self.clock.now()
        with self.sessions() as session:
            case = case_store.by_ref(session, ref)
            if case is None:
                raise CaseNotFound(f"no case {ref}")
            text = f"PAID {amount}" if amount else "PAID"
            msg = ParsedMessage(message_id="", from_name="", from_addr="", reply_to="", to=(), cc=(),
                                subject=text, date=None, in_reply_to="", references=(), text=text, attachments=())
            decision = decide_command(msg, (), case_store.view(case), "admin", parse_command(text), self.rulebook,
                                      self.office, self.staff_facts(session, case, now),
                                      tuple((d.sha256, d.filename) for d in case.documents
                                            if d.problem is None and d.name_ok))
            key = f"cli:{ref}:{now.isoformat()}"
            outcome = self._apply(session, decision, msg, text.encode(), key, case, now, False)
            session.commit()
            return outcome

    # -- applying a Decision ----------------------------------------------------------------
    def _apply(self, session: Session, d: Decision, msg: ParsedMessage, raw: bytes, key: str,
               case: Case | None, now, dry_run: bool) -> Outcome:
        raw_digest = sha256(raw) if dry_run else self.files.put(raw)
        if d.new_case:
            ref = case_store.next_ref(session, self.config.office.case_prefix, now.astimezone(self.config.office.zone).year)
            case = Case(ref=ref, state=d.state_after or "awaiting_documents", language=d.language,
                        requestor_email=msg.from_addr, condition_id=d.condition_id,
                        form=d.form, consent=d.consent, findings=[], opened_at=now, updated_at=now)
            session.add(case)
            session.flush()
            parent_ref = d.case_updates.get("parent_ref")
            parent = case_store.by_ref(session, parent_ref) if parent_ref else None
            if parent is not None:   # an update carries the earlier documents forward
                for doc in parent.documents:
                    session.add(Document(**{c: getattr(doc, c) for c in DOCUMENT_COPY}, case_id=case.id))
                session.flush()
        inbound = InboundMessage(
            dedup_key=key, case_id=case.id if case is not None else None, message_id=msg.message_id[:998],
            from_addr=msg.from_addr, raw_sha256=raw_digest, received_at=now, disposition=d.disposition,
            role=d.sender_role, summary={"attachments": [a.filename for a in d.attachments],
                                         "defects": list(msg.defects)[:20], "reason": d.reason,
                                         "unreadable_parts": list(msg.unreadable_parts)})
        session.add(inbound)
        session.flush()
        if case is None:
            return Outcome(d.disposition, None, d)

        if d.disposition == "filed":
            for a in d.attachments:
                if a.duplicate:
                    continue
                # the bytes are content-addressed; store them before the commit that refers to them
                data = next(x.data for x in msg.attachments if sha256(x.data) == a.sha256)
                if not dry_run:
                    self.files.put(data)
                session.add(Document(
                    case_id=case.id, inbound_id=inbound.id, filename=a.filename[:255], sha256=a.sha256,
                    size=a.size, kind=a.kind, doc_types=list(a.doc_types), pages=a.pages, has_text=a.has_text,
                    problem=a.problem, name_ok=a.name_ok, name_reason=a.name_reason, suggestion=a.suggestion,
                    detail=a.detail[:500], received_at=now))
            case.form = d.form
            case.consent = d.consent
            case.language = d.language
            case.condition_id = d.condition_id
            case.findings = [f.as_dict() for f in d.findings if f.blocking]
            if d.state_after and d.state_after != d.state_before:
                case.state = d.state_after
                if d.state_after == "in_triage":
                    case.completed_at = now   # the triage deadline counts from here
            case.updated_at = now
            for column, value in d.case_updates.items():
                if column not in CASE_UPDATABLE:
                    raise ValueError(f"decision may not set {column}")
                setattr(case, column, value)
            if d.state_after in CLOSED_STATES and case.closed_at is None:
                case.closed_at = now
            if d.payment is not None:
                session.add(Payment(case_id=case.id, amount=d.payment["amount"], expected=d.payment["expected"],
                                    recorded_by=d.payment["by"] or "cli", at=now))
        for kind, detail in d.events:
            session.add(Event(case_id=case.id, at=now, kind=kind, detail={**detail, "inbound_id": inbound.id}))
        session.flush()
        outcome = Outcome(d.disposition, case.ref, d)
        self._queue_replies(session, d, msg, key, case, now, outcome)
        return outcome

    def _queue_replies(self, session: Session, d: Decision, msg: ParsedMessage, key: str, case: Case, now,
                       outcome: Outcome) -> None:
        stem = hashlib.sha256(key.encode()).hexdigest()[:12]
        keep, dropped = split_by_cap(d.replies, self._replies_today(session, now),
                                     self.config.office.max_replies_per_address_per_day)
        for spec in dropped:
            session.add(Event(case_id=case.id, at=now, kind="reply_suppressed",
                              detail={"purpose": spec.purpose, "why": "daily cap of automatic replies reached"}))
        local = {sha256(x.data): x.data for x in msg.attachments}
        for i, spec in enumerate(keep):
            message_id = f"<{case.ref}.{stem}.{i}@{self.config.office.domain}>"
            outcome.replies.append(self.queue(session, spec, case, now, message_id, in_reply_to=msg.message_id,
                                              references=msg.references, local=local))

    def queue(self, session: Session, spec, case: Case, now, message_id: str, *, in_reply_to: str = "",
              references: tuple[str, ...] = (), local: dict[str, bytes] | None = None
              ) -> tuple[list[str], str, bytes]:
        """Render one ReplySpec and add it to the outbox (in the caller's transaction)."""
        attachments: list[tuple[str, bytes]] = [(_blank_filename(form, spec.language), blank_form(form, spec.language))
                                                for form in spec.blank_forms]
        for digest, filename in spec.documents:
            data = (local or {}).get(digest)
            attachments.append((filename, data if data is not None else self.files.get(digest)))
        rendered = self.renderer.render(spec, case_ref=case.ref, message_id=message_id, date=now,
                                        in_reply_to=in_reply_to, references=references, attachments=attachments)
        session.add(OutboxMessage(
            case_id=case.id, message_id=message_id, purpose=spec.purpose, sender=self.config.office.address,
            recipients=list(spec.to), subject=rendered.subject, raw=rendered.raw, status="queued",
            next_attempt_at=now, created_at=now))
        session.add(Event(case_id=case.id, at=now, kind="reply_queued",
                          detail={"purpose": spec.purpose, "to": list(spec.to), "message_id": message_id}))
        return list(spec.to), rendered.subject, rendered.raw

    def _replies_today(self, session: Session, now) -> dict[str, int]:
        counts: dict[str, int] = {}
        rows = session.execute(select(OutboxMessage.recipients).where(
            OutboxMessage.created_at >= now - timedelta(days=1), OutboxMessage.purpose.like("requestor/%")))
        for (recipients,) in rows:
            for address in recipients:
                counts[address.lower()] = counts.get(address.lower(), 0) + 1
        return counts


def _blank_filename(form: str, language: str) -> str:
    names = {("request_form", "en"): "second_opinion_request_form.pdf",
             ("request_form", "it"): "modulo_richiesta_secondo_parere.pdf",
             ("consent_form", "en"): "patient_consent_form.pdf",
             ("consent_form", "it"): "modulo_consenso_paziente.pdf"}
    return names.get((form, language), f"{form}.pdf")
