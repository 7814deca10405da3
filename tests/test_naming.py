"""check_name / find_date: the naming policy and the suggested name."""

from __future__ import annotations

from datetime import date

import pytest

from mailbot.documents.classify import classify
from mailbot.documents.naming import NameVerdict, check_name, find_date, is_generic
from pdf_factory import CT_REPORT, HISTOLOGY_BREAST, HISTOLOGY_BREAST_IT, sample_rulebook

RULES = sample_rulebook()


@pytest.mark.parametrize("filename", [
    "histology_report_2026-03-02.pdf",
    "Referto istologico 02.03.2026.PDF",
    "CT_chest_abdomen_2026-03-05.pdf",
    "mammografia.pdf",
    r"C:\Users\anna\Desktop\consent_form_signed.pdf",
])
def test_good_names_pass(filename: str) -> None:
    assert check_name(filename, (), "", RULES) == NameVerdict(ok=True, reason=None, suggestion=None)


@pytest.mark.parametrize("filename", [
    "scan0001.pdf", "IMG_2231.pdf", "document.pdf", "20260302.pdf", "Untitled (3).pdf", "doc1.pdf",
    "scan.pdf", "Scan 2 marzo 2026.pdf", "file_2026-03-02.pdf", "IMAGE 12.pdf", "img-0042.pdf",
])
def test_generic_names(filename: str) -> None:
    verdict = check_name(filename, ("histology_report",), HISTOLOGY_BREAST, RULES)
    assert not verdict.ok and verdict.reason == "generic"
    assert verdict.suggestion is not None and verdict.suggestion.startswith("histology_report_")


def test_generic_is_about_the_whole_stem() -> None:
    generic = RULES.naming.generic_names
    assert is_generic("scan0001", generic)
    assert not is_generic("ct scan 2026", generic)          # "ct" says something
    assert not is_generic("scan_histology", generic)
    assert is_generic("", generic)                           # nothing at all says nothing
    assert not is_generic("scan", ("image",))                # only the listed words count
    assert is_generic("scan0001", (r"^scan\d*$",))          # a regex on the lower-case stem


def test_no_keyword() -> None:
    verdict = check_name("my mother's records.pdf", ("ct_report",), CT_REPORT, RULES)
    assert verdict == NameVerdict(ok=False, reason="no_keyword", suggestion="ct_report_2026-03-05.pdf")


def test_too_short_and_too_long() -> None:
    assert check_name("ct.pdf", ("ct_report",), "", RULES).reason == "too_short"
    long_name = "histology_report_" + "very_" * 14 + "long.pdf"
    assert len(long_name) > RULES.naming.max_length
    verdict = check_name(long_name, ("histology_report",), HISTOLOGY_BREAST, RULES)
    assert (verdict.reason, verdict.suggestion) == ("too_long", "histology_report_2026-03-02.pdf")
    exact = "histology_" + "x" * (RULES.naming.max_length - len("histology_.pdf")) + ".pdf"
    assert len(exact) == RULES.naming.max_length and check_name(exact, (), "", RULES).ok


@pytest.mark.parametrize("filename", ["histology_report.docx", "histology_report.jpg", "histology_report",
                                      "histology.pdf.exe"])
def test_bad_extension(filename: str) -> None:
    verdict = check_name(filename, ("histology_report",), "", RULES)
    assert verdict.reason == "bad_extension"
    assert verdict.suggestion == "histology_report.pdf"


def test_extension_policy_comes_from_the_rules() -> None:
    rules = sample_rulebook(allowed_extensions=(".PDF", "jpg"))
    assert check_name("histology_report.jpg", (), "", rules).ok
    assert check_name("histology_report.Pdf", (), "", rules).ok
    assert check_name("histology_report.png", (), "", rules).reason == "bad_extension"


def test_suggestion_prefers_the_date_in_the_name() -> None:
    verdict = check_name("scan_02.03.2026.pdf", ("histology_report",), CT_REPORT, RULES)
    assert verdict.suggestion == "histology_report_2026-03-02.pdf"


def test_suggestion_uses_the_date_in_the_text() -> None:
    verdict = check_name("scan0001.pdf", ("histology_report",), HISTOLOGY_BREAST_IT, RULES)
    assert verdict.suggestion == "histology_report_2026-03-02.pdf"


def test_suggestion_without_date_or_type() -> None:
    assert check_name("scan0001.pdf", ("ct_report",), "no date here", RULES).suggestion == "ct_report.pdf"
    assert check_name("scan0001.pdf", (), CT_REPORT, RULES).suggestion is None
    assert check_name("scan0001.pdf", ("not_a_type",), CT_REPORT, RULES).suggestion is None
    # The first *recognised* type is used.
    assert check_name("scan0001.pdf", ("nope", "ct_report"), "", RULES).suggestion == "ct_report.pdf"


def test_classify_then_check_name_end_to_end() -> None:
    types = classify("scan0001.pdf", HISTOLOGY_BREAST, RULES)
    verdict = check_name("scan0001.pdf", types, HISTOLOGY_BREAST, RULES)
    assert verdict == NameVerdict(ok=False, reason="generic", suggestion="histology_report_2026-03-02.pdf")


@pytest.mark.parametrize("text, expected", [
    ("Report date: 2026-03-02", date(2026, 3, 2)),
    ("Data: 02/03/2026", date(2026, 3, 2)),              # day first (European)
    ("Data: 2.3.2026", date(2026, 3, 2)),
    ("Milano, 2 marzo 2026", date(2026, 3, 2)),
    ("Milano, 2 Marzo, 2026", date(2026, 3, 2)),
    ("London, 2nd March 2026", date(2026, 3, 2)),
    ("London, 2 Mar. 2026", date(2026, 3, 2)),
    ("March 2, 2026", date(2026, 3, 2)),
    ("1° settembre 2025", date(2025, 9, 1)),
    ("IMG_20260302_101500", date(2026, 3, 2)),
    ("histology_2026_03_02", date(2026, 3, 2)),
    ("referto_2_marzo_2026", date(2026, 3, 2)),
    ("Nata il 14/05/1995. Referto del 03.04.2026", date(2026, 4, 3)),   # birth date skipped
    ("Date of birth: 1992-01-01, visit 2026-01-05", date(2026, 1, 5)),
    ("DOB 12/05/1991 - exam 2 marzo 2026", date(2026, 3, 2)),
    ("31/02/2026 is impossible; 28/02/2026 is fine", date(2026, 2, 28)),
    ("first 05/03/2026 then 2026-01-01", date(2026, 3, 5)),            # first in the text wins
])
def test_find_date(text: str, expected: date) -> None:
    assert find_date(text) == expected


@pytest.mark.parametrize("text", [
    "", "no date", "1985-06-01", "12/05/1961", "2101-01-01", "Ki-67 25%, ER 90%", "phone 0245678901",
    "13/13/2026", "2026-3", "version 1.2.2026b",
])
def test_find_date_finds_nothing_plausible(text: str) -> None:
    assert find_date(text) is None
