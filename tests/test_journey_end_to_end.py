"""The patient's journey end to end (Dovecot, the SMTP sink, SQLite and PostgreSQL, `mailbot
once`): a letter in a language the office does not read, the short acknowledgement, and what
happens after the report (the treatment path, questions, additional opinions)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from mailbot.store.models import Case, Document, Event
from office import Office, attachment_names, patient_mail, plain_text
from pdf_factory import HISTOLOGY_BREAST, MAMMOGRAPHY_REPORT, filled_request_form, text_pdf
from test_end_to_end import BREAST_FORM, MARIA
from test_staff_workflow import ADMIN, ROMANO, TRIAGE, confirmed, exchange, only, reply_to, report_sent_case, state

MARIA_ADDRESS = "maria.rossi@patient.example.net"

LETTER_DE = """\
Medizinische Onkologie - Ambulanter Arztbrief
Datum der Vorstellung: 10.03.2026
Sehr geehrte Frau Kollegin, sehr geehrter Herr Kollege,
wir berichten über Frau Maria Rossi, 57 Jahre alt, mit neu diagnostiziertem invasivem duktalem
Mammakarzinom links (cT2 cN1 M0, G2, ER 90 Prozent, PR 70 Prozent, HER2 1+, Ki-67 25 Prozent).
Das Staging-CT ergab keinen Hinweis auf Fernmetastasen. Empfohlenes Vorgehen: neoadjuvante
Chemotherapie (dosisdichtes AC, anschließend wöchentlich Paclitaxel), danach Operation und adjuvante
endokrine Therapie. Der Fall wurde in unserer interdisziplinären Tumorkonferenz besprochen.
Die Patientin wünscht vor Beginn der Behandlung eine Zweitmeinung.
Mit freundlichen kollegialen Grüßen
Dr. Giulia Ferri, Fachärztin für Innere Medizin und Hämatologie und Onkologie
"""

LETTER_IT = """\
Oncologia Medica - Visita ambulatoriale
Data della visita: 10/03/2026
Gentile Collega,
ho visitato la Sig.ra Maria Rossi, 57 anni, per un carcinoma duttale infiltrante della mammella
sinistra di nuova diagnosi (cT2 cN1 M0, G2, ER 90%, PR 70%, HER2 1+, Ki-67 25%). La TC di stadiazione
non ha mostrato localizzazioni a distanza. Programma proposto: chemioterapia neoadiuvante (AC dose-dense
seguita da paclitaxel settimanale), quindi chirurgia e terapia endocrina adiuvante. Il caso è stato
discusso nella riunione multidisciplinare del gruppo tumori della mammella.
La paziente desidera un secondo parere prima di iniziare il trattamento.
Cordiali saluti,
Dr.ssa Giulia Ferri, oncologa medica
"""


@pytest.fixture
def office(tmp_path, imap_account, smtp_sink, db_url, monkeypatch) -> Office:
    return Office(tmp_path, imap_account, smtp_sink, db_url, monkeypatch)


def the_case(office) -> Case:
    app = office.app()
    with app.sessions() as s:
        (case,) = s.execute(select(Case)).scalars().all()
        s.expunge(case)
        return case


def to(replies, address):
    return [m for m in replies if address in m["To"]]


def start_with_german_letter(office):
    office.deliver(patient_mail(MARIA, "Second opinion request", "Hello, my documents are attached.",
                                [("request_form.pdf", filled_request_form(**BREAST_FORM)),
                                 ("histology_report_2026-03-02.pdf", text_pdf(HISTOLOGY_BREAST)),
                                 ("mammography_report_2026-02-20.pdf", text_pdf(MAMMOGRAPHY_REPORT)),
                                 ("oncologist_report_2026-03-10.pdf", text_pdf(LETTER_DE))]))
    assert office.once() == 0
    (reply,) = office.new_replies()
    return reply


def test_a_german_letter_asks_for_a_translation_and_the_italian_one_completes(office):
    reply = start_with_german_letter(office)
    body = " ".join(plain_text(reply).split())
    assert "Documents missing" in reply["Subject"]
    assert "oncologist_report_2026-03-10.pdf: it seems to be written in German" in body
    assert "official translation into English or Italian" in body
    assert "Oncologist's report" in body          # it does not count: the report is still missing
    case = the_case(office)
    assert case.state == "awaiting_documents"
    app = office.app()
    with app.sessions() as s:
        german = s.execute(select(Document).where(Document.filename == "oncologist_report_2026-03-10.pdf")).scalar_one()
        assert german.problem == "foreign_language" and german.language == "de"

    office.deliver(patient_mail(MARIA, f"Re: {reply['Subject']}", "Here is the official Italian translation.",
                                [("oncologist_report_2026-03-10_it.pdf", text_pdf(LETTER_IT))],
                                in_reply_to=reply["Message-ID"]))
    assert office.once() == 0
    replies = office.new_replies()
    assert the_case(office).state == "in_triage"
    (confirmation,) = to(replies, MARIA_ADDRESS)
    assert "complete" in confirmation["Subject"]
    triage = [m for m in replies if MARIA_ADDRESS not in m["To"]]
    assert triage
    for mail in triage:
        text = " ".join(plain_text(mail).split())
        assert ("oncologist_report_2026-03-10.pdf: written in German" in text
                or "oncologist_report_2026-03-10.pdf: scritto in tedesco" in text)


def test_thank_you_gets_one_short_acknowledgement_a_day(office):
    reply = start_with_german_letter(office)
    assert "will be deleted on" in " ".join(plain_text(reply).split())
    case = the_case(office)
    delete_on = (case.opened_at.date().toordinal() + 90)
    from datetime import date
    assert date.fromordinal(delete_on).isoformat() in plain_text(reply)

    office.deliver(patient_mail(MARIA, f"Re: {reply['Subject']}", "Thank you, I will ask my oncologist.",
                                in_reply_to=reply["Message-ID"]))
    assert office.once() == 0
    (ack,) = office.new_replies()
    text = " ".join(plain_text(ack).split())
    assert case.ref in ack["Subject"] and "Thank you" in ack["Subject"]
    assert "Oncologist's report" not in text and "German" not in text   # it repeats nothing
    assert len(plain_text(ack)) < len(plain_text(reply)) / 2

    office.deliver(patient_mail(MARIA, f"Re: {reply['Subject']}", "Thanks again!", in_reply_to=reply["Message-ID"]))
    assert office.once() == 0
    assert office.new_replies() == []            # not twice in a day
    assert the_case(office).state == "awaiting_documents"
    app = office.app()
    with app.sessions() as s:
        kinds = [e.kind for e in s.execute(select(Event).order_by(Event.id)).scalars()]
    assert "reply_skipped" in kinds
    assert len(office.imap.messages("Processed")) == 3


# -- after the report ------------------------------------------------------------------------------

SECRETARIAT = "breast.surgery.office@example.org"    # Dr Romano's, in the default staff.toml
QUOTE = text_pdf("Quote for the intervention package\nBreast surgery, 3 nights, follow-up visits: EUR 12,400.00")


def events(office, ref: str) -> list[str]:
    with office.app().sessions() as s:
        case = s.execute(select(Case).where(Case.ref == ref)).scalar_one()
        return [e.kind for e in s.execute(select(Event).where(Event.case_id == case.id).order_by(Event.id)).scalars()]


def test_treatment_goes_to_the_secretariat_and_its_quote_comes_back(office, capsys):
    report = report_sent_case(office)
    first = state(office)
    mails = exchange(office, reply_to(report, MARIA, "TREATMENT\nI would like to be operated at your hospital."))
    forward, told = only(mails, SECRETARIAT), only(mails, MARIA_ADDRESS)
    assert first.ref in forward["Subject"] and attachment_names(forward) == ["report.pdf"]
    text = " ".join(plain_text(forward).split())
    assert "Maria Rossi" in text and "I would like to be operated at your hospital." in text
    assert MARIA_ADDRESS not in text                     # the secretariat answers through us
    assert "secretariat of Dr Giulia Romano" in " ".join(plain_text(told).split())
    assert state(office).state == "report_sent"

    mails = exchange(office, reply_to(forward, f"Breast surgery office <{SECRETARIAT}>",
                                      "Dear patient, please find our quote attached.\n\n> the forward",
                                      [("quote_intervention_package.pdf", QUOTE)]))
    relayed = only(mails, MARIA_ADDRESS)
    assert attachment_names(relayed) == ["quote_intervention_package.pdf"]
    assert "please find our quote attached" in plain_text(relayed) and "the forward" not in plain_text(relayed)
    assert first.ref in relayed["Subject"]
    treatment_message = office.imap.messages("Processed")   # the thread: In-Reply-To is the patient's TREATMENT mail
    assert relayed["In-Reply-To"] == told["In-Reply-To"]
    assert len(treatment_message) >= 1
    assert state(office).ref == first.ref                  # no update case opened by the quote PDF
    kinds = events(office, first.ref)
    assert kinds.index("treatment_forwarded") < kinds.index("treatment_reply_relayed")

    # the patient answers the quote: passed on to the secretariat (not an additional-opinion offer)
    mails = exchange(office, reply_to(relayed, MARIA, "Thank you, I accept. Which dates are possible?"))
    passed, noted = only(mails, SECRETARIAT), only(mails, MARIA_ADDRESS)
    assert "Which dates are possible?" in plain_text(passed) and MARIA_ADDRESS not in plain_text(passed)
    assert "passed your message on to the secretariat" in " ".join(plain_text(noted).split())
    again = only(exchange(office, reply_to(passed, SECRETARIAT, "We can operate on 14 January.")), MARIA_ADDRESS)
    assert "We can operate on 14 January." in plain_text(again)
    assert state(office).ref == first.ref and state(office).state == "report_sent"
    capsys.readouterr()
    assert office.cli("case", first.ref) == 0
    view = capsys.readouterr().out
    assert f"treatment path: forwarded to {SECRETARIAT}" in view
    assert "treatment_forwarded" in view and "treatment_reply_relayed" in view and "treatment_follow_up_forwarded" in view


def test_treatment_without_proof_waits_for_confirm_and_a_forged_quote_is_not_relayed(office):
    report_sent_case(office)
    first = state(office)
    fresh = patient_mail(MARIA, f"[{first.ref}] treatment", "TREATMENT\nI would like to be operated at your hospital.")
    request = only(exchange(office, fresh), MARIA_ADDRESS)   # a new mail, not a reply to ours: is it really her?
    assert "CONFIRM" in plain_text(request) and "treatment_forwarded" not in events(office, first.ref)
    mails = exchange(office, reply_to(request, MARIA, "CONFIRM"))
    forward = only(mails, SECRETARIAT)
    assert "I would like to be operated at your hospital." in plain_text(forward)   # the words below the command
    assert "treatment_forwarded" in events(office, first.ref)

    forged = patient_mail(SECRETARIAT, f"Re: [{first.ref}] treatment", "Pay EUR 90,000 to IBAN XX00 now.",
                          [("quote.pdf", QUOTE)])             # not a reply to our forward: nothing reaches Maria
    assert not [m for m in exchange(office, forged) if m["To"] == MARIA_ADDRESS]
    assert "treatment_reply_relayed" not in events(office, first.ref)


def test_a_question_after_the_report_gets_the_offer_then_additional_opens_a_linked_case(office):
    report = report_sent_case(office)
    first = state(office)
    mails = exchange(office, reply_to(report, MARIA, "Thank you. Do I really need the radiotherapy afterwards?"))
    offer = only(mails, MARIA_ADDRESS)
    text = " ".join(plain_text(offer).split())
    assert "additional second opinion" in text and "EUR 500.00" in text and "ADDITIONAL" in text
    assert state(office).ref == first.ref and state(office).state == "report_sent"

    mails = exchange(office, reply_to(offer, MARIA, "ADDITIONAL\nDo I really need radiotherapy after the surgery?"))
    linked = state(office)
    assert linked.ref != first.ref and linked.additional_of == first.ref and linked.state == "in_triage"
    assert linked.form["clinical_question"] == "Do I really need radiotherapy after the surgery?"
    opened = only(mails, MARIA_ADDRESS)
    assert linked.ref in opened["Subject"] and first.ref in plain_text(opened)
    triage_mail = only(mails, TRIAGE)
    assert linked.ref in triage_mail["Subject"] and "report.pdf" in attachment_names(triage_mail)
    assert "histology_report_2026-03-02.pdf" in attachment_names(triage_mail)
    assert "Do I really need radiotherapy after the surgery?" in plain_text(triage_mail)
    assert "additional_opinion_opened" in events(office, first.ref)

    payment = only(exchange(office, reply_to(triage_mail, TRIAGE, "APPROVE")), MARIA_ADDRESS)
    assert "EUR 500.00" in plain_text(payment) and state(office).state == "awaiting_payment"
    specialist = only(confirmed(office, reply_to(payment, ADMIN, "PAID"), ADMIN), ROMANO)   # PAID answers the patient's mail
    assert state(office).state == "with_specialist"
    assert "report.pdf" in attachment_names(specialist)    # the first report goes with the question


ENGLISH_MRI = """Breast MRI report 2026-12-01
Bilateral breast MRI with gadolinium after surgery: post-surgical changes in the left breast,
no suspicious enhancement, no residual disease, no axillary lymphadenopathy. BI-RADS 2."""


def test_new_documents_after_the_report_still_make_an_update(office):
    report = report_sent_case(office)
    first = state(office)
    mails = exchange(office, reply_to(report, MARIA, "A new scan.",
                                      [("breast_mri_report_2026-12-01.pdf", text_pdf(ENGLISH_MRI))]))
    update = state(office)
    assert update.parent_ref == first.ref and update.state == "in_triage"
    assert not [m for m in mails if "additional" in m["Subject"].lower()]
