"""The wording as it leaves: real Dovecot in, `mailbot once`, the raw bytes at a real SMTP sink. The
Italian triage mail shows Italian values and the case's command lines; a long subject keeps the case
ref on the first line of its header, in the bytes the server took."""

from __future__ import annotations

import re

import pytest

from office import Office, html_text, patient_mail, plain_text
from pdf_factory import HISTOLOGY_BREAST, MAMMOGRAPHY_REPORT, ONCOLOGIST_LETTER, filled_request_form, text_pdf

GIULIA = "Giulia Neri <giulia.neri@family.example.net>"
FORM = dict(patient_name="Anna Neri", patient_birth_date="1950-02-01", patient_email="anna.neri@example.net",
            requestor_name="Giulia Neri", requestor_email="giulia.neri@family.example.net",
            requestor_role="patient", condition="tumore della mammella", consultation_type="surgical",
            language="it", delivery="courier", share_with_referring_physician="yes")


@pytest.fixture
def office(tmp_path, imap_account, smtp_sink, db_url, monkeypatch) -> Office:
    return Office(tmp_path, imap_account, smtp_sink, db_url, monkeypatch)


def _subject_line(raw: bytes) -> bytes:
    return re.search(rb"^Subject:[^\r\n]*", raw, re.M).group(0)


def test_a_long_italian_subject_keeps_the_ref_on_its_first_header_line_at_the_server(office):
    office.deliver(patient_mail(GIULIA, "Richiesta", "Buongiorno, allego il referto.",
                                [("request_form.pdf", filled_request_form(**FORM)),
                                 ("referto_istologico_2026-03-02.pdf", text_pdf(HISTOLOGY_BREAST))]))
    assert office.once() == 0
    (reply,) = office.sink.messages
    assert _subject_line(reply.content).startswith(b"Subject: [SO-2026-00001] Documenti mancanti")
    assert office.new_replies()[0]["Subject"] == \
        "[SO-2026-00001] Documenti mancanti per la sua richiesta di secondo parere"


def test_the_italian_triage_mail_reads_in_italian_with_the_cases_commands(office):
    office.deliver(patient_mail(GIULIA, "Richiesta di secondo parere", "Buongiorno, allego i documenti.",
                                [("request_form.pdf", filled_request_form(**FORM)),
                                 ("histology_report_2026-03-02.pdf", text_pdf(HISTOLOGY_BREAST)),
                                 ("mammography_report_2026-02-20.pdf", text_pdf(MAMMOGRAPHY_REPORT)),
                                 ("oncologist_report_2026-03-10.pdf", text_pdf(ONCOLOGIST_LETTER))]))
    assert office.once() == 0
    italian = [m for m in office.new_replies() if "Nuovo caso per il triage" in m["Subject"]]
    assert italian, "the default staff has an Italian triage doctor"
    text = plain_text(italian[0]).replace("\r\n", "\n")
    assert "Consulto richiesto: chirurgico\n" in text
    assert "Richiedente: il paziente\n" in text
    assert "Consegna del referto: per email e con corriere; condivisione con il medico inviante: sì\n" in text
    assert "- histology_report_2026-03-02.pdf (Referto istologico)\n" in text
    approve = [ln for ln in text.split("\n") if ln.startswith("- APPROVE ")]
    assert approve[0].startswith("- APPROVE surgical ") and "- APPROVE oncological medical_oncology" in approve
    assert "<li>APPROVE surgical" in html_text(italian[0])
