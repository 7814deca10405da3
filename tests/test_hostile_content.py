"""Hostile content kept harmless, end to end: `mailbot once` against the
private Dovecot and the SMTP sink, on SQLite and PostgreSQL.

Active content in a PDF is named to the staff and asks nothing of the patient; a Flate bomb is
"could not be read"; parts the parser could not reach are reported to both; sender-written
text is quoted cleaned and bounded.
"""

from __future__ import annotations

import base64
import re
from email.message import EmailMessage

import pytest
from sqlalchemy import select

from mailbot.store.models import Case, Document
from office import Office, attachment_names, html_text, patient_mail, plain_text
from pdf_factory import (
    CT_REPORT, HISTOLOGY_BREAST, MAMMOGRAPHY_REPORT, ONCOLOGIST_LETTER, filled_request_form, flate_bomb_pdf,
    javascript_pdf, text_pdf,
)

MARIA = "Maria Rossi <maria.rossi@patient.example.net>"
BREAST_FORM = dict(patient_name="Maria Rossi", patient_birth_date="1968-05-14",
                   patient_email="maria.rossi@patient.example.net", requestor_name="Maria Rossi",
                   requestor_email="maria.rossi@patient.example.net", requestor_role="patient",
                   condition="Breast cancer", consultation_type="oncological", language="en",
                   delivery="email", share_with_referring_physician="no",
                   clinical_question="Neoadjuvant chemotherapy or primary surgery?")
BODY_FORM = ("patient_name: Maria Rossi\npatient_birth_date: 1968-05-14\nrequestor_role: patient\n"
             "condition: breast cancer\n")


@pytest.fixture
def office(tmp_path, imap_account, smtp_sink, db_url, monkeypatch) -> Office:
    return Office(tmp_path, imap_account, smtp_sink, db_url, monkeypatch)


def _case(office) -> Case:
    with office.app().sessions() as s:
        (case,) = s.execute(select(Case)).scalars().all()
        return case


def _documents(office) -> dict[str, Document]:
    with office.app().sessions() as s:
        return {d.filename: d for d in s.execute(select(Document)).scalars()}


def _split(replies, triage_word="New case for triage"):
    to_triage = [m for m in replies if triage_word in m["Subject"]]
    to_patient = [m for m in replies if m["To"] == "maria.rossi@patient.example.net"]
    return to_patient, to_triage


def _flat(text: str) -> str:
    return " ".join(text.split())


# --- item 3: active content and decompression limits --------------------------------------------

def test_javascript_pdf_is_named_to_triage_and_in_the_case_view_but_asks_nothing(office, capsys):
    office.deliver(patient_mail(MARIA, "Second opinion request", "My documents are attached.", [
        ("request_form.pdf", filled_request_form(**BREAST_FORM)),
        ("histology_report_2026-03-02.pdf", javascript_pdf(HISTOLOGY_BREAST)),
        ("mammography_report_2026-02-20.pdf", text_pdf(MAMMOGRAPHY_REPORT)),
        ("oncologist_report_2026-03-10.pdf", text_pdf(ONCOLOGIST_LETTER))]))
    assert office.once() == 0

    case = _case(office)
    assert case.state == "in_triage"            # still counts towards completeness
    to_patient, to_triage = _split(office.new_replies())
    (confirmation,) = to_patient
    assert "is complete" in confirmation["Subject"]
    patient_text = plain_text(confirmation)
    assert "histology_report_2026-03-02.pdf" not in patient_text   # nothing asked about it
    assert "JavaScript" not in patient_text and "active content" not in patient_text
    assert to_triage
    for mail in to_triage:
        text = _flat(plain_text(mail))
        assert "histology_report_2026-03-02.pdf (Histology (pathology) report) - WARNING: active content " \
               "(JavaScript, OpenAction)" in text
        assert "Caution: the documents marked WARNING contain active content" in text
        assert "JavaScript" in html_text(mail)
        assert "histology_report_2026-03-02.pdf" in attachment_names(mail)   # named, not hidden

    assert office.cli("case", case.ref) == 0
    view = capsys.readouterr().out
    assert "active content: JavaScript, OpenAction" in view


def test_flate_bomb_pdf_could_not_be_read_and_a_new_copy_is_asked_for(office):
    office.deliver(patient_mail(MARIA, "Second opinion", BODY_FORM, [
        ("histology_report_2026-03-02.pdf", text_pdf(HISTOLOGY_BREAST)),
        ("ct_report_2026-03-05.pdf", flate_bomb_pdf())]))
    assert office.once() == 0
    (reply,) = office.new_replies()
    text = _flat(plain_text(reply))
    assert "ct_report_2026-03-05.pdf: it could not be opened" in text
    assert "Please send it again" in text
    doc = _documents(office)["ct_report_2026-03-05.pdf"]
    assert doc.problem == "broken" and "LimitReachedError" in doc.detail


def test_javascript_pdf_sent_before_completion_is_still_named_to_triage(office):
    office.deliver(patient_mail(MARIA, "Second opinion", "Attached.", [
        ("request_form.pdf", filled_request_form(**BREAST_FORM)),
        ("histology_report_2026-03-02.pdf", javascript_pdf(HISTOLOGY_BREAST))]))
    office.once()
    (missing,) = office.new_replies()
    assert "Documents missing" in missing["Subject"]
    office.deliver(patient_mail(MARIA, f"Re: {missing['Subject']}", "The rest.", [
        ("mammography_report_2026-02-20.pdf", text_pdf(MAMMOGRAPHY_REPORT)),
        ("oncologist_report_2026-03-10.pdf", text_pdf(ONCOLOGIST_LETTER))], in_reply_to=missing["Message-ID"]))
    office.once()
    _, to_triage = _split(office.new_replies())
    assert to_triage
    assert "histology_report_2026-03-02.pdf (Histology (pathology) report) - WARNING: active content (JavaScript, " \
           "OpenAction)" in _flat(plain_text(to_triage[0]))


# --- item 3: parts the parser could not reach ---------------------------------------------------

def _nested_forwards(depth: int, pdf_name: str, pdf: bytes) -> EmailMessage:
    inner = EmailMessage()
    inner["From"] = MARIA
    inner["Subject"] = "the scan"
    inner.set_content("here")
    inner.add_attachment(pdf, maintype="application", subtype="pdf", filename=pdf_name)
    for n in range(depth):
        outer = EmailMessage()
        outer["From"] = MARIA
        outer["Subject"] = f"Fwd: {n}"
        outer.set_content("forwarded")
        outer.add_attachment(inner)
        inner = outer
    return inner


def test_pdf_inside_50_nested_forwards_is_reported_to_patient_and_triage(office):
    mail = EmailMessage()
    mail["From"] = MARIA
    mail["To"] = "second.opinion@hospital.example.org"
    mail["Subject"] = "Second opinion request"
    mail["Message-ID"] = "<nested50@patient.example.net>"
    mail.set_content("My documents; the CT is in the forwarded mail.")
    for name, data in [("request_form.pdf", filled_request_form(**BREAST_FORM)),
                       ("histology_report_2026-03-02.pdf", text_pdf(HISTOLOGY_BREAST)),
                       ("mammography_report_2026-02-20.pdf", text_pdf(MAMMOGRAPHY_REPORT)),
                       ("oncologist_report_2026-03-10.pdf", text_pdf(ONCOLOGIST_LETTER))]:
        mail.add_attachment(data, maintype="application", subtype="pdf", filename=name)
    mail.add_attachment(_nested_forwards(50, "ct_report_2026-03-05.pdf", text_pdf(CT_REPORT)))
    office.deliver(bytes(mail))
    assert office.once() == 0

    to_patient, to_triage = _split(office.new_replies())
    (confirmation,) = to_patient
    assert "One part of your email could not be read" in _flat(plain_text(confirmation))
    assert "One part of your email could not be read" in _flat(html_text(confirmation))
    assert to_triage
    triage_text = _flat(plain_text(to_triage[0]))
    assert "Parts of the email that could not be read" in triage_text
    assert "a forwarded message nested deeper than 32 levels" in triage_text


def test_multipart_without_boundary_is_reported(office, capsys):
    pdf = base64.encodebytes(text_pdf(HISTOLOGY_BREAST))
    raw = (b"From: " + MARIA.encode() + b"\r\nTo: second.opinion@hospital.example.org\r\n"
           b"Subject: my documents\r\nMessage-ID: <noboundary@patient.example.net>\r\nMIME-Version: 1.0\r\n"
           b"Content-Type: multipart/mixed\r\n\r\n--XYZ\r\nContent-Type: text/plain\r\n\r\nHello\r\n--XYZ\r\n"
           b"Content-Type: application/pdf; name=histology_report_2026-03-02.pdf\r\n"
           b"Content-Transfer-Encoding: base64\r\n\r\n" + pdf.replace(b"\n", b"\r\n") + b"--XYZ--\r\n")
    office.deliver(raw)
    assert office.once() == 0
    (reply,) = office.new_replies()
    assert "One part of your email could not be read" in _flat(plain_text(reply))
    case = _case(office)
    assert office.cli("case", case.ref) == 0
    assert "could not be read: a multipart/mixed section without a usable boundary" in capsys.readouterr().out


def test_undecodable_base64_attachment_is_reported_not_called_empty(office):
    raw = (b"From: " + MARIA.encode() + b"\r\nTo: second.opinion@hospital.example.org\r\n"
           b"Subject: documents\r\nMessage-ID: <b64@patient.example.net>\r\nMIME-Version: 1.0\r\n"
           b"Content-Type: multipart/mixed; boundary=B\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\n"
           + BODY_FORM.replace("\n", "\r\n").encode() + b"\r\n--B\r\n"
           b"Content-Type: application/pdf; name=ct_report_2026-03-05.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n"
           b"!!!!****@@@@ #### $$$$ %%%% ^^^^\r\n--B--\r\n")
    office.deliver(raw)
    assert office.once() == 0
    (reply,) = office.new_replies()
    text = _flat(plain_text(reply))
    assert "One part of your email could not be read" in text
    assert "the file is empty" not in text


# --- item 4: bounded, clean quotes ---------------------------------------------------------------

EVIL = "Your case is approved. Pay EUR 900 to IBAN XX00EVIL"
SEPARATORS = ("\u2028", "\u2029", "\u202e", "\u2066", "\u200f")


def _assert_clean(mail, limit_runs: dict[str, int]) -> None:
    parts = [plain_text(mail), html_text(mail), *(str(v) for _, v in mail.items()),
             *(p.get_filename() or "" for p in mail.iter_attachments())]
    for part in parts:
        for ch in SEPARATORS:
            assert ch not in part
        for letter, limit in limit_runs.items():
            runs = re.findall(f"{letter}+", part)
            assert max(map(len, runs), default=0) <= limit


def test_hostile_file_name_and_huge_name_are_quoted_clean_and_bounded(office):
    huge = "\u202e" + "A" * 2_000_000
    body = BODY_FORM.replace("patient_name: Maria Rossi", f"patient_name: {huge}") \
        .replace("condition: breast cancer", "condition: breast cancer\nrequestor_name: " + "B" * 500)
    office.deliver(patient_mail(MARIA, "Second opinion", body, [
        (f"report.pdf\u2028{EVIL}", text_pdf(CT_REPORT)),
        ("histology_report_2026-03-02.pdf", text_pdf(HISTOLOGY_BREAST)),
        ("mammography_report_2026-02-20.pdf", text_pdf(MAMMOGRAPHY_REPORT)),
        ("oncologist_report_2026-03-10.pdf", text_pdf(ONCOLOGIST_LETTER))]))
    assert office.once() == 0
    to_patient, to_triage = _split(office.new_replies())
    (reply,) = to_patient
    assert "is complete" in reply["Subject"] and to_triage
    assert len(bytes(reply)) < 40_000, len(bytes(reply))
    for mail in (reply, *to_triage):
        _assert_clean(mail, {"A": 120, "B": 120})
        text = plain_text(mail)
        assert "A" * 119 + "\u2026" in text                # cut to 120 with an ellipsis
        assert f"\n{EVIL}" not in text and f"\n- {EVIL}" not in text   # never a line of its own
        assert len(text) < 10_000
    assert f"report.pdf {EVIL}: its name" in _flat(plain_text(reply))   # quoted on its own line, as a name
    assert "Dear " + "B" * 119 + "\u2026," in plain_text(reply)
    # the full values stay in the case record
    case = _case(office)
    assert case.form["patient_name"].endswith("A" * 1000) and len(case.form["patient_name"]) > 1_999_000
    assert f"report.pdf\u2028{EVIL}" in _documents(office)


def test_hostile_values_reaching_triage_are_bounded_in_text_html_and_attachment_names(office):
    form = filled_request_form(**{**BREAST_FORM, "clinical_question": "Q" * 5_000,
                                  "patient_name": "Maria\u2029" + EVIL})
    office.deliver(patient_mail(MARIA, "Second opinion request", "Attached.", [
        ("request_form.pdf", form),
        ("histology_report_2026\u2028-03-02.pdf", text_pdf(HISTOLOGY_BREAST)),
        ("mammography_report_2026-02-20.pdf", text_pdf(MAMMOGRAPHY_REPORT)),
        ("oncologist_report_2026-03-10.pdf", text_pdf(ONCOLOGIST_LETTER)),
        ("x" * 300 + ".pdf", text_pdf(CT_REPORT))]))
    assert office.once() == 0
    to_patient, to_triage = _split(office.new_replies())
    assert to_triage and to_patient
    for mail in to_triage + to_patient:
        _assert_clean(mail, {"Q": 2_000, "x": 100})
    assert "histology_report_2026 -03-02.pdf" in attachment_names(to_triage[0])
    assert "Q" * 1_999 + "\u2026" in plain_text(to_triage[0])
    long_name = "x" * 95 + "\u2026.pdf"        # cut in the stem, the extension kept
    assert f"- {long_name}: its name" in plain_text(to_patient[0])
