"""The shipped rules classify realistic files as an office would, and never let a cover letter
or a form stand in for a clinical document."""

import pytest

from mailbot.documents.blank_forms import consent_form_pdf, request_form_pdf
from mailbot.documents.classify import classify
from mailbot.documents.inspect import inspect_document
from mailbot.rulebook import default_rules_dir, load_rulebook
from pdf_factory import (CT_REPORT, DISCHARGE_LETTER_IT, HISTOLOGY_BREAST, HISTOLOGY_BREAST_IT, MAMMOGRAPHY_REPORT,
                         ONCOLOGIST_LETTER, text_pdf)

RULES = load_rulebook(default_rules_dir())

COVER_LETTER = """Dear Second Opinion office,
I would like to request a second opinion about my treatment. My oncologist suggested surgery
and I have a clinical question about the alternatives. Please find my documents attached.
Kind regards, Maria Rossi"""


def primary(name: str, text: str) -> str | None:
    types = classify(name, text, RULES)
    return types[0] if types else None


@pytest.mark.parametrize("name,text,expected", [
    ("histology_report_2026-03-02.pdf", HISTOLOGY_BREAST, "histology_report"),
    ("referto_istologico.pdf", HISTOLOGY_BREAST_IT, "histology_report"),
    ("mammography_report_2026-02-20.pdf", MAMMOGRAPHY_REPORT, "mammography_report"),
    ("oncologist_report_2026-03-10.pdf", ONCOLOGIST_LETTER, "oncologist_report"),
    # a CT of chest, abdomen and pelvis: either CT type satisfies the lung/sarcoma imaging group
    ("chest_ct_report_2026-01-15.pdf", CT_REPORT, ("chest_ct_report", "ct_report")),
    ("pet_ct_2026-01-20.pdf", "", "pet_ct_report"),
    ("lettera_dimissione.pdf", DISCHARGE_LETTER_IT, "discharge_letter"),
])
def test_realistic_files_get_their_type_first(name, text, expected):
    assert primary(name, text) in (expected if isinstance(expected, tuple) else (expected,))


def test_a_cover_letter_is_never_an_oncologists_report():
    ins = inspect_document("letter.pdf", text_pdf(COVER_LETTER))
    assert "oncologist_report" not in classify("letter.pdf", ins.text, RULES)


@pytest.mark.parametrize("language", ["en", "it"])
def test_blank_forms_classify_only_as_themselves(language):
    for make, own in ((request_form_pdf, "request_form"), (consent_form_pdf, "consent_form")):
        ins = inspect_document("form.pdf", make(language))
        types = classify("form.pdf", ins.text, RULES)
        assert types[:1] == (own,) and "oncologist_report" not in types
