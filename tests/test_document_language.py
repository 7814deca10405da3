"""The document-language check: English and Italian medical reports dense with Latin, drug names
and abbreviations are never flagged; letters in other languages are, when there is enough text;
scans and short texts are never judged. The detector choice is measured here too."""

from __future__ import annotations

import time

import pytest

from mailbot.documents.assess import assess
from mailbot.documents.language import MIN_LETTERS, detect, foreign_language
from mailbot.parse import Attachment
from language_samples import ENGLISH, FOREIGN, ITALIAN
from pdf_factory import sample_rulebook, scanned_pdf, text_pdf

ACCEPTED = ("en", "it")


@pytest.mark.parametrize("text", ENGLISH + ITALIAN)
def test_english_and_italian_reports_are_never_flagged(text):
    assert foreign_language(text, ACCEPTED) is None
    verdict = detect(text)
    assert verdict is not None and verdict.language in ACCEPTED


def test_the_labelled_set_is_classified_exactly():
    labelled = [("en", t) for t in ENGLISH] + [("it", t) for t in ITALIAN] + FOREIGN
    assert [detect(text).language for _, text in labelled] == [lang for lang, _ in labelled]


@pytest.mark.parametrize("language,text", FOREIGN)
def test_letters_in_other_languages_are_flagged(language, text):
    assert foreign_language(text, ACCEPTED) == language


def test_a_german_letter_is_accepted_where_german_is():
    language, text = FOREIGN[0]
    assert foreign_language(text, ("en", "it", language)) is None


def test_short_texts_are_not_judged():
    short = "Befund: unauffällig. Keine Metastasen. Mit freundlichen Grüßen, Dr. K. Schneider"
    assert sum(ch.isalpha() for ch in short) < MIN_LETTERS
    assert detect(short) is None and foreign_language(short, ACCEPTED) is None


def test_lists_of_drugs_and_latin_are_not_flagged():
    latin = ("carcinoma ductale in situ; status post quadrantectomiam; lymphonodi axillares; metastasis hepatis; "
             "pemetrexed, carboplatinum, pembrolizumab, trastuzumab, pertuzumab, capecitabine, oxaliplatin, "
             "ondansetron, dexamethasone, enoxaparin, levothyroxine, letrozole, anastrozole, tamoxifen, "
             "goserelin, denosumab, zoledronic acid, filgrastim; q21d; b.i.d.; p.o.; s.c.; i.v.; ") * 3
    assert foreign_language(latin, ACCEPTED) is None


def test_assess_marks_a_foreign_clinical_pdf_unusable_and_names_its_language():
    rules = sample_rulebook()
    german = Attachment(filename="oncologist_report_2026-03-10.pdf", content_type="application/pdf",
                        data=text_pdf(FOREIGN[0][1]))
    judged = assess(german, rules, max_bytes=10_000_000, known_hashes=frozenset(), accepted_languages=ACCEPTED)
    assert judged.problem == "foreign_language" and judged.language == "de" and not judged.usable
    english = Attachment(filename="oncologist_report_2026-03-10.pdf", content_type="application/pdf",
                         data=text_pdf(ENGLISH[3]))
    fine = assess(english, rules, max_bytes=10_000_000, known_hashes=frozenset(), accepted_languages=ACCEPTED)
    assert fine.problem is None and fine.language == ""
    scan = Attachment(filename="oncologist_report_2026-03-10.pdf", content_type="application/pdf",
                      data=scanned_pdf())
    unjudged = assess(scan, rules, max_bytes=10_000_000, known_hashes=frozenset(), accepted_languages=ACCEPTED)
    assert unjudged.problem is None and unjudged.language == ""


def test_detector_comparison_on_the_labelled_set():
    """Why py3langid: on this set lingua-language-detector (when installed) is no more accurate,
    while py3langid is far smaller and faster to load. Both must get every sample right."""
    labelled = [("en", t) for t in ENGLISH] + [("it", t) for t in ITALIAN] + FOREIGN
    started = time.perf_counter()
    ours = [detect(text).language for _, text in labelled]
    ours_seconds = time.perf_counter() - started
    assert ours == [lang for lang, _ in labelled]
    assert ours_seconds < 5
    lingua = pytest.importorskip("lingua")
    detector = lingua.LanguageDetectorBuilder.from_all_languages().build()
    found = [detector.detect_language_of(text) for _, text in labelled]
    theirs = [f.iso_code_639_1.name.lower() if f is not None else "" for f in found]
    expected = [lang for lang, _ in labelled]
    assert sum(a == b for a, b in zip(ours, expected)) >= sum(a == b for a, b in zip(theirs, expected))
