"""Who may act on a case, end to end through `mailbot once` against Dovecot and the SMTP sink, on
SQLite and PostgreSQL: a command acts at once only with proof of its sender (a reply to our own
mail to that address about that case, or a pass from our receiving server); otherwise the address
on record is asked to confirm it, and only its CONFIRM makes it act, within 7 days."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from mailbot.store.models import Case, PendingCommandRecord
from office import Office, patient_mail, plain_text
from test_end_to_end import BREAST_FORM, MARIA, breast_documents
from test_staff_workflow import ADMINS, ROMANO, TRIAGE, exchange, only, reply_to
from pdf_factory import filled_request_form, text_pdf

PATIENT = "maria.rossi@patient.example.net"
OURS = "mx.hospital.example.org"


@pytest.fixture
def office(tmp_path, imap_account, smtp_sink, db_url, monkeypatch) -> Office:
    return Office(tmp_path, imap_account, smtp_sink, db_url, monkeypatch)


def case_row(office) -> Case:
    with office.app().sessions() as s:
        return s.execute(select(Case).order_by(Case.id.desc()).limit(1)).scalar_one()


def in_triage(office):
    mails = exchange(office, patient_mail(MARIA, "Second opinion", "Attached.",
                                          [("request_form.pdf", filled_request_form(**BREAST_FORM)),
                                           *breast_documents()]))
    return only(mails, TRIAGE), only(mails, PATIENT)


def test_a_forged_cancel_asks_the_real_patient_and_only_her_confirm_cancels(office):
    _triage, _ack = in_triage(office)
    ref = case_row(office).ref
    forged = patient_mail(MARIA, f"[{ref}] cancel", "CANCEL")   # a fresh mail: anyone can write this From
    mails = exchange(office, forged)
    request = only(mails, PATIENT)
    assert len(mails) == 1 and case_row(office).state == "in_triage"
    text = " ".join(plain_text(request).split())
    assert ref in request["Subject"] and "CANCEL" in text and PATIENT in text and "CONFIRM" in text
    assert "7 days" in text
    # the same forged command again: she is not asked twice
    assert exchange(office, patient_mail(MARIA, f"[{ref}] cancel", "CANCEL")) == []
    # a CONFIRM that is not a reply to the request proves nothing
    mails = exchange(office, patient_mail(MARIA, f"[{ref}] confirm", "CONFIRM"))
    assert case_row(office).state == "in_triage" and not any("cancelled" in m["Subject"] for m in mails)
    mails = exchange(office, reply_to(request, MARIA, "CONFIRM\n\nOn Monday the office wrote:\n> CANCEL"))
    assert case_row(office).state == "cancelled"
    assert "has been cancelled" in plain_text(only(mails, PATIENT))
    # answered once: a second CONFIRM to the same request does nothing more
    assert [m for m in exchange(office, reply_to(request, MARIA, "CONFIRM")) if "cancelled" in m["Subject"]] == []


def test_a_forged_triage_approve_asks_triage_only_and_a_threaded_one_acts(office):
    triage_mail, _ack = in_triage(office)
    ref = case_row(office).ref
    mails = exchange(office, patient_mail(TRIAGE, f"[{ref}]", "APPROVE"))
    assert [m["To"] for m in mails] == [TRIAGE] and "CONFIRM" in plain_text(mails[0])
    assert case_row(office).state == "in_triage"
    mails = exchange(office, reply_to(triage_mail, TRIAGE, "APPROVE"))     # a genuine reply: at once
    assert case_row(office).state == "awaiting_payment"
    assert "IT60X0542811101000000123456" in plain_text(only(mails, PATIENT))


def test_a_reply_to_mail_sent_to_someone_else_is_no_proof(office):
    _triage, ack = in_triage(office)          # the patient's acknowledgement, answered by "triage"
    mails = exchange(office, reply_to(ack, TRIAGE, "APPROVE"))
    assert [m["To"] for m in mails] == [TRIAGE] and case_row(office).state == "in_triage"


def test_a_pass_from_our_server_acts_and_a_forged_one_below_our_fail_does_not(office):
    with open(office.config, "a", encoding="utf-8") as handle:
        handle.write(f'\n[security]\nauthserv_id = "{OURS}"\n')
    _triage, _ack = in_triage(office)
    ref = case_row(office).ref
    forged = (f"Authentication-Results: {OURS}; dkim=fail header.d=example.org\r\n"
              f"Authentication-Results: {OURS}; dkim=pass header.d=example.org\r\n").encode()
    mails = exchange(office, forged + patient_mail(TRIAGE, f"[{ref}]", "APPROVE"))
    assert [m["To"] for m in mails] == [TRIAGE] and case_row(office).state == "in_triage"
    signed = f"Authentication-Results: {OURS}; dkim=pass header.d=example.org\r\n".encode()
    exchange(office, signed + patient_mail(TRIAGE, f"[{ref}]", "APPROVE"))
    assert case_row(office).state == "awaiting_payment"


def test_strict_mode_refuses_a_forged_pass_below_our_fail(office):
    with open(office.config, "a", encoding="utf-8") as handle:
        handle.write(f'\n[security]\nrequire_authenticated_staff = true\nauthserv_id = "{OURS}"\n')
    triage_mail, _ack = in_triage(office)
    forged = (f"Authentication-Results: {OURS}; dkim=fail header.d=example.org\r\n"
              f"Authentication-Results: {OURS}; dkim=pass header.d=example.org\r\n").encode()
    mails = exchange(office, forged + reply_to(triage_mail, TRIAGE, "APPROVE"))
    assert {m["To"] for m in mails} == ADMINS and case_row(office).state == "in_triage"


def test_an_expired_confirmation_does_nothing(office):
    _triage, _ack = in_triage(office)
    ref = case_row(office).ref
    request = only(exchange(office, patient_mail(MARIA, f"[{ref}] cancel", "CANCEL")), PATIENT)
    with office.app().sessions() as s:   # as if asked eight days ago
        record = s.execute(select(PendingCommandRecord)).scalar_one()
        record.requested_at -= timedelta(days=8)
        record.expires_at -= timedelta(days=8)
        s.commit()
    mails = exchange(office, reply_to(request, MARIA, "CONFIRM"))
    assert mails == [] and case_row(office).state == "in_triage"
    with office.app().sessions() as s:
        assert s.execute(select(PendingCommandRecord.status)).scalar_one() == "expired"


def test_an_admins_paid_by_fresh_mail_works_through_the_confirmation(office):
    triage_mail, _ack = in_triage(office)
    exchange(office, reply_to(triage_mail, TRIAGE, "APPROVE"))
    ref = case_row(office).ref
    request = only(exchange(office, patient_mail("laura.fontana@example.org", f"Payment {ref}", "PAID")),
                   "laura.fontana@example.org")
    assert case_row(office).state == "awaiting_payment"
    mails = exchange(office, reply_to(request, "laura.fontana@example.org", "Confirm"))
    assert case_row(office).state == "with_specialist" and only(mails, ROMANO)


def test_only_the_assigned_specialist_sends_the_report_even_after_all_declined(office):
    from test_staff_workflow import FERRARI, RICCI, case_with_specialist
    specialist = case_with_specialist(office)
    second = only(exchange(office, reply_to(specialist, ROMANO, "DECLINE: on leave")), FERRARI)
    third = only(exchange(office, reply_to(second, FERRARI, "DECLINE: conflict of interest")), RICCI)
    exchange(office, reply_to(third, RICCI, "DECLINE: not my field"))
    assert case_row(office).specialist_email is None
    report = [("second_opinion_report.pdf", text_pdf("Second opinion report\nDiagnosis confirmed."))]
    mails = exchange(office, reply_to(third, RICCI, "My report after all.", report))
    assert case_row(office).state == "with_specialist"
    polite = only(mails, RICCI)
    assert "not assigned to you" in " ".join(plain_text(polite).split())
    assert PATIENT not in {m["To"] for m in mails}


def test_a_confirmed_report_goes_out_with_its_pdf(office):
    from test_staff_workflow import case_with_specialist
    from office import attachment_names
    case_with_specialist(office)
    ref = case_row(office).ref
    report = [("second_opinion_report.pdf", text_pdf("Second opinion report\nDiagnosis confirmed."))]
    request = only(exchange(office, patient_mail(ROMANO, f"[{ref}] report", "Attached.", report)), ROMANO)
    assert "second_opinion_report.pdf" in plain_text(request) and case_row(office).state == "with_specialist"
    mails = exchange(office, reply_to(request, ROMANO, "CONFIRM"))
    assert case_row(office).state == "report_sent"
    assert attachment_names(only(mails, PATIENT)) == ["second_opinion_report.pdf"]


def test_a_stranger_gets_the_same_reply_for_an_existing_and_a_made_up_ref(office):
    in_triage(office)
    ref = case_row(office).ref
    stranger = "Nosy <nosy@elsewhere.example.com>"
    body = "Hello, what is the state of this request?"
    replies = []
    for named in (ref, "SO-2026-00077"):
        (reply,) = exchange(office, patient_mail(stranger, f"About {named}", body))
        replies.append(reply)
    real, made_up = replies
    assert real["Subject"] == made_up["Subject"] and plain_text(real) == plain_text(made_up)
    for reply in replies:
        raw = reply.as_string()
        assert "SO-20" not in raw and reply["X-Mailbot-Case"] is None and "SO-" not in reply["Message-ID"]
    with office.app().sessions() as s:
        assert [c.ref for c in s.execute(select(Case)).scalars()] == [ref]   # no case opened
    # a newly opened case's ref is not revealed to a stranger either: the next case gets the next number
    mails = exchange(office, patient_mail("Anna <anna@patient.example.net>", "Second opinion", "Documents.",
                                          breast_documents()[:1]))
    assert only(mails, "anna@patient.example.net")["Subject"].startswith(f"[{ref[:-5]}{int(ref[-5:]) + 1:05d}]")


# -- no floods ----------------------------------------------------------------------------------

def test_fifty_identical_requests_make_one_case_and_one_triage_mail(office):
    request = [("request_form.pdf", filled_request_form(**BREAST_FORM)), *breast_documents()]
    for _ in range(50):
        office.deliver(patient_mail(MARIA, "Second opinion", "Attached.", request))
    assert office.once() == 0
    mails = office.new_replies()
    with office.app().sessions() as s:
        cases = list(s.execute(select(Case)).scalars())
    assert len(cases) == 1 and cases[0].state == "in_triage"
    triage = [m for m in mails if "triage" in m["Subject"].lower() or m["To"] in (TRIAGE, "roberto.moretti@example.org")]
    assert sorted(m["To"] for m in triage) == sorted([TRIAGE, "roberto.moretti@example.org"])   # one each
    to_patient = [m for m in mails if m["To"] == PATIENT]
    assert len(to_patient) == 2   # "complete" for the first, one "received" for all the copies
    assert not [m for m in mails if m["To"] in ADMINS]


def test_a_flood_of_forged_commands_tells_each_staff_member_once_per_state(office):
    _triage, _ack = in_triage(office)
    ref = case_row(office).ref
    for n in range(20):   # the admin "PAID" in the wrong state, again and again: one note, one alert each
        office.deliver(patient_mail("laura.fontana@example.org", f"[{ref}] paid", "PAID"))
    for n in range(20):   # twenty different forged approvals: confirmations, at most the daily cap
        office.deliver(patient_mail(TRIAGE, f"[{ref}]", f"APPROVE oncological s{n}"))
    assert office.once() == 0
    mails = office.new_replies()
    to = [m["To"] for m in mails]
    assert to.count("office.desk@example.org") == 1 and to.count("laura.fontana@example.org") == 2
    # the new-case mail counts too: ten mails about this case to triage today, then silence
    assert to.count(TRIAGE) == 9 and case_row(office).state == "in_triage"
    with office.app().sessions() as s:
        events = [e.kind for e in s.execute(select(Case)).scalar_one().events]
    assert events.count("notice_suppressed") == 19 * 3 + 11   # what was not sent is on the case


def test_the_case_view_shows_what_waits_for_confirmation(office, capsys):
    _triage, _ack = in_triage(office)
    ref = case_row(office).ref
    exchange(office, patient_mail(MARIA, f"[{ref}] cancel", "CANCEL"))
    assert office.cli("case", ref) == 0
    out = capsys.readouterr().out
    assert "Commands waiting for confirmation:" in out and f"'CANCEL' as requestor: {PATIENT} asked, until" in out
