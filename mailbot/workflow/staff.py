"""Commands on an existing case -> Decision, through the table. Pure.

A command counts only from an address listed for its role (the case's own specialist, for a
specialist) and only in a state where the table has a row for it; anything else is refused:
filed as an event, shown to the admins, and the case is left exactly as it was.
"""

from __future__ import annotations

from mailbot.rulebook.models import Rulebook
from mailbot.workflow.commands import REQUESTOR_VERBS, STAFF_VERBS, Command, Unparsed, first_line, parse_command
from mailbot.workflow.context import admin_notices, case_context, find_staff, staff_language  # noqa: F401
from mailbot.workflow.effects import Builder, StaffFacts, perform
from mailbot.workflow.model import AssessedAttachment, CasePatch, CaseView, Decision, Office
from mailbot.workflow.transitions import Disposition, Refused, Role, Verb, transition_for

__all__ = ["StaffFacts", "admin_notices", "case_context", "decide_command", "find_staff", "read_command",
           "staff_language"]


def read_command(text: str, role: str) -> Command | Unparsed | None:
    line = first_line(text)
    if role in STAFF_VERBS:
        return parse_command(line)
    result = parse_command(line, REQUESTOR_VERBS)
    return None if isinstance(result, Unparsed) else result   # patients' words are not commands


def decide_command(sender: str, attachments: tuple[AssessedAttachment, ...], case: CaseView, role: str,
                   parsed: Command | Unparsed | None, rulebook: Rulebook, office: Office, facts: StaffFacts,
                   case_documents: tuple[tuple[str, str], ...], report_documents: tuple[tuple[str, str], ...] = (),
                   *, authenticated: bool = True) -> Decision | None:
    """None when the message carries no command (the caller files it as ordinary mail)."""
    first = ("staff_message" if role in STAFF_VERBS else "message_received",
             {"from_role": role, "attachments": [a.filename for a in attachments]})
    b = Builder(case, role, sender, rulebook, office, first_event=first, facts=facts,
                command=parsed if isinstance(parsed, Command) else None)
    is_report = role == Role.SPECIALIST and bool(report_documents) and parsed is None
    if isinstance(parsed, Unparsed):
        return _not_understood(b, parsed, attachments)
    if parsed is None and not is_report:
        return None
    verb = Verb.REPORT if is_report else Verb(parsed.verb)
    line = parsed.line if parsed is not None else verb
    if role in STAFF_VERBS and not authenticated:
        b.alert("command_unauthenticated", sender=sender, line=line, role=role)
        return _decision(b, attachments, f"unauthenticated: {verb}", acted=False)
    found = transition_for(case.state, verb, role)
    if role == Role.SPECIALIST and case.specialist_email and sender.lower() != case.specialist_email:
        found = Refused("role")     # another specialist cannot act on a case not theirs
    if isinstance(found, Refused) and found.why == "role":
        b.alert("command_not_allowed", sender=sender, line=line, role=role)
        return _decision(b, attachments, f"refused: {verb}", acted=False)
    if isinstance(found, Refused):
        b.alert("command_wrong_state", sender=sender, line=line, role=role)
        member = find_staff(rulebook, sender)
        if member is not None:
            b.to_member(member, "staff/command_wrong_state", line=line)
        return _decision(b, attachments, f"refused in {case.state}: {verb}", acted=False)
    b.case_documents, b.report_documents = case_documents, report_documents
    perform(b, found, facts.now)
    return _decision(b, attachments, str(verb), acted=True)


def _not_understood(b: Builder, parsed: Unparsed, attachments) -> Decision:
    if parsed.problem == "not_allowed":
        b.alert("command_not_allowed", sender=b.sender, line=parsed.line, role=b.role)
        return _decision(b, attachments, f"refused: {parsed.verb}", acted=False)
    member = find_staff(b.rulebook, b.sender)
    if member is not None:
        b.to_member(member, "staff/command_not_understood", line=parsed.line, usage=parsed.usage,
                    case_ref_hint=b.case.ref)
    return _decision(b, attachments, f"not understood: {parsed.verb}", acted=False)


def _decision(b: Builder, attachments: tuple[AssessedAttachment, ...], command: str, *, acted: bool) -> Decision:
    """A refused or unreadable command changes nothing on the case; an accepted one writes its
    columns, clears the open findings (as every accepted command always has) and files its
    attachments (a report, say) as case documents."""
    patch = CasePatch()
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
