"""Staff work end to end: triage, payment, routing, report, decline, cancel, by real email."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from mailbot.store.models import Case, Payment
from office import Office, attachment_names, patient_mail, plain_text
from pdf_factory import filled_request_form, text_pdf
from test_end_to_end import BREAST_FORM, MARIA, breast_documents

TRIAGE = "francesca.rinaldi@example.org"
ADMINS = {"laura.fontana@example.org", "office.desk@example.org"}
ADMIN = "laura.fontana@example.org"
ROMANO, FERRARI, RICCI = "giulia.romano@example.org", "elena.ferrari@example.org", "luca.ricci@example.org"
REPORT = text_pdf("Second opinion report - 2026-11-25\nDiagnosis confirmed. Recommendation: primary surgery.")


@pytest.fixture
def office(tmp_path, imap_account, smtp_sink, monkeypatch) -> Office:
    return Office(tmp_path, imap_account, smtp_sink, f"sqlite:///{tmp_path}/mailbot.db", monkeypatch)


@pytest.fixture
def office_any_db(tmp_path, imap_account, smtp_sink, monkeypatch, db_url):
    return Office(tmp_path, imap_account, smtp_sink, db_url, monkeypatch)


def state(office) -> Case:
    with office.app().sessions() as s:
        return s.execute(select(Case).order_by(Case.id.desc()).limit(1)).scalar_one()


def reply_to(mail, sender: str, body: str, attachments=()) -> bytes:
    return patient_mail(sender, f"Re: {mail['Subject']}", body, list(attachments), in_reply_to=mail["Message-ID"])


def exchange(office, raw: bytes) -> list:
    office.deliver(raw)
    assert office.once() == 0
    return office.new_replies()


def confirmed(office, raw: bytes, address: str) -> list:
    """A command without proof of its sender (an admin's PAID answers a mail sent to the patient):
    the office asks the address on record to confirm; its CONFIRM makes the command act."""
    request = only(exchange(office, raw), address)
    assert "CONFIRM" in plain_text(request) or "CONFERMA" in plain_text(request)
    return exchange(office, reply_to(request, address, "CONFIRM"))


def last_to(office, address: str):
    import email
    from email import policy
    sent = [email.message_from_bytes(m.content, policy=policy.default) for m in office.sink.messages]
    return [m for m in sent if m["To"] == address][-1]


def only(mails, to: str):
    found = [m for m in mails if m["To"] == to]
    assert len(found) == 1, [(m["To"], m["Subject"]) for m in mails]
    return found[0]


def case_in_triage(office, **form):
    mails = exchange(office, patient_mail(MARIA, "Second opinion", "Attached.",
                                          [("request_form.pdf", filled_request_form(**{**BREAST_FORM, **form})),
                                           *breast_documents()]))
    return only(mails, TRIAGE)


def case_with_specialist(office, **form):
    triage_mail = case_in_triage(office, **form)
    payment_mail = only(exchange(office, reply_to(triage_mail, TRIAGE, "APPROVE")), "maria.rossi@patient.example.net")
    mails = confirmed(office, reply_to(payment_mail, "Laura <laura.fontana@example.org>", "PAID"), ADMIN)
    return only(mails, ROMANO)


@pytest.mark.parametrize("delivery,amount", [("email", "500.00"), ("courier", "518.00")])
def test_approve_pay_route_report(office, delivery, amount):
    triage_mail = case_in_triage(office, delivery=delivery)
    mails = exchange(office, reply_to(triage_mail, "Dr Rinaldi <francesca.rinaldi@example.org>",
                                      "approve oncological\n\nOn Mon, 23 Nov 2026 the robot wrote:\n> REJECT: x"))
    payment = only(mails, "maria.rossi@patient.example.net")
    text = " ".join(plain_text(payment).split())
    assert f"EUR {amount}" in text and "IT60X0542811101000000123456" in text and "BPMOIT22XXX" in text
    case = state(office)
    assert case.state == "awaiting_payment" and case.amount_due == amount
    assert f"Payment reference: {case.ref}" in text

    mails = confirmed(office, reply_to(payment, ADMIN, "PAID"), ADMIN)
    specialist = only(mails, ROMANO)            # breast surgery, English, least loaded, first in the rules
    assert sorted(attachment_names(specialist)) == sorted(
        ["request_form.pdf", *(name for name, _ in breast_documents())])
    body = plain_text(specialist)
    assert "due by 20" in body and "Neoadjuvant chemotherapy or primary surgery?" in body
    case = state(office)
    assert case.state == "with_specialist" and case.specialist_email == ROMANO and case.report_due_at is not None

    mails = exchange(office, reply_to(specialist, ROMANO, "Please find my report attached.",
                                      [("second_opinion_report.pdf", REPORT)]))
    report = only(mails, "maria.rossi@patient.example.net")
    assert attachment_names(report) == ["second_opinion_report.pdf"]
    assert state(office).state == "report_sent"
    courier_notices = [m for m in mails if m["To"] in ADMINS and ("courier" in m["Subject"] or "corriere" in m["Subject"])]
    assert len(courier_notices) == (2 if delivery == "courier" else 0)


def test_commands_from_addresses_not_allowed_are_never_acted_on(office):
    triage_mail = case_in_triage(office)
    # a specialist, a stranger and the patient cannot approve
    for sender in (ROMANO, "mallory@evil.example.net"):
        mails = exchange(office, reply_to(triage_mail, sender, "APPROVE"))
        assert state(office).state == "in_triage"
        assert not any(m["To"] == "maria.rossi@patient.example.net" for m in mails)
    notices = [m for m in office.sink.messages if m.rcpt_tos[0] in ADMINS]
    assert notices   # the specialist's attempt was shown to the admins
    exchange(office, reply_to(triage_mail, MARIA, "APPROVE"))
    assert state(office).state == "in_triage"


def test_commands_in_the_wrong_state_are_refused(office):
    triage_mail = case_in_triage(office)
    mails = exchange(office, reply_to(triage_mail, "laura.fontana@example.org", "PAID 500"))  # not yet approved
    assert state(office).state == "in_triage"
    assert {m["To"] for m in mails if "wrong state" in m["Subject"] or "stato sbagliato" in m["Subject"]} == ADMINS
    assert not any(m["To"] == "maria.rossi@patient.example.net" for m in mails)


def test_missing_then_documents_go_back_to_triage(office):
    triage_mail = case_in_triage(office)
    mails = exchange(office, reply_to(triage_mail, TRIAGE, "MISSING: PET-CT report; genetic test (BRCA1/2)"))
    request = only(mails, "maria.rossi@patient.example.net")
    text = plain_text(request)
    assert "PET-CT report" in text and "genetic test (BRCA1/2)" in text
    assert state(office).state == "awaiting_documents"
    # a thank-you without documents does not send the case back
    exchange(office, reply_to(request, MARIA, "Thank you, I will ask my hospital."))
    assert state(office).state == "awaiting_documents"
    mails = exchange(office, reply_to(request, MARIA, "Here they are.",
                                      [("pet_ct_report_2026-11-20.pdf", text_pdf("PET-CT report 2026-11-20 FDG"))]))
    assert state(office).state == "in_triage"
    assert any(m["To"] == TRIAGE for m in mails)


def test_reject_closes_the_case_kindly(office):
    triage_mail = case_in_triage(office)
    mails = exchange(office, reply_to(triage_mail, TRIAGE, "REJECT: the case needs an in-person visit"))
    letter = only(mails, "maria.rossi@patient.example.net")
    assert "the case needs an in-person visit" in plain_text(letter) and "Nothing is due" in plain_text(letter)
    case = state(office)
    assert case.state == "rejected" and case.closed_at is not None


def test_unparseable_command_gets_the_accepted_forms(office):
    triage_mail = case_in_triage(office)
    mails = exchange(office, reply_to(triage_mail, TRIAGE, "MISSING"))
    answer = only(mails, TRIAGE)
    assert "MISSING: <item>; <item>" in plain_text(answer)
    assert state(office).state == "in_triage"


def test_decline_reroutes_then_alerts_admins(office):
    specialist = case_with_specialist(office)
    mails = exchange(office, reply_to(specialist, ROMANO, "DECLINE: on leave until January"))
    second = only(mails, FERRARI)
    mails = exchange(office, reply_to(second, FERRARI, "DECLINE: conflict of interest"))
    third = only(mails, RICCI)
    mails = exchange(office, reply_to(third, RICCI, "DECLINE: not my field"))
    assert {m["To"] for m in mails} == ADMINS
    assert all("no specialist" in m["Subject"] or "nessuno specialista" in m["Subject"] for m in mails)
    case = state(office)
    assert case.declined_by == [ROMANO, FERRARI, RICCI] and case.specialist_email is None


@pytest.mark.parametrize("stage", ["awaiting_documents", "in_triage", "awaiting_payment", "with_specialist"])
def test_cancel_at_each_state(office, stage):
    if stage == "awaiting_documents":
        mails = exchange(office, patient_mail(MARIA, "Second opinion", "Attached.", breast_documents()[:1]))
        last = only(mails, "maria.rossi@patient.example.net")
    elif stage == "in_triage":
        last = case_in_triage(office)
    elif stage == "awaiting_payment":
        last = only(exchange(office, reply_to(case_in_triage(office), TRIAGE, "APPROVE")),
                    "maria.rossi@patient.example.net")
    else:
        last = case_with_specialist(office)
    assert state(office).state == stage
    last = last_to(office, "maria.rossi@patient.example.net")   # she answers the last mail she got
    mails = exchange(office, reply_to(last, MARIA, "CANCEL"))
    confirmation = only(mails, "maria.rossi@patient.example.net")
    assert "has been cancelled" in plain_text(confirmation)
    assert state(office).state == "cancelled"
    told = {m["To"] for m in mails if "please stop" in m["Subject"] or "interrompere" in m["Subject"]}
    assert told == ({TRIAGE, "roberto.moretti@example.org"} if stage == "in_triage" else
                    {ROMANO} if stage == "with_specialist" else set())


def test_payment_from_the_command_line_with_a_different_amount(office_any_db, capsys):
    office = office_any_db
    triage_mail = case_in_triage(office)
    exchange(office, reply_to(triage_mail, TRIAGE, "APPROVE"))
    ref = state(office).ref
    assert office.cli("payment", ref, "--amount", "450") == 0
    assert "payment recorded" in capsys.readouterr().out
    office.once()
    mails = office.new_replies()
    assert any(m["To"] == ROMANO for m in mails)
    assert {m["To"] for m in mails if "payment differs" in m["Subject"] or "pagamento diverso" in m["Subject"]} == ADMINS
    with office.app().sessions() as s:
        (payment,) = s.execute(select(Payment)).scalars().all()
        assert (payment.amount, payment.expected, payment.recorded_by) == ("450.00", "500.00", "cli")
    assert office.cli("payment", ref) == 1          # no longer awaiting payment
    assert office.cli("case", ref) == 0
    assert "paid 450.00 (due 500.00)" in capsys.readouterr().out


def test_italian_case_end_to_end(office):
    form = filled_request_form(form_language="it", **{**BREAST_FORM, "language": "it", "condition": "tumore al seno",
                                                       "delivery": "courier"})
    mails = exchange(office, patient_mail(MARIA, "Richiesta", "Buongiorno, allego i documenti.",
                                          [("modulo_richiesta.pdf", form), *breast_documents()]))
    confirmation = only(mails, "maria.rossi@patient.example.net")
    assert "è completa" in confirmation["Subject"]
    payment = only(exchange(office, reply_to(only(mails, TRIAGE), TRIAGE, "APPROVE")), "maria.rossi@patient.example.net")
    assert "dati per il pagamento" in payment["Subject"] and "EUR 518.00" in plain_text(payment)
    specialist = only(confirmed(office, reply_to(payment, ADMIN, "PAID 518,00"), ADMIN), ROMANO)
    report = only(exchange(office, reply_to(specialist, ROMANO, "Referto allegato.",
                                            [("referto_secondo_parere.pdf", REPORT)])),
                  "maria.rossi@patient.example.net")
    assert "Il referto del suo secondo parere" in report["Subject"]
    assert state(office).state == "report_sent"


def test_consult_needs_the_patients_yes(office):
    specialist = case_with_specialist(office)
    mails = exchange(office, reply_to(specialist, ROMANO, "CONSULT: histological review of the biopsy slides, "
                                                          "to confirm HER2 status"))
    proposal = only(mails, "maria.rossi@patient.example.net")
    text = " ".join(plain_text(proposal).split())
    assert "histological review of the biopsy slides" in text and "EUR" in text and "YES" in text
    assert state(office).pending_extra["item"] == "histological_review"
    mails = exchange(office, reply_to(proposal, MARIA, "Yes\n\nthank you"))
    told = only(mails, ROMANO)
    assert "AGREES" in plain_text(told)
    assert state(office).pending_extra == {} and state(office).state == "with_specialist"


def test_report_reaches_a_referring_physician_only_with_consent(office):
    physician = "Dr House <house@clinic.example.net>"
    base = dict(requestor_name="Dr House", requestor_email="house@clinic.example.net",
                requestor_role="referring_physician", referring_physician_code="MI-12345")
    consent = filled_consent_form_for_maria()
    for share, expected in (("no", {"maria.rossi@patient.example.net"}),
                            ("yes", {"maria.rossi@patient.example.net", "house@clinic.example.net"})):
        office.imap.reset()
        mails = exchange(office, patient_mail(physician, "Second opinion for my patient", "Attached.",
                                              [("request_form.pdf", filled_request_form(**{**BREAST_FORM, **base,
                                                "share_with_referring_physician": share})),
                                               ("consent_form.pdf", consent), *breast_documents()]))
        triage_mail = only(mails, TRIAGE)
        payment = only(exchange(office, reply_to(triage_mail, TRIAGE, "APPROVE")), "house@clinic.example.net")
        specialist = only(confirmed(office, reply_to(payment, ADMIN, "PAID"), ADMIN), ROMANO)
        mails = exchange(office, reply_to(specialist, ROMANO, "Report attached.", [("report.pdf", REPORT)]))
        assert {m["To"] for m in mails if "report" in m["Subject"].lower()} == expected


def filled_consent_form_for_maria() -> bytes:
    from pdf_factory import filled_consent_form
    return filled_consent_form(patient_name="Maria Rossi", patient_birth_date="1968-05-14",
                               authorised_name="Dr House", signature_date="2026-11-20")


def test_html_only_staff_reply_is_understood(office):
    from email.message import EmailMessage
    triage_mail = case_in_triage(office)
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = TRIAGE, "second.opinion@hospital.example.org", "Re: x"
    msg["In-Reply-To"] = triage_mail["Message-ID"]
    msg["Message-ID"] = "<html-reply-1@example.org>"
    msg.set_content("<html><body><div>REJECT: outside our scope</div><br><blockquote>old text</blockquote>"
                    "</body></html>", subtype="html")
    exchange(office, bytes(msg))
    assert state(office).state == "rejected"


def report_sent_case(office):
    specialist = case_with_specialist(office)
    mails = exchange(office, reply_to(specialist, ROMANO, "Report attached.", [("report.pdf", REPORT)]))
    return only(mails, "maria.rossi@patient.example.net")


def test_new_documents_within_twelve_months_open_an_update_case(office):
    report = report_sent_case(office)
    first = state(office)
    mails = exchange(office, reply_to(report, MARIA, "New scan after surgery.",
                                      [("breast_mri_report_2026-12-01.pdf", text_pdf("Breast MRI report 2026-12-01"))]))
    update = state(office)
    assert update.ref != first.ref and update.parent_ref == first.ref and update.state == "in_triage"
    triage_mail = only(mails, TRIAGE)
    assert f"UPDATE of case {first.ref}" in plain_text(triage_mail)
    assert "breast_mri_report_2026-12-01.pdf" in attachment_names(triage_mail)
    assert "histology_report_2026-03-02.pdf" in attachment_names(triage_mail)   # earlier documents carried forward
    payment = only(exchange(office, reply_to(triage_mail, TRIAGE, "APPROVE")), "maria.rossi@patient.example.net")
    assert "EUR 350.00" in plain_text(payment)
    only(confirmed(office, reply_to(payment, ADMIN, "PAID"), ADMIN), ROMANO)   # the same specialist


def test_new_documents_after_twelve_months_open_a_fresh_case(office):
    from datetime import timedelta
    report = report_sent_case(office)
    app = office.app()
    with app.sessions() as s:
        case = s.execute(select(Case)).scalar_one()
        case.report_sent_at = case.report_sent_at - timedelta(days=400)
        s.commit()
    exchange(office, reply_to(report, MARIA, "New scan.",
                              [("breast_mri_report_2027-12-01.pdf", text_pdf("Breast MRI report 2027-12-01"))]))
    fresh = state(office)
    assert fresh.parent_ref is None and fresh.state == "awaiting_documents" and fresh.ref != case.ref


def test_staff_commands_can_require_dkim_or_spf(office):
    with open(office.config, "a", encoding="utf-8") as handle:
        handle.write('\n[security]\nrequire_authenticated_staff = true\nauthserv_id = "mx.hospital.example.org"\n')
    triage_mail = case_in_triage(office)
    mails = exchange(office, reply_to(triage_mail, TRIAGE, "APPROVE"))
    assert state(office).state == "in_triage"
    assert {m["To"] for m in mails if "DKIM" in m["Subject"]} | \
        {m["To"] for m in mails if "DKIM" in plain_text(m)} == ADMINS
    signed = reply_to(triage_mail, TRIAGE, "APPROVE")
    signed = b"Authentication-Results: mx.hospital.example.org; dkim=pass header.d=example.org\r\n" + signed
    exchange(office, signed)
    assert state(office).state == "awaiting_payment"


def test_specialist_asks_for_documents_and_the_report_deadline_restarts(office):
    specialist = case_with_specialist(office)
    first_due = state(office).report_due_at
    mails = exchange(office, reply_to(specialist, ROMANO, "MISSING: recent PET-CT report"))
    request = only(mails, "maria.rossi@patient.example.net")
    assert "the specialist reviewing the request" in " ".join(plain_text(request).split())
    assert state(office).state == "with_specialist"
    with office.app().sessions() as s:   # pretend the first deadline was set a week ago
        case = s.execute(select(Case)).scalar_one()
        from datetime import timedelta
        case.report_due_at = first_due - timedelta(days=7)
        s.commit()
    mails = exchange(office, reply_to(request, MARIA, "Here it is.",
                                      [("pet_ct_report_2026-11-22.pdf", text_pdf("PET-CT report 2026-11-22 FDG"))]))
    forwarded = only(mails, ROMANO)
    assert attachment_names(forwarded) == ["pet_ct_report_2026-11-22.pdf"]
    assert "report deadline restarts" in " ".join(plain_text(forwarded).split())
    assert state(office).report_due_at > first_due - timedelta(days=7)
    assert "specialist_missing" not in state(office).triage
