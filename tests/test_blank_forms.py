"""Blank fillable forms: exact field names, languages, A4, determinism, round trip."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader

from mailbot.documents.blank_forms import (
    CONSENT_FORM_FIELDS,
    REQUEST_FORM_FIELDS,
    consent_form_pdf,
    request_form_pdf,
)
from mailbot.documents.classify import classify
from mailbot.documents.inspect import inspect_document
from pdf_factory import filled_consent_form, filled_request_form, sample_rulebook

SPEC_REQUEST_FIELDS = [
    "patient_name", "patient_birth_date", "patient_email", "requestor_name", "requestor_email",
    "requestor_role", "referring_physician_code", "condition", "consultation_type", "language",
    "delivery", "share_with_referring_physician", "clinical_question",
]
SPEC_CONSENT_FIELDS = ["patient_name", "patient_birth_date", "authorised_name", "signature_date"]
FORMS = [
    (request_form_pdf, SPEC_REQUEST_FIELDS, {"en": "Second opinion request form",
                                             "it": "Modulo di richiesta di secondo parere"}),
    (consent_form_pdf, SPEC_CONSENT_FIELDS, {"en": "Consent form", "it": "Modulo di consenso"}),
]


def test_exported_field_lists_match_the_spec() -> None:
    assert list(REQUEST_FORM_FIELDS) == SPEC_REQUEST_FIELDS
    assert list(CONSENT_FORM_FIELDS) == SPEC_CONSENT_FIELDS


@pytest.mark.parametrize("language", ["en", "it"])
@pytest.mark.parametrize("make, names, titles", FORMS)
def test_blank_form_has_exactly_the_contract_fields(make, names, titles, language) -> None:
    data = make(language)
    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)  # A4
    assert sorted(reader.get_fields()) == sorted(names)
    found = inspect_document("form.pdf", data)
    assert found.problem is None and found.has_text
    assert titles[language] in found.text
    assert found.fields == {name: "" for name in names}


@pytest.mark.parametrize("make, names, titles", FORMS)
def test_output_is_deterministic_and_language_specific(make, names, titles) -> None:
    assert make("en") == make("en")
    assert make("it") == make("it")
    assert make("it") != make("en")
    assert make("xx") == make("en")       # unknown language: English
    assert make("IT") == make("it")


def test_italian_labels_keep_their_accents() -> None:
    text = inspect_document("modulo.pdf", request_form_pdf("it")).text
    assert "Lei è" in text
    assert "Perché desidera un secondo parere?" in text


def test_multiline_and_choice_fields() -> None:
    fields = PdfReader(io.BytesIO(request_form_pdf())).get_fields()
    assert int(fields["clinical_question"].get("/Ff", 0)) & (1 << 12)      # multiline text
    for name, options in [("requestor_role", {"patient", "referring_physician", "family_member"}),
                          ("language", {"en", "it"}), ("delivery", {"email", "courier"}),
                          ("share_with_referring_physician", {"yes", "no"})]:
        assert fields[name]["/FT"] == "/Ch"
        assert options <= {str(o).strip() for o in fields[name]["/_States_"]}


def test_filled_forms_round_trip() -> None:
    values = {
        "patient_name": "Giovanni Bruno", "patient_birth_date": "1959-11-30",
        "patient_email": "g.bruno@example.org", "requestor_name": "Dr. Sara Galli",
        "requestor_email": "s.galli@example.org", "requestor_role": "referring_physician",
        "referring_physician_code": "MI-12345", "condition": "lung cancer",
        "consultation_type": "oncological", "language": "it", "delivery": "courier",
        "share_with_referring_physician": "yes",
        "clinical_question": "Is surgery still an option after\nneoadjuvant therapy?",
    }
    found = inspect_document("richiesta.pdf", filled_request_form(form_language="it", **values))
    assert found.problem is None
    assert found.fields == values
    consent = {"patient_name": "Giovanni Bruno", "patient_birth_date": "1959-11-30",
               "authorised_name": "Dr. Sara Galli", "signature_date": "2026-03-02"}
    assert inspect_document("consenso.pdf", filled_consent_form(**consent)).fields == consent


def test_unknown_field_names_are_refused() -> None:
    with pytest.raises(ValueError, match="patient_nmae"):
        filled_request_form(patient_nmae="typo")


@pytest.mark.parametrize("language", ["en", "it"])
def test_blank_forms_classify_as_themselves_only(language: str) -> None:
    rules = sample_rulebook()
    request = inspect_document("x.pdf", request_form_pdf(language)).text
    consent = inspect_document("x.pdf", consent_form_pdf(language)).text
    assert classify("x.pdf", request, rules) == ("request_form",)
    assert classify("x.pdf", consent, rules) == ("consent_form",)
