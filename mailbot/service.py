"""One message through the office: read it, load the facts, decide (pure), write, queue replies.

    envelope = open_envelope(raw)            # parse + assess attachments, once (workflow/envelope)
    facts = load_facts(session, envelope)    # every lookup a decision needs (store/facts)
    decision = decide(envelope, facts, ...)  # pure (workflow/decide)
    apply(session, decision)                 # the decision's writes, nothing else (store/apply)
    queue(...)                               # rendered replies into the outbox, same transaction

All of it in ONE transaction; nothing leaves the process (no mail sent, no IMAP move) until it
is committed. `dry_run` stops after the decision and renders the replies: it writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from mailbot.clock import Clock
from mailbot.config import Config
from mailbot.documents.blank_forms_cache import blank_form
from mailbot.errors import MailbotError
from mailbot.ocr import Tesseract
from mailbot.replies.render import Renderer
from mailbot.rulebook.models import Rulebook
from mailbot.schedule.workdays import WorkCalendar
from mailbot.store import cases as case_store
from mailbot.outbox.ids import new_message_id
from mailbot.store.apply import Inbound, apply, keep_command
from mailbot.store.facts import case_facts, load_facts, raw_of_pending
from mailbot.store.files import FileStore
from mailbot.store.models import Case, Event, InboundMessage, OutboxMessage
from mailbot.store.undelivered import resend
from mailbot.workflow.commands import Command
from mailbot.workflow.decide import capped, paused, staff_facts
from mailbot.workflow.decide import decide as decide_message
from mailbot.workflow.envelope import Envelope, dedup_key, open_envelope
from mailbot.workflow.hospitals import scoped, written_to
from mailbot.workflow.limits import notice_key
from mailbot.workflow.model import Decision, Facts, Office, ReplySpec
from mailbot.workflow.staff import decide_command
from mailbot.workflow.transitions import Disposition, Role, table_templates

__all__ = ["CaseNotFound", "Intake", "Outcome", "dedup_key", "office_of"]


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


def office_of(config: Config, rulebook: Rulebook) -> Office:
    off, pay, security = config.office, config.payment, config.security
    return Office(name=off.name, address=off.address, languages=tuple(off.languages),
                  triage_working_days=config.reminders.triage_working_days,
                  report_working_days=config.reminders.report_working_days,
                  payment={"beneficiary": pay.beneficiary, "iban": pay.iban, "bic": pay.bic},
                  case_prefix=off.case_prefix, max_attachment_bytes=off.max_attachment_mb * 1024 * 1024,
                  max_replies_per_day=off.max_replies_per_address_per_day, zone=off.zone,
                  calendar=WorkCalendar.from_rulebook(rulebook),
                  require_authenticated_staff=security.require_authenticated_staff,
                  authserv_id=security.authserv_id, accepted_languages=tuple(off.accepted_languages),
                  incomplete_days=config.retention.incomplete_days,
                  own_addresses=tuple(h.address for h in rulebook.hospitals.values()),
                  ref_prefixes=tuple(h.case_prefix for h in rulebook.hospitals.values()))


class Intake:
    def __init__(self, config: Config, rulebook: Rulebook, sessions: sessionmaker[Session], files: FileStore,
                 renderer: Renderer, clock: Clock, ocr: Tesseract | None = None):
        self.config = config
        self.ocr = ocr   # reads page images of photos and scans; None: no OCR
        self.rulebook = rulebook
        self.sessions = sessions
        self.files = files
        self.renderer = renderer
        self.clock = clock
        self.office = office_of(config, rulebook)
        staff = (*rulebook.staff.triage, *rulebook.staff.specialists, *rulebook.staff.admins)
        languages = dict.fromkeys([*self.office.languages, *(lang for m in staff for lang in m.languages)])
        renderer.check_templates(table_templates(), tuple(languages))

    # -- the public steps --------------------------------------------------------------------
    def process(self, raw: bytes, *, dry_run: bool = False, received_for: str = "") -> Outcome:
        """`received_for`: the hospital of the mailbox it was read from, when that mailbox has one."""
        envelope = open_envelope(raw, self.rulebook, self.office, self.ocr.for_message().page if self.ocr else None,
                                 received_for=received_for)
        with self.sessions() as session:
            if session.execute(select(InboundMessage.id).where(
                    InboundMessage.dedup_key == envelope.dedup_key)).first():
                return Outcome(Disposition.DUPLICATE, None, None, already_done=True)
            now = self.clock.now()
            facts = load_facts(session, envelope, case_prefix=self.office.case_prefix, now=now, zone=self.office.zone)
            facts, original = self._with_original(session, facts)
            decision = decide_message(envelope, facts, self.rulebook, self.office, now)
            if dry_run:
                return self._preview(decision, envelope, facts.next_ref, now)
            outcome = self._commit(session, decision, _inbound(envelope, original), now,
                                   written_to=written_to(envelope, self.rulebook))
            session.commit()
            return outcome

    def record_payment(self, ref: str, amount: str | None, *, by: str = "cli") -> Outcome:
        """`mailbot payment REF [--amount X]`: the same decision as an admin's PAID email."""
        text = f"PAID {amount}" if amount else "PAID"
        return self._admin_command(ref, Command("PAID", (amount,) if amount else (), "", text), by)

    def set_email(self, ref: str, role: str, address: str, *, by: str = "cli") -> Outcome:
        """`mailbot case REF --set-email ROLE ADDRESS`: the same decision as an admin's EMAIL email."""
        text = f"EMAIL {role} {address}"
        return self._admin_command(ref, Command("EMAIL", (role, address.lower()), f"{role} {address}", text), by)

    def _admin_command(self, ref: str, command: Command, by: str) -> Outcome:
        now = self.clock.now()
        with self.sessions() as session:
            case = case_store.by_ref(session, ref)
            if case is None:
                raise CaseNotFound(f"no case {ref}")
            facts = case_facts(session, case, now=now)
            view = facts.by_reference
            rules, office = self.scoped(view.hospital)
            decision = decide_command("", (), view, Role.ADMIN, command, rules, office,
                                      staff_facts(view, facts, rules, office, now),
                                      tuple(d.sent_as for d in view.documents if d.usable))
            decision = paused(capped(decision, facts.replies_today, office.max_replies_per_day), facts)
            inbound = Inbound(dedup_key=f"{by}:{ref}:{now.isoformat()}", raw=command.line.encode())
            outcome = self._commit(session, decision, inbound, now)
            session.commit()
            return outcome

    def _with_original(self, session: Session, facts: Facts) -> tuple[Facts, dict[str, bytes]]:
        """A confirmation's kept command acts with the attachments of the message that gave it
        (a report's PDFs): read that message again from the file store."""
        if facts.pending is None:
            return facts, {}
        digest = raw_of_pending(session, facts.pending.request_id)
        if not digest:
            return facts, {}
        original = open_envelope(self.files.get(digest), self.rulebook, self.office,
                                 self.ocr.for_message().page if self.ocr else None)
        pending = replace(facts.pending, attachments=original.attachments, text=original.message.text,
                          given_id=original.message.message_id)
        return replace(facts, pending=pending), original.data()

    # -- writing ---------------------------------------------------------------------------------
    def _commit(self, session: Session, d: Decision, inbound: Inbound, now: datetime, *, written_to: str = ""
                ) -> Outcome:
        """`written_to`: the hospital the message was written to; a stranger's answer comes from it
        (not from the hospital of the case its ref names, which a stranger is not told of)."""
        case, row = apply(session, self.files, d, inbound, now, case_prefix=self._prefix(d), zone=self.office.zone)
        stranger = d.disposition == Disposition.STRANGER   # told nothing of the case, not even its ref
        outcome = Outcome(d.disposition, case.ref if case is not None else None, d)
        if case is None and not (stranger and d.replies):
            return outcome
        if case is not None and d.delivery is not None and d.delivery.resend:
            resend(session, case, d.delivery, now, self.office.domain)
        hospital = written_to if stranger else case.hospital
        for spec in d.replies:
            message_id = new_message_id(self.office.domain, *(() if stranger else (case.ref,)))
            threading = ((spec.in_reply_to, (spec.in_reply_to,)) if spec.in_reply_to   # a relay: the asker's thread
                         else (inbound.message_id, inbound.references))
            outcome.replies.append(self.queue(session, spec, case, now, message_id, in_reply_to=threading[0],
                                              references=threading[1], local=inbound.files,
                                              show_ref=not stranger, hospital=hospital))
            if d.confirmation is not None and spec.purpose.endswith("/confirm_command"):
                keep_command(session, d, case, row, message_id, now)
        return outcome

    def _prefix(self, d: Decision) -> str:
        """The case prefix of a new case: its hospital's, else the office's."""
        hospital = self.rulebook.hospitals.get(d.patch.as_dict().get("hospital") or "")
        return hospital.case_prefix if hospital is not None else self.office.case_prefix

    def _sender(self, hospital_id: str | None) -> tuple[str, str]:
        """(name, address) replies on a case of this hospital come from."""
        hospital = self.rulebook.hospitals.get(hospital_id or "")
        return (hospital.name, hospital.address) if hospital is not None else (self.office.name, self.office.address)

    def scoped(self, hospital_id: str | None) -> tuple[Rulebook, Office]:
        """The rules and office of one case's hospital (for the scheduler's and the CLI's decisions)."""
        return scoped(self.rulebook, self.office, hospital_id)

    def _preview(self, d: Decision, envelope: Envelope, next_ref: str, now: datetime) -> Outcome:
        """What `replay --dry-run` shows: the decision and its rendered replies; nothing written."""
        if d.new_case and not next_ref.startswith(self._prefix(d) + "-"):
            next_ref = self._prefix(d) + "-" + next_ref.split("-", 1)[1]
        ref = d.case_ref or (next_ref if d.new_case else None)
        outcome = Outcome(d.disposition, ref, d)
        stranger = d.disposition == Disposition.STRANGER
        if ref is None and not stranger:
            return outcome
        inbound = _inbound(envelope)
        for spec in d.replies:
            shown = None if stranger else ref
            hospital = written_to(envelope, self.rulebook) if stranger else d.patch.as_dict().get("hospital")
            rendered = self._render(spec, shown, now, new_message_id(self.office.domain, *((shown,) if shown else ())),
                                    inbound.message_id, inbound.references, inbound.files, hospital)
            outcome.replies.append((list(spec.to), rendered.subject, rendered.raw))
        return outcome

    def queue(self, session: Session, spec: ReplySpec, case: Case | None, now, message_id: str, *, in_reply_to: str = "",
              references: tuple[str, ...] = (), local: dict[str, bytes] | None = None, show_ref: bool = True,
              hospital: str | None = None) -> tuple[list[str], str, bytes]:
        """Render one ReplySpec and add it to the outbox (in the caller's transaction). `show_ref`
        False: the mail names no case (a stranger's answer), though the row stays the case's, so
        it goes when the case is purged. It comes from `hospital`'s address (default: the case's)."""
        hospital = hospital if hospital is not None else (case.hospital if case is not None else None)
        rendered = self._render(spec, case.ref if case is not None and show_ref else None, now, message_id,
                                in_reply_to, references, local, hospital)
        session.add(OutboxMessage(
            case_id=case.id if case is not None else None, message_id=message_id, purpose=spec.purpose,
            sender=self._sender(hospital)[1],
            recipients=list(spec.to), subject=rendered.subject, raw=rendered.raw, status="queued",
            next_attempt_at=now, created_at=now))
        if case is not None:
            session.add(Event(case_id=case.id, at=now, kind="reply_queued",
                              detail={"purpose": spec.purpose, "to": list(spec.to), "message_id": message_id,
                                      "notice": list(notice_key(spec.purpose, spec.context))}))
        return list(spec.to), rendered.subject, rendered.raw

    def _render(self, spec: ReplySpec, ref: str | None, now, message_id: str, in_reply_to: str,
                references: tuple[str, ...], local: dict[str, bytes] | None, hospital: str | None = None):
        attachments = [(self.rulebook.blank_form_filename(form, spec.language), blank_form(form, spec.language))
                       for form in spec.blank_forms]
        for digest, filename in spec.documents:
            data = (local or {}).get(digest)
            attachments.append((filename, data if data is not None else self.files.get(digest)))
        return self.renderer.render(spec, case_ref=ref, message_id=message_id, date=now, in_reply_to=in_reply_to,
                                    references=references, attachments=attachments,
                                    sender=self._sender(hospital) if hospital else None)


def _inbound(envelope: Envelope, original: dict[str, bytes] | None = None) -> Inbound:
    """`original`: the attachments of the message whose kept command this one confirms."""
    msg = envelope.message
    return Inbound(dedup_key=envelope.dedup_key, raw=envelope.raw, message_id=msg.message_id,
                   from_addr=msg.from_addr, defects=msg.defects, unreadable_parts=tuple(msg.unreadable_parts),
                   files={**(original or {}), **envelope.data()},
                   references=msg.references)
