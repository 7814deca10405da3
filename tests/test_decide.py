"""The whole decision as a pure function: decide(envelope, facts, rulebook, office, now), with the
facts written by hand, no database, no server."""

from __future__ import annotations

from datetime import datetime, timezone
from email.message import EmailMessage
from zoneinfo import ZoneInfo

from mailbot.rulebook import default_rules_dir, load_rulebook
from mailbot.schedule.workdays import WorkCalendar
from mailbot.workflow.decide import decide
from mailbot.workflow.envelope import open_envelope
from mailbot.workflow.model import CaseView, Facts, Office, StoredDocument
from pdf_factory import text_pdf

RULES = load_rulebook(default_rules_dir())
OFFICE = Office("Office", "so@hospital.example.org", ("en", "it"), zone=ZoneInfo("Europe/Rome"),
                calendar=WorkCalendar.from_rulebook(RULES),
                payment={"beneficiary": "H", "iban": "IT60X0542811101000000123456", "bic": "BPMOIT22XXX"})
NOW = datetime(2026, 11, 23, 10, tzinfo=timezone.utc)   # a Monday
MARIA, TRIAGE, ROMANO = "maria@example.net", "francesca.rinaldi@example.org", "giulia.romano@example.org"
FORM = {"patient_name": "Maria Rossi", "patient_email": MARIA, "requestor_role": "patient", "delivery": "email"}


def mail(sender: str, subject: str, body: str, files=()) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"], msg["Message-ID"] = sender, OFFICE.address, subject, "<m1@example.net>"
    msg.set_content(body)
    for name, data in files:
        msg.add_attachment(data, maintype="application", subtype="pdf", filename=name)
    return bytes(msg)


def case(ref="SO-2026-00001", state="awaiting_documents", **kw) -> CaseView:
    return CaseView(ref=ref, state=state, language="en", requestor_email=MARIA, form=dict(FORM), consent={},
                    condition_id="breast_cancer", **kw)


def test_the_senders_one_open_case_takes_a_fresh_mail_and_the_decision_is_repeatable():
    envelope = open_envelope(mail(MARIA, "more", "Here is the histology."), RULES, OFFICE)
    facts = Facts(sender_open=(case(),))
    first = decide(envelope, facts, RULES, OFFICE, NOW)
    assert first.case_ref == "SO-2026-00001" and first.routed_by == "sender" and not first.new_case
    assert decide(envelope, facts, RULES, OFFICE, NOW).as_dict() == first.as_dict()


def test_an_update_goes_back_at_the_update_price_only_while_the_earlier_specialist_has_room():
    update = case(ref="SO-2026-00002", state="in_triage", parent_ref="SO-2026-00001")
    parent = case(state="report_sent", specialist_email=ROMANO)
    envelope = open_envelope(mail(TRIAGE, "Re: [SO-2026-00002]", "APPROVE"), RULES, OFFICE)
    answers_ours = frozenset({"SO-2026-00002"})   # a reply to our mail to triage about this case
    with_room = decide(envelope, Facts(by_reference=update, parents={"SO-2026-00001": parent}, threaded=answers_ours),
                       RULES, OFFICE, NOW)
    assert with_room.command == "APPROVE" and with_room.patch.amount_due == "350.00"
    full = Facts(by_reference=update, parents={"SO-2026-00001": parent}, specialist_loads={ROMANO: 12},
                 threaded=answers_ours)
    assert decide(envelope, full, RULES, OFFICE, NOW).patch.amount_due == "500.00"


def test_a_specialists_pdf_is_the_report_only_where_one_is_due():
    report = [("second_opinion_report.pdf", text_pdf("Second opinion report\nDiagnosis confirmed."))]
    envelope = open_envelope(mail(ROMANO, "Re: [SO-2026-00001]", "Attached.", report), RULES, OFFICE)
    due = decide(envelope, Facts(by_reference=case(state="with_specialist", specialist_email=ROMANO),
                                 threaded=frozenset({"SO-2026-00001"})), RULES, OFFICE, NOW)
    assert due.command == "REPORT" and due.state_after == "report_sent"
    assert due.patch.report_sent_at == NOW and due.patch.closed_at == NOW and len(due.filed) == 1
    assert [r.purpose for r in due.replies][:1] == ["requestor/report"]
    early = decide(envelope, Facts(by_reference=case(state="awaiting_payment")), RULES, OFFICE, NOW)
    assert early.command == "refused in awaiting_payment: REPORT"
    assert not early.patch and early.filed == () and early.state_after == "awaiting_payment"


def test_the_daily_cap_drops_requestor_replies_and_says_so():
    envelope = open_envelope(mail(MARIA, "Re: [SO-2026-00001]", "One more question"), RULES, OFFICE)
    facts = Facts(by_reference=case(state="in_triage"), replies_today={MARIA: OFFICE.max_replies_per_day})
    d = decide(envelope, facts, RULES, OFFICE, NOW)
    assert d.replies == () and ("reply_suppressed", {"purpose": "requestor/received",
                                                     "why": "daily cap of automatic replies reached"}) in d.events


def test_a_complete_case_stamps_the_triage_clock_from_the_table():
    docs = tuple(StoredDocument(f"{t}.pdf", t, (t,), True) for t in ("oncologist_report", "histology_report",
                                                                     "mammography_report", "request_form"))
    facts = Facts(by_reference=case(documents=docs))
    envelope = open_envelope(mail(MARIA, "Re: [SO-2026-00001]", "patient_birth_date: 1968-05-14\n"
                                  "condition: breast cancer\n"), RULES, OFFICE)
    d = decide(envelope, facts, RULES, OFFICE, NOW)
    assert d.state_after == "in_triage" and d.patch.completed_at == NOW and d.patch.state == "in_triage"


# -- proof: a command acts at once only with proof of its sender, else the address on record confirms

def test_a_command_without_proof_asks_the_address_on_record_and_changes_nothing():
    envelope = open_envelope(mail(MARIA, "[SO-2026-00001] cancel", "CANCEL"), RULES, OFFICE)
    d = decide(envelope, Facts(by_reference=case(state="in_triage")), RULES, OFFICE, NOW)
    assert d.command == "confirmation requested: CANCEL" and not d.patch and d.state_after == "in_triage"
    assert [(r.purpose, r.to) for r in d.replies] == [("requestor/confirm_command", (MARIA,))]
    assert d.confirmation == {"verb": "CANCEL", "line": "CANCEL", "role": "requestor", "address": MARIA,
                              "expires_at": datetime(2026, 11, 30, 10, tzinfo=timezone.utc)}
    asked = Facts(by_reference=case(state="in_triage"), awaiting={"SO-2026-00001": ((MARIA, "CANCEL"),)})
    again = decide(envelope, asked, RULES, OFFICE, NOW)
    assert again.replies == () and again.confirmation is None and not again.patch   # asked once only


def test_a_triage_command_without_proof_is_confirmed_by_triage_only():
    envelope = open_envelope(mail(TRIAGE, "[SO-2026-00001]", "APPROVE"), RULES, OFFICE)
    d = decide(envelope, Facts(by_reference=case(state="in_triage")), RULES, OFFICE, NOW)
    assert [(r.purpose, r.to) for r in d.replies] == [("staff/confirm_command", (TRIAGE,))]
    assert not d.patch and d.payment is None


def test_a_pass_from_our_server_is_proof_and_strict_mode_wants_it_from_staff():
    import dataclasses
    office = dataclasses.replace(OFFICE, authserv_id="mx.hospital.example.org")
    signed = b"Authentication-Results: mx.hospital.example.org; dkim=pass header.d=example.org\r\n"
    facts = Facts(by_reference=case(state="in_triage"))
    acted = decide(open_envelope(signed + mail(TRIAGE, "[SO-2026-00001]", "APPROVE"), RULES, office), facts,
                   RULES, office, NOW)
    assert acted.command == "APPROVE" and acted.state_after == "awaiting_payment"
    strict = dataclasses.replace(office, require_authenticated_staff=True)
    threaded = Facts(by_reference=case(state="in_triage"), threaded=frozenset({"SO-2026-00001"}))
    refused = decide(open_envelope(mail(TRIAGE, "[SO-2026-00001]", "APPROVE"), RULES, strict), threaded,
                     RULES, strict, NOW)
    assert refused.command == "unauthenticated: APPROVE" and not refused.patch and refused.confirmation is None


def _pending(**kw):
    from mailbot.workflow.model import PendingCommand
    base = dict(request_id="<SO-2026-00001.%s@hospital.example.org>" % ("a" * 22), case_ref="SO-2026-00001",
                verb="CANCEL", line="CANCEL", role="requestor", address=MARIA,
                expires_at=datetime(2026, 11, 30, 10, tzinfo=timezone.utc))
    return PendingCommand(**{**base, **kw})


def test_confirm_from_the_address_asked_acts_and_late_or_other_answers_do_not():
    confirm = open_envelope(mail(MARIA, "Re: [SO-2026-00001] Please confirm", "Confirm\n\n> CANCEL"), RULES, OFFICE)
    facts = Facts(by_thread=case(state="in_triage"), pending=_pending())
    d = decide(confirm, facts, RULES, OFFICE, NOW)
    assert d.command == "CANCEL" and d.state_after == "cancelled" and d.resolves == (_pending().request_id, "confirmed")
    late = decide(confirm, facts, RULES, OFFICE, datetime(2026, 12, 1, tzinfo=timezone.utc))
    assert not late.patch and late.replies == () and late.resolves == (_pending().request_id, "expired")
    used = decide(confirm, Facts(by_thread=case(state="in_triage"), pending=_pending(status="confirmed")),
                  RULES, OFFICE, NOW)
    assert not used.patch and used.resolves is None
    italian = open_envelope(mail(MARIA, "R: conferma", "CONFERMA"), RULES, OFFICE)
    assert decide(italian, facts, RULES, OFFICE, NOW).state_after == "cancelled"


def test_strict_mode_wants_the_pass_on_a_staff_confirmation_too():
    import dataclasses
    strict = dataclasses.replace(OFFICE, authserv_id="mx.hospital.example.org", require_authenticated_staff=True)
    pending = _pending(verb="APPROVE", line="APPROVE", role="triage", address=TRIAGE)
    confirm = mail(TRIAGE, "Re: Please confirm", "CONFIRM")
    facts = Facts(by_thread=case(state="in_triage"), pending=pending)
    refused = decide(open_envelope(confirm, RULES, strict), facts, RULES, strict, NOW)
    assert refused.command == "unauthenticated: APPROVE" and not refused.patch
    signed = b"Authentication-Results: mx.hospital.example.org; dkim=pass header.d=example.org\r\n" + confirm
    assert decide(open_envelope(signed, RULES, strict), facts, RULES, strict, NOW).state_after == "awaiting_payment"
