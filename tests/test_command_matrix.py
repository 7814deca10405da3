"""Every command, from every role, in every state: acted on only where the rules say."""

from datetime import datetime, timezone

import pytest

from mailbot.parse import ParsedMessage
from mailbot.rulebook import default_rules_dir, load_rulebook
from mailbot.workflow.commands import parse_command
from mailbot.workflow.intake import Office
from mailbot.workflow.model import CaseView
from mailbot.workflow.staff import STATE_OF, StaffFacts, decide_command

RULES = load_rulebook(default_rules_dir())
OFFICE = Office("Office", "so@hospital.example.org", ("en", "it"),
                payment={"beneficiary": "H", "iban": "IT60X0542811101000000123456", "bic": "BPMOIT22XXX"})
NOW = datetime(2026, 11, 23, 10, tzinfo=timezone.utc)
STATES = ("awaiting_documents", "in_triage", "awaiting_payment", "with_specialist", "report_sent", "rejected",
          "cancelled", "expired")
SENDERS = {"triage": "francesca.rinaldi@example.org", "admin": "laura.fontana@example.org",
           "specialist": "giulia.romano@example.org", "requestor": "maria@example.net",
           "patient": "maria.patient@example.net"}
LINES = {"APPROVE": "APPROVE", "MISSING": "MISSING: PET-CT", "REJECT": "REJECT: out of scope", "PAID": "PAID",
         "DECLINE": "DECLINE: on leave", "CONSULT": "CONSULT: histological review", "CANCEL": "CANCEL",
         "YES": "YES", "NO": "NO"}
ALLOWED = {"APPROVE": {"triage"}, "MISSING": {"triage", "specialist"}, "REJECT": {"triage"}, "PAID": {"admin"},
           "DECLINE": {"specialist"}, "CONSULT": {"specialist"}, "CANCEL": {"requestor", "patient"},
           "YES": {"requestor", "patient"}, "NO": {"requestor", "patient"}}


def case(state: str) -> CaseView:
    return CaseView(ref="SO-2026-00001", state=state, language="en", requestor_email="maria@example.net",
                    form={"patient_name": "Maria Rossi", "patient_email": "maria.patient@example.net",
                          "requestor_role": "patient"}, consent={}, condition_id="breast_cancer",
                    specialist_email="giulia.romano@example.org" if state == "with_specialist" else None,
                    amount_due="500.00", pending_extra={"what": "x", "item": "histological_review", "price": "300.00",
                                                        "specialist": "giulia.romano@example.org"})


def message(sender: str, line: str) -> ParsedMessage:
    return ParsedMessage("<m@x>", "", sender, "", (), (), "Re: case", None, "", (), line, ())


@pytest.mark.parametrize("verb", sorted(LINES))
@pytest.mark.parametrize("role", sorted(SENDERS))
@pytest.mark.parametrize("state", STATES)
def test_command_acted_on_only_by_its_role_in_its_state(verb, role, state):
    parsed = parse_command(LINES[verb])
    if role in ("requestor", "patient"):
        from mailbot.workflow.commands import REQUESTOR_VERBS, Unparsed
        parsed = parse_command(LINES[verb], REQUESTOR_VERBS)
        if isinstance(parsed, Unparsed):
            parsed = None   # a patient's "APPROVE" is ordinary mail, filed as such
    d = decide_command(message(SENDERS[role], LINES[verb]), (), case(state), role, parsed, RULES, OFFICE,
                       StaffFacts(now=NOW, open_cases={}), (("sha", "histology_report.pdf"),))
    acted = d is not None and (d.state_after != state or bool(d.case_updates) or d.payment is not None)
    states = ("with_specialist",) if (verb, role) == ("MISSING", "specialist") else STATE_OF[verb]
    should = role in ALLOWED[verb] and state in states
    assert acted == should, (verb, role, state, d and d.command)
    if d is not None and not should and role not in ("requestor", "patient"):
        # refused staff commands reach the admins, and nothing reaches the patient
        assert not any(r.purpose.startswith("requestor/") for r in d.replies)
        assert any(r.purpose == "admin/notice" for r in d.replies) or d.command.startswith("not understood")
