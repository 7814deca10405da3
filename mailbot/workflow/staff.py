"""Commands on an existing case -> Decision, through the table. Pure.

A command counts only from an address listed for its role (the case's own specialist, for a
specialist) and only in a state where the table has a row for it; anything else is refused:
filed as an event, shown to the admins, and the case is left exactly as it was.

A From header proves nothing. A command the table allows acts at once only with a `Proof` the
shell found (a reply to our own mail to that address about that case, or a pass from our
receiving server); otherwise the address on record for that role is asked to confirm it, and
the decision carries the command to keep until the answer comes (workflow/decide.py).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta

from mailbot.rulebook.models import Rulebook
from mailbot.workflow.commands import (REQUESTOR_VERBS, STAFF_VERBS, Command, Unparsed, below_first_line, first_line,
                                       parse_command)
from mailbot.workflow.context import admin_notices, case_context, find_staff, staff_language  # noqa: F401
from mailbot.workflow.effects import Builder, StaffFacts, perform
from mailbot.workflow.model import AssessedAttachment, CasePatch, CaseView, Decision, Office
from mailbot.workflow.model import ReplySpec
from mailbot.workflow.transitions import PARTIES, Disposition, Refused, Role, Verb, transition_for

__all__ = ["Proof", "StaffFacts", "admin_notices", "case_context", "decide_command", "find_staff", "read_command",
           "staff_language"]


@dataclass(frozen=True)
class Proof:
    """Why the command may be taken as coming from its sender."""

    how: str = "cli"      # thread | authenticated | confirmed | cli; "" none: ask to confirm first
    refused: bool = False  # strict mode: a staff command without a pass from our server
    awaiting: tuple[tuple[str, str], ...] = ()   # (address, line) already asked to confirm on the case


def read_command(text: str, role: str) -> Command | Unparsed | None:
    line = first_line(text)
    if role in STAFF_VERBS:
        return parse_command(line)
    result = parse_command(line, REQUESTOR_VERBS)
    if isinstance(result, Command) and result.verb in ("TREATMENT", "ADDITIONAL"):   # the message is below
        below = below_first_line(text)
        return replace(result, text="\n".join(filter(None, (result.text, below))))
    return None if isinstance(result, Unparsed) else result   # patients' words are not commands


def decide_command(sender: str, attachments: tuple[AssessedAttachment, ...], case: CaseView, role: str,
                   parsed: Command | Unparsed | None, rulebook: Rulebook, office: Office, facts: StaffFacts,
                   case_documents: tuple[tuple[str, str], ...], report_documents: tuple[tuple[str, str], ...] = (),
                   *, proof: Proof = Proof(), message_id: str = "", body: str = "") -> Decision | None:
    """None when the message carries no command (the caller files it as ordinary mail).
    `message_id`, `body`: the message's own id and latest reply text (a relay passes them on)."""
    first = ("staff_message" if role in STAFF_VERBS else "message_received",
             {"from_role": role, "attachments": [a.filename for a in attachments]})
    b = Builder(case, role, sender, rulebook, office, first_event=first, facts=facts,
                command=parsed if isinstance(parsed, Command) else None)
    b.attachments, b.message_id, b.body = attachments, message_id, body
    implicit = _implicit_verb(role, report_documents, parsed)
    if isinstance(parsed, Unparsed) and implicit is None:
        return _not_understood(b, parsed, attachments)
    if parsed is None and implicit is None:
        return None
    verb = implicit or Verb(parsed.verb)
    line = parsed.line if parsed is not None and implicit is None else verb
    if role in STAFF_VERBS and proof.refused:
        b.alert("command_unauthenticated", sender=sender, line=line, role=role)
        return _decision(b, attachments, f"unauthenticated: {verb}", acted=False)
    found = transition_for(case.state, verb, role)
    if role == Role.SPECIALIST and sender.lower() != (case.specialist_email or "") and not isinstance(found, Refused):
        found = Refused("not_assigned")     # only the case's own specialist acts on it, a report included
    if isinstance(found, Refused) and found.why in ("role", "not_assigned"):
        b.alert("command_not_allowed", sender=sender, line=line, role=role)
        member = find_staff(rulebook, sender) if found.why == "not_assigned" else None
        if member is not None:
            b.to_member(member, "staff/not_assigned", line=line, report=verb == Verb.REPORT)
        return _decision(b, attachments, f"refused: {verb}", acted=False)
    if isinstance(found, Refused):
        b.alert("command_wrong_state", sender=sender, line=line, role=role)
        member = find_staff(rulebook, sender)
        if member is not None:
            b.to_member(member, "staff/command_wrong_state", line=line)
        return _decision(b, attachments, f"refused in {case.state}: {verb}", acted=False)
    b.case_documents, b.report_documents = case_documents, report_documents
    perform(b, found, facts.now)
    if not proof.how and _changes_something(b):
        fresh = Builder(case, role, sender, rulebook, office, first_event=first, facts=facts, command=b.command)
        return _ask_to_confirm(fresh, attachments, verb, "" if verb == Verb.REPORT else line, proof, report_documents)
    return _decision(b, attachments, str(verb), acted=True)   # with proof, or one that changes nothing


def _changes_something(b: Builder) -> bool:
    """What a command without proof must not do before it is confirmed: change the case, open one,
    ask for money or mail anyone. ADDITIONAL without a question only tells the party on record how
    to write it (the same answer a plain message gets), so it needs no confirmation."""
    if b.command is not None and b.command.verb == Verb.ADDITIONAL and b.opens is None and not b.updates:
        return False
    return bool(b.updates or b.state != b.case.state or b.replies or b.payment is not None or b.opens is not None
                or b.delivery is not None)


def address_on_record(case: CaseView, role: str, sender: str, rulebook: Rulebook) -> str:
    """Where a request to confirm goes: the case's own address for the role, else the staff list's."""
    if role == Role.REQUESTOR:
        return case.requestor_email.lower()
    if role == Role.PATIENT:
        return case.patient_email
    if role == Role.SPECIALIST:
        return case.specialist_email or ""
    member = find_staff(rulebook, sender)
    return str(member.email).lower() if member is not None else ""


def _ask_to_confirm(b: Builder, attachments, verb: Verb, line: str, proof: Proof,
                    report_documents: tuple[tuple[str, str], ...]) -> Decision:
    """Nothing happens yet: the address on record is asked, once per command, to confirm it."""
    case, now = b.case, b.facts.now
    address = address_on_record(case, b.role, b.sender, b.rulebook)
    if verb != Verb.REPORT and (address, line) in proof.awaiting:   # each report mail may carry a new PDF
        b.events.append(("confirmation_already_requested", {"verb": str(verb), "role": str(b.role)}))
        return _decision(b, attachments, f"awaiting confirmation: {verb}", acted=False)
    expires = now + timedelta(days=b.office.confirmation_days)
    extra = {"line": line, "verb": str(verb), "asked_by": b.sender,
             "expires": expires.astimezone(b.office.zone).strftime("%Y-%m-%d %H:%M"),
             "files": [name for _, name in report_documents]}
    if b.role in PARTIES:
        b.send(ReplySpec("requestor/confirm_command", (address,), case.language, b.ctx(case.language, **extra)))
    else:
        b.to_member(find_staff(b.rulebook, address), "staff/confirm_command", **extra)
    b.events.append(("confirmation_requested", {"verb": str(verb), "role": str(b.role), "to": address}))
    decision = _decision(b, attachments, f"confirmation requested: {verb}", acted=False)
    return replace(decision, confirmation={"verb": str(verb), "line": line, "role": str(b.role), "address": address,
                                           "expires_at": expires})


def _implicit_verb(role: str, report_documents: tuple[tuple[str, str], ...],
                   parsed: Command | Unparsed | None) -> Verb | None:
    """A message that is a command by what it is: a specialist's report PDF (no command line);
    anything the secretariat answers to our treatment forward (its words are for the patient)."""
    if role == Role.SECRETARIAT:
        return Verb.RELAY
    if role == Role.SPECIALIST and report_documents and parsed is None:
        return Verb.REPORT
    return None


def _not_understood(b: Builder, parsed: Unparsed, attachments) -> Decision:
    if parsed.problem == "not_allowed":
        b.alert("command_not_allowed", sender=b.sender, line=parsed.line, role=b.role)
        return _decision(b, attachments, f"refused: {parsed.verb}", acted=False)
    member = find_staff(b.rulebook, b.sender)
    if member is not None:
        b.to_member(member, "staff/command_not_understood", line=parsed.line, usage=parsed.usage, verb=parsed.verb,
                    case_ref_hint=b.case.ref)
    return _decision(b, attachments, f"not understood: {parsed.verb}", acted=False)


def _decision(b: Builder, attachments: tuple[AssessedAttachment, ...], command: str, *, acted: bool) -> Decision:
    """A refused or unreadable command changes nothing on the case; an accepted one writes its
    columns, clears the open findings (as every accepted command always has) and files its
    attachments (a report, say) as case documents."""
    patch = CasePatch()
    if acted and b.opens is not None:
        return _opening(b, attachments, command)
    if acted:
        patch = patch.set(**b.updates, findings=[], **({"state": b.state} if b.state != b.case.state else {}))
    case = b.case
    return Decision(
        disposition=Disposition.FILED, case_ref=case.ref, new_case=False, routed_by="", sender_role=b.role,
        state_before=case.state, state_after=b.state, language=case.language, form=dict(case.form),
        consent=dict(case.consent), condition_id=case.condition_id, attachments=attachments, findings=(),
        replies=tuple(b.replies), events=tuple(b.events), patch=patch, payment=b.payment, command=command,
        filed=tuple(a.sha256 for a in attachments if not a.duplicate) if acted else (),
        delivery=b.delivery if acted else None)


def _opening(b: Builder, attachments: tuple[AssessedAttachment, ...], command: str) -> Decision:
    """A command that opens a new case linked to this one (ADDITIONAL): the decision is the new case's;
    the message and its files are filed there, and the earlier case is left as it was."""
    new = b.opens
    return Decision(
        disposition=Disposition.FILED, case_ref=None, new_case=True, routed_by="additional", sender_role=b.role,
        state_before=None, state_after=new["state"], language=new["language"], form=dict(new["form"]),
        consent=dict(new["consent"]), condition_id=new["condition_id"], attachments=attachments, findings=(),
        replies=tuple(b.replies), events=tuple(b.events), patch=CasePatch(**new), command=command,
        filed=tuple(a.sha256 for a in attachments if not a.duplicate))
