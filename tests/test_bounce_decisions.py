"""A bounce of our own mail, decided without a database: who bounced, what is paused, who is told,
where a staff case goes next; and the admin's EMAIL command."""

from __future__ import annotations

from test_decide import NOW, OFFICE, RULES, case, mail   # noqa: F401
from mailbot.workflow.commands import parse_command
from mailbot.workflow.decide import decide
from mailbot.workflow.envelope import open_envelope
from mailbot.workflow.model import Facts, SentMail, Undelivered
from servers.smtp_sink import delivery_status_notification

MARIA, ROMANO = "maria@example.net", "giulia.romano@example.org"
ADMINS = {"laura.fontana@example.org", "office.desk@example.org"}
OURS = "<SO-2026-00001.abcdef.0@hospital.example.org>"


def bounce(rcpt: str, code: int = 550, text: str = "5.1.1 <x>: user unknown") -> bytes:
    original = f"From: {OFFICE.address}\r\nTo: {rcpt}\r\nMessage-ID: {OURS}\r\nSubject: x\r\n\r\nbody".encode()
    return delivery_status_notification(OFFICE.address, rcpt, code, text, original)


def facts_for(view, rcpt, purpose="requestor/missing_documents", undelivered=()) -> Facts:
    return Facts(bounced=SentMail(OURS, view.ref, (rcpt,), purpose), bounced_case=view,
                 undelivered={view.ref: undelivered} if undelivered else {})


def test_a_patients_permanent_bounce_pauses_the_address_and_tells_each_admin_never_the_patient():
    view = case()
    d = decide(open_envelope(bounce(MARIA), RULES, OFFICE), facts_for(view, MARIA), RULES, OFFICE, NOW)
    assert d.disposition == "automatic" and d.case_ref == view.ref
    assert {r.to[0] for r in d.replies} == ADMINS and {r.context["kind"] for r in d.replies} == {"address_bounced"}
    (paused,) = d.delivery.pause
    assert (paused.address, paused.role, paused.status, paused.message_id) == (MARIA, "requestor", "5.1.1", OURS)
    kind, detail = d.events[0]
    assert kind == "delivery_report" and detail["diagnostic"].endswith("user unknown") and "body" not in str(detail)


def test_a_temporary_failure_is_recorded_only_and_a_second_bounce_tells_nobody_again():
    view = case()
    later = decide(open_envelope(bounce(MARIA, 452, "4.2.2 mailbox full"), RULES, OFFICE),
                   facts_for(view, MARIA), RULES, OFFICE, NOW)
    assert later.replies == () and later.delivery is None and later.events[0][1]["severity"] == "temporary"
    again = decide(open_envelope(bounce(MARIA), RULES, OFFICE),
                   facts_for(view, MARIA, undelivered=(Undelivered(MARIA, "requestor"),)), RULES, OFFICE, NOW)
    assert again.replies == () and again.delivery is None


def test_the_case_specialists_dead_address_sends_the_case_to_the_next_specialist():
    view = case(state="with_specialist", specialist_email=ROMANO)
    d = decide(open_envelope(bounce(ROMANO), RULES, OFFICE),
               facts_for(view, ROMANO, purpose="specialist/new_case"), RULES, OFFICE, NOW)
    kinds = [r.context.get("kind") for r in d.replies if r.purpose == "admin/notice"]
    assert kinds.count("staff_address_bounced") == len(ADMINS)
    new = [r for r in d.replies if r.purpose == "specialist/new_case"]
    assert len(new) == 1 and new[0].to[0] != ROMANO
    assert d.patch.specialist_email == new[0].to[0] and ROMANO in d.patch.declined_by
    assert all(ROMANO not in r.to for r in d.replies)


def test_replies_to_a_paused_address_are_withheld_and_recorded():
    view = case()
    facts = Facts(by_reference=view, undelivered={view.ref: (Undelivered(MARIA, "requestor"),)})
    d = decide(open_envelope(mail(MARIA, f"[{view.ref}] more", "Another file."), RULES, OFFICE), facts, RULES,
               OFFICE, NOW)
    assert all(MARIA not in r.to for r in d.replies)
    assert any(kind == "reply_withheld" for kind, _ in d.events)


def test_the_email_command_is_strict_so_ordinary_words_stay_words():
    assert parse_command("EMAIL patient maria@example.org").args == ("patient", "maria@example.org")
    assert parse_command("Email received, thank you") is None
    assert parse_command("EMAIL nobody maria@example.org") is None


def test_a_late_bounce_for_an_address_corrected_since_is_recorded_only():
    view = case()    # the case's address is MARIA now; our mail went to the old one
    d = decide(open_envelope(bounce("old@example.net"), RULES, OFFICE), facts_for(view, "old@example.net"),
               RULES, OFFICE, NOW)
    assert d.case_ref == view.ref and d.replies == () and d.delivery is None
    assert d.events[0][1]["role"] == "stranger" and d.events[0][1]["severity"] == "permanent"
