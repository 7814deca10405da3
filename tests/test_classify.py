"""classify / explain_classification: file-name and content keywords against the rulebook."""

from __future__ import annotations

import pytest

from mailbot.documents.classify import (
    classify,
    explain_classification,
    filename_words,
    has_filename_keyword,
    split_name,
    words,
)
from mailbot.documents.inspect import inspect_document
from mailbot.rulebook.models import DocumentType, Title
from pdf_factory import (
    BLOOD_TESTS,
    CT_REPORT,
    DISCHARGE_LETTER_IT,
    HISTOLOGY_BREAST,
    HISTOLOGY_BREAST_IT,
    MAMMOGRAPHY_REPORT,
    ONCOLOGIST_LETTER,
    filled_consent_form,
    filled_request_form,
    sample_rulebook,
)

RULES = sample_rulebook()


def test_words_are_normalized() -> None:
    assert words("Referto ISTOLÓGICO, 2° esame") == ["referto", "istologico", "2", "esame"]
    assert filename_words(r"C:\Users\anna\HistologyReport2026-03-02.PDF") == [
        "histology", "report", "2026", "03", "02"]
    assert filename_words("referto_istologico-def.pdf") == ["referto", "istologico", "def"]
    assert split_name("a/b/Untitled (3).PDF") == ("Untitled (3)", "pdf")
    assert split_name("no_extension") == ("no_extension", "")
    assert split_name("report.2026.03.02") == ("report.2026.03.02", "")  # digits: a date, not an extension


@pytest.mark.parametrize("filename, expected", [
    ("histology_report_2026-03-02.pdf", "histology_report"),
    ("Histology Report.pdf", "histology_report"),
    ("HistologyReport.pdf", "histology_report"),
    ("referto_istologico.pdf", "histology_report"),
    ("Biopsia mammella sx.pdf", "histology_report"),
    ("CT_chest_2026.pdf", "ct_report"),
    ("TAC torace.pdf", "ct_report"),
    ("mammografia_14-02-2026.pdf", "mammography_report"),
    ("visita oncologica.pdf", "oncologist_report"),
    ("lettera_dimissione.pdf", "discharge_letter"),
    ("request_form.pdf", "request_form"),
    ("modulo_richiesta.pdf", "request_form"),
    ("Consenso informato.pdf", "consent_form"),
])
def test_filename_alone_classifies(filename: str, expected: str) -> None:
    assert classify(filename, "", RULES) == (expected,)


@pytest.mark.parametrize("text, expected", [
    (HISTOLOGY_BREAST, "histology_report"),
    (HISTOLOGY_BREAST_IT, "histology_report"),
    (MAMMOGRAPHY_REPORT, "mammography_report"),
    (CT_REPORT, "ct_report"),
    (ONCOLOGIST_LETTER, "oncologist_report"),
    (DISCHARGE_LETTER_IT, "discharge_letter"),
])
def test_content_alone_classifies_best_first(text: str, expected: str) -> None:
    found = classify("scan0001.pdf", text, RULES)
    assert found[0] == expected


def test_secondary_types_follow_the_primary() -> None:
    # The histology report quotes the mammography (BI-RADS 5 at mammography): both are returned,
    # histology first because it scores far higher.
    found = classify("scan0001.pdf", HISTOLOGY_BREAST, RULES)
    assert found == ("histology_report", "mammography_report")
    explained = explain_classification("scan0001.pdf", HISTOLOGY_BREAST, RULES)
    assert explained["histology_report"].score > explained["mammography_report"].score


def test_nothing_recognised() -> None:
    assert classify("IMG_2231.pdf", "", RULES) == ()
    assert classify("scan.pdf", BLOOD_TESTS, RULES) == ()
    assert classify("photo.jpg", "holiday pictures from the lake", RULES) == ()


def test_one_single_word_content_hit_is_not_enough() -> None:
    assert classify("x.pdf", "The word carcinoma alone.", RULES) == ()
    assert classify("x.pdf", "Carcinoma confirmed at biopsy.", RULES) == ("histology_report",)


def test_one_multi_word_content_hit_is_enough() -> None:
    assert classify("x.pdf", "Allegato: referto istologico.", RULES) == ("histology_report",)
    assert classify("x.pdf", "Computed   Tomography\nof the chest", RULES) == ("ct_report",)


def test_keywords_match_whole_words_only() -> None:
    # "ct" is a keyword, but not inside "contract", "doctor" or "Ct2" glued to other letters.
    assert classify("contract_doctor.pdf", "", RULES) == ()
    assert classify("x.pdf", "The tactile examination of the contractor", RULES) == ()


def test_filename_outweighs_content() -> None:
    # Named as a CT report, content mentions two histology words: CT first.
    found = classify("ct_report.pdf", "carcinoma seen at previous biopsy", RULES)
    assert found == ("ct_report", "histology_report")


def test_words_of_a_longer_keyword_belong_to_its_type() -> None:
    rules = RULES.model_copy(update={"documents": {
        **RULES.documents,
        "mri_report": DocumentType(title=Title(en="MRI report", it="Referto RM"),
                                   filename_keywords=("mri", "rm"), content_keywords=("mri", "gadolinium")),
        "breast_mri_report": DocumentType(title=Title(en="Breast MRI", it="RM mammaria"),
                                          filename_keywords=("breast mri", "rm mammaria"),
                                          content_keywords=("breast mri", "enhancement")),
    }})
    assert classify("Breast_MRI_2026-03-02.pdf", "", rules) == ("breast_mri_report",)
    assert classify("RM_mammaria.pdf", "", rules) == ("breast_mri_report",)
    assert classify("x.pdf", "Breast MRI with gadolinium: no enhancement.", rules) == ("breast_mri_report",)
    explained = explain_classification("x.pdf", "Breast MRI with gadolinium: no enhancement.", rules)
    assert explained["mri_report"].content_keywords == ("gadolinium",)   # "mri" was claimed
    # Elsewhere in the text "MRI" stands alone: then it counts for the MRI report too.
    both = "Breast MRI: no enhancement. Brain MRI with gadolinium: normal."
    assert classify("x.pdf", both, rules) == ("breast_mri_report", "mri_report")


def test_repeated_keyword_counts_once() -> None:
    explained = explain_classification("x.pdf", "carcinoma carcinoma CARCINOMA", RULES)
    assert explained["histology_report"].content_keywords == ("carcinoma",)
    assert not explained["histology_report"].accepted
    assert classify("x.pdf", "carcinoma carcinoma CARCINOMA", RULES) == ()


def test_explanation_names_the_matched_keywords() -> None:
    explained = explain_classification("referto_istologico_2026.pdf", HISTOLOGY_BREAST_IT, RULES)
    histology = explained["histology_report"]
    assert histology.accepted
    assert histology.filename_keywords == ("istologico",)
    assert {"referto istologico", "esame istologico", "carcinoma", "immunoistochimica", "ki-67"} <= set(
        histology.content_keywords)
    assert list(explained)[0] == "histology_report"
    assert all(m.type_id == type_id for type_id, m in explained.items())


def test_forms_are_administrative_documents() -> None:
    request = inspect_document("x.pdf", filled_request_form(patient_name="Maria Rossi"))
    consent = inspect_document("x.pdf", filled_consent_form(form_language="it", patient_name="Maria Rossi"))
    assert classify("document.pdf", request.text, RULES) == ("request_form",)
    assert classify("document.pdf", consent.text, RULES) == ("consent_form",)


def test_has_filename_keyword() -> None:
    assert has_filename_keyword("mammografia.pdf", RULES)
    assert has_filename_keyword("Modulo di CONSENSO.pdf", RULES)
    assert not has_filename_keyword("mamma_documenti.pdf", RULES)


def test_classification_is_pure_and_repeatable() -> None:
    first = classify("ct_report.pdf", HISTOLOGY_BREAST, RULES)
    assert classify("ct_report.pdf", HISTOLOGY_BREAST, RULES) == first
    assert RULES == sample_rulebook()
