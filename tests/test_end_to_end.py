"""The spine end to end: patient emails in a real Dovecot, `mailbot once`, replies at a real SMTP
sink, effects in SQLite and PostgreSQL. No mock anywhere."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from mailbot.store.models import Case, Document, InboundMessage, OutboxMessage
from office import Office, attachment_names, html_text, patient_mail, plain_text
from pdf_factory import (
    CT_REPORT, HISTOLOGY_BREAST, MAMMOGRAPHY_REPORT, ONCOLOGIST_LETTER, docx_bytes, encrypted_pdf,
    filled_consent_form, filled_request_form, jpeg_bytes, text_pdf, truncated_pdf,
)

MARIA = "Maria Rossi <maria.rossi@patient.example.net>"

BREAST_FORM = dict(patient_name="Maria Rossi", patient_birth_date="1968-05-14",
                   patient_email="maria.rossi@patient.example.net", requestor_name="Maria Rossi",
                   requestor_email="maria.rossi@patient.example.net", requestor_role="patient",
                   condition="Breast cancer", consultation_type="oncological", language="en",
                   delivery="email", share_with_referring_physician="no",
                   clinical_question="Neoadjuvant chemotherapy or primary surgery?")


@pytest.fixture
def office(tmp_path, imap_account, smtp_sink, db_url, monkeypatch) -> Office:
    return Office(tmp_path, imap_account, smtp_sink, db_url, monkeypatch)


def breast_documents():
    return [("histology_report_2026-03-02.pdf", text_pdf(HISTOLOGY_BREAST)),
            ("mammography_report_2026-02-20.pdf", text_pdf(MAMMOGRAPHY_REPORT)),
            ("oncologist_report_2026-03-10.pdf", text_pdf(ONCOLOGIST_LETTER))]


def case_rows(office):
    app = office.app()
    with app.sessions() as s:
        return list(s.execute(select(Case).order_by(Case.id)).scalars())


def test_complete_breast_request_goes_to_triage_with_pdfs(office):
    form = filled_request_form(**BREAST_FORM)
    office.deliver(patient_mail(MARIA, "Second opinion request", "Hello, my documents are attached.",
                                [("request_form.pdf", form), *breast_documents()]))
    assert office.once() == 0

    replies = office.new_replies()
    app = office.app()
    triage = [str(m.email) for m in app.rulebook.staff.triage]
    to_patient = [m for m in replies if m["To"] == "maria.rossi@patient.example.net"]
    to_triage = [m for m in replies if m["To"] in triage]
    assert len(to_patient) == 1 and len(to_triage) == len(triage) >= 1
    (case,) = case_rows(office)
    assert case.state == "in_triage" and case.condition_id == "breast_cancer"
    confirmation = to_patient[0]
    assert confirmation["Subject"] == f"[{case.ref}] Your second opinion request is complete"
    assert "2 working days" in plain_text(confirmation)
    assert "2 working days" in html_text(confirmation)
    assert confirmation["Auto-Submitted"] == "auto-replied"
    assert confirmation["In-Reply-To"].startswith("<") and confirmation["Message-ID"].startswith(f"<{case.ref}.")
    for mail in to_triage:
        assert case.ref in mail["Subject"]
        assert sorted(attachment_names(mail)) == sorted(
            ["request_form.pdf", *(name for name, _ in breast_documents())])
        body = plain_text(mail)
        assert "Maria Rossi" in body and "Neoadjuvant chemotherapy or primary surgery?" in body
    # every processed message is in Processed, none left in the inbox
    assert office.imap.messages("INBOX") == []
    assert len(office.imap.messages("Processed")) == 1


def test_incomplete_request_names_each_missing_document(office):
    office.deliver(patient_mail(MARIA, "Second opinion", "patient_name: Maria Rossi\npatient_birth_date: 1968-05-14\n"
                                "requestor_role: patient\ncondition: breast cancer\n",
                                [("histology_report_2026-03-02.pdf", text_pdf(HISTOLOGY_BREAST))]))
    assert office.once() == 0
    (reply,) = office.new_replies()
    (case,) = case_rows(office)
    assert case.state == "awaiting_documents"
    assert reply["Subject"] == f"[{case.ref}] Documents missing for your second opinion request"
    text = plain_text(reply)
    app = office.app()
    assert app.rulebook.title("oncologist_report", "en") in text
    for option in ("mammography_report", "breast_ultrasound_report", "breast_mri_report"):
        assert app.rulebook.title(option, "en") in text
    assert app.rulebook.title("histology_report", "en") + ":" not in text.split("still need")[1]
    assert "histology_report_2026-03-02.pdf" in text  # listed as received


def test_badly_named_and_unusable_files_are_each_explained(office):
    office.deliver(patient_mail(
        MARIA, "my files",
        "patient_name: Maria Rossi\npatient_birth_date: 1968-05-14\nrequestor_role: patient\ncondition: breast cancer\n",
        [("scan0001.pdf", text_pdf(HISTOLOGY_BREAST)), ("IMG_2231.jpg", jpeg_bytes()),
         ("referto.docx", docx_bytes()), ("mammography_report_locked.pdf", encrypted_pdf(MAMMOGRAPHY_REPORT)),
         ("oncologist_report_2026-03-10.pdf", truncated_pdf())]))
    assert office.once() == 0
    (reply,) = office.new_replies()
    text = " ".join(plain_text(reply).split())
    assert "scan0001.pdf: its name does not say what the document is" in text
    assert '"histology_report_2026-03-02.pdf"' in text  # the suggested name
    assert "IMG_2231.jpg: this is a photo (JPEG), not a PDF" in text
    assert "referto.docx: this is a word-processor file, not a PDF" in text
    assert "mammography_report_locked.pdf: it is protected by a password" in text
    assert "oncologist_report_2026-03-10.pdf: it could not be opened" in text
    app = office.app()
    with app.sessions() as s:
        docs = {d.filename: d for d in s.execute(select(Document)).scalars()}
    assert docs["scan0001.pdf"].name_ok is False and docs["IMG_2231.jpg"].problem == "not_pdf"
    assert docs["mammography_report_locked.pdf"].problem == "encrypted"
    assert docs["oncologist_report_2026-03-10.pdf"].problem == "broken"


def test_family_member_without_consent_is_asked_for_it(office):
    form = filled_request_form(**{**BREAST_FORM, "requestor_name": "Giulia Rossi",
                                  "requestor_email": "giulia@family.example.net", "requestor_role": "family_member"})
    office.deliver(patient_mail("Giulia Rossi <giulia@family.example.net>", "Second opinion for my mother",
                                "Documents attached.", [("request_form.pdf", form), *breast_documents()]))
    assert office.once() == 0
    (reply,) = office.new_replies()
    assert "consent form signed by the patient" in plain_text(reply)
    assert "patient_consent_form.pdf" in attachment_names(reply)
    (case,) = case_rows(office)
    assert case.state == "awaiting_documents"
    assert [f["code"] for f in case.findings] == ["consent_missing"]

    # the signed consent arrives as a reply in the same thread: the case becomes complete
    consent = filled_consent_form(patient_name="Maria Rossi", patient_birth_date="1968-05-14",
                                  authorised_name="Giulia Rossi", signature_date="2026-11-20")
    office.deliver(patient_mail("Giulia Rossi <giulia@family.example.net>", f"Re: {reply['Subject']}",
                                "Here is the consent form.", [("consent_form_signed.pdf", consent)],
                                in_reply_to=reply["Message-ID"]))
    assert office.once() == 0
    (case,) = case_rows(office)
    assert case.state == "in_triage"
    purposes = sorted(m["Subject"].split("] ", 1)[1].split(":")[0] for m in office.new_replies())
    assert purposes[0] == "New case for triage" and "Your second opinion request is complete" in purposes


def test_reply_in_thread_with_missing_file_completes_the_case(office):
    docs = breast_documents()
    office.deliver(patient_mail(MARIA, "Second opinion", "Attached.",
                                [("request_form.pdf", filled_request_form(**BREAST_FORM)), docs[0], docs[2]]))
    office.once()
    (missing,) = office.new_replies()
    assert "Documents missing" in missing["Subject"]
    office.deliver(patient_mail(MARIA, f"Re: {missing['Subject']}", "Here is the mammography.\n\n> quoted text",
                                [docs[1], docs[0]], in_reply_to=missing["Message-ID"]))
    office.once()
    (case,) = case_rows(office)
    assert case.state == "in_triage"
    app = office.app()
    with app.sessions() as s:
        assert s.execute(select(Document).where(Document.case_id == case.id)).scalars().all().__len__() == 4
    assert len(office.imap.messages("Processed")) == 2 and office.imap.messages("INBOX") == []


def test_italian_form_gets_italian_reply(office):
    form = filled_request_form(form_language="it", **{**BREAST_FORM, "language": "it",
                                                       "condition": "tumore al seno"})
    office.deliver(patient_mail(MARIA, "Richiesta secondo parere", "Buongiorno, allego il modulo.",
                                [("modulo_richiesta.pdf", form)]))
    office.once()
    (reply,) = office.new_replies()
    assert reply["Subject"].endswith("Documenti mancanti per la sua richiesta di secondo parere")
    assert "Relazione" in plain_text(reply) or "oncolog" in plain_text(reply).lower()
    assert reply["Content-Language"] == "it"


def test_fresh_email_from_the_same_requestor_is_filed_on_the_open_case(office):
    office.deliver(patient_mail(MARIA, "Second opinion", "patient_name: Maria Rossi\npatient_birth_date: 1968-05-14\n"
                                "requestor_role: patient\ncondition: lung cancer\n",
                                [("chest_ct_report_2026-01-15.pdf", text_pdf(CT_REPORT))]))
    office.once()
    office.new_replies()
    office.deliver(patient_mail(MARIA, "more documents", "another file",
                                [("oncologist_report_2026-03-10.pdf", text_pdf(ONCOLOGIST_LETTER))]))
    office.once()
    (reply,) = office.new_replies()
    (case,) = case_rows(office)
    assert case.ref in reply["Subject"]
    assert "filed the documents of this email under that request" in " ".join(plain_text(reply).split())


def test_nothing_usable_gets_instructions_and_blank_forms(office):
    office.deliver(patient_mail("Luca <luca@patient.example.net>", "Information",
                                "Good morning, how can I ask for a second opinion for my father?"))
    office.once()
    (reply,) = office.new_replies()
    assert "How to request a second opinion" in reply["Subject"]
    names = attachment_names(reply)
    assert "second_opinion_request_form.pdf" in names and "patient_consent_form.pdf" in names
    from pypdf import PdfReader
    import io
    form = next(p for p in reply.iter_attachments() if p.get_filename() == "second_opinion_request_form.pdf")
    fields = PdfReader(io.BytesIO(form.get_content())).get_fields()
    assert {"patient_name", "patient_birth_date", "requestor_role", "condition", "clinical_question"} <= set(fields)


def test_auto_replies_and_bounces_get_no_reply(office):
    auto = patient_mail(MARIA, "Out of office", "I am away.")
    auto = auto.replace(b"Subject:", b"Auto-Submitted: auto-replied\r\nSubject:", 1) if b"\r\n" in auto else \
        auto.replace(b"Subject:", b"Auto-Submitted: auto-replied\nSubject:", 1)
    office.deliver(auto)
    office.once()
    assert office.new_replies() == []
    assert case_rows(office) == []
    assert len(office.imap.messages("Quarantine")) == 1 and office.imap.messages("INBOX") == []


def test_a_message_seen_again_after_a_crash_gets_no_second_reply(office):
    raw = patient_mail(MARIA, "Second opinion", "Hello", [("histology_report_2026-03-02.pdf", text_pdf(HISTOLOGY_BREAST))])
    office.deliver(raw)
    # The effects were committed but the process died before moving the message out of the inbox:
    office.app().intake.process(office.imap.messages("INBOX")[0])
    assert office.once() == 0
    assert len(office.new_replies()) == 1          # the reply queued before the "crash", sent once
    assert office.imap.messages("INBOX") == [] and len(office.imap.messages("Processed")) == 1
    app = office.app()
    with app.sessions() as s:
        assert len(s.execute(select(InboundMessage)).scalars().all()) == 1
        assert len(s.execute(select(Case)).scalars().all()) == 1


def test_smtp_failure_is_retried_without_loss_or_duplicate(office):
    office.sink.fail_next(1, code=451)
    office.deliver(patient_mail(MARIA, "Info", "How do I ask for a second opinion?"))
    office.once()
    assert office.new_replies() == []
    app = office.app()
    with app.sessions() as s:
        (row,) = s.execute(select(OutboxMessage)).scalars().all()
        assert row.status == "queued" and row.attempts == 1 and "451" in row.last_error
        first_id = row.message_id
    import time
    time.sleep(1.1)  # retry_base_seconds = 1 in the test config
    office.once()
    (reply,) = office.new_replies()
    assert reply["Message-ID"] == first_id
    office.once()
    assert office.new_replies() == []


def test_an_address_gets_at_most_the_daily_cap_of_automatic_replies(office):
    # a misbehaving autoresponder without any machine mark writes again and again, each time with
    # a new file, so that every message on its own would deserve a full reply
    for n in range(12):
        office.deliver(patient_mail("Robot <robot@elsewhere.example.net>", f"Re: hello {n}", "I got your mail.",
                                    [(f"scan{n:04d}.pdf", text_pdf(f"Automatic receipt number {n}"))]))
    office.once()
    assert len(office.new_replies()) == 10
    app = office.app()
    from mailbot.store.models import Event
    with app.sessions() as s:
        assert len(s.execute(select(Event).where(Event.kind == "reply_suppressed")).scalars().all()) == 2


def test_the_same_empty_message_again_and_again_gets_two_replies_not_ten(office):
    # nothing new in each: the instructions once, then one short acknowledgement, then nothing
    for n in range(12):
        office.deliver(patient_mail("Robot <robot@elsewhere.example.net>", f"Re: hello {n}", "I got your mail."))
    office.once()
    purposes = sorted(m["Subject"].split("] ", 1)[1] for m in office.new_replies())
    assert purposes == ["How to request a second opinion", "Thank you, your message is on your request"]


def test_triage_is_told_of_files_that_could_not_be_used(office):
    office.deliver(patient_mail(MARIA, "Second opinion", "All my documents.",
                                [("request_form.pdf", filled_request_form(**BREAST_FORM)), *breast_documents(),
                                 ("pet_ct_report_2026-03-01.pdf", encrypted_pdf(CT_REPORT))]))
    office.once()
    triage = [m for m in office.new_replies() if "New case for triage" in m["Subject"]]
    assert triage
    text = plain_text(triage[0])
    assert "Received but not usable (not attached):" in text
    assert "pet_ct_report_2026-03-01.pdf: protected by a password" in text   # the problem in words, not its code
    assert "pet_ct_report_2026-03-01.pdf" not in attachment_names(triage[0])
