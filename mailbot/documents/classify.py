"""File name + text layer -> which document types a file is. Pure and explainable.

Matching works on normalized words: lower case, accents stripped, anything that is not a letter or
a digit is a separator. In file names, camelCase and letter/digit boundaries also separate words
("HistologyReport2026.pdf" -> "histology report 2026 pdf"). A keyword of several words matches the
same words in a row, so "histology report" matches `histology_report.pdf` and "Histology Report".

Scoring (per document type, over distinct keywords):
- a file-name keyword scores FILENAME_WEIGHT per word of the keyword;
- a content keyword scores 1 per word of the keyword;
- a type counts when it has a file-name keyword, or at least 2 distinct content keywords, or one
  multi-word content keyword. Types that count are returned best first (ties: rule-file order).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from mailbot.rulebook.models import Rulebook

FILENAME_WEIGHT = 3
MIN_CONTENT_HITS = 2

_CAMEL_RE = re.compile(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_LETTER_DIGIT_RE = re.compile(r"(?<=[^\W\d_])(?=\d)|(?<=\d)(?=[^\W\d_])")
_SEPARATOR_RE = re.compile(r"[\W_]+")


def strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def words(text: str, *, split_compounds: bool = False) -> list[str]:
    """Normalized words of `text`. `split_compounds` also splits camelCase and letter/digit runs
    (right for file names, where people glue words together)."""
    if split_compounds:
        text = _LETTER_DIGIT_RE.sub(" ", _CAMEL_RE.sub(" ", text))
    return [w for w in _SEPARATOR_RE.split(strip_accents(text).lower()) if w]


def split_name(filename: str) -> tuple[str, str]:
    """(stem, extension lower case without the dot) of the last path component; a Windows or
    POSIX directory part is dropped. No extension (or only digits after the last dot): ""."""
    base = re.split(r"[\\/]", filename.strip())[-1]
    stem, dot, ext = base.rpartition(".")
    if not dot or not stem or not re.fullmatch(r"[A-Za-z0-9]{1,5}", ext) or ext.isdigit():
        return base, ""
    return stem, ext.lower()


def filename_words(filename: str) -> list[str]:
    """Normalized words of a file name's stem (directory and extension dropped)."""
    return words(split_name(filename)[0], split_compounds=True)


def _padded(ws: list[str]) -> str:
    return " " + " ".join(ws) + " "


def _matching(keywords: tuple[str, ...], haystack: str, *, split_compounds: bool) -> tuple[str, ...]:
    """The keywords (as written in the rules, first spelling wins) found in a padded word string."""
    found: dict[str, str] = {}
    for keyword in keywords:
        needle = " ".join(words(keyword, split_compounds=split_compounds))
        if needle and needle not in found and f" {needle} " in haystack:
            found[needle] = keyword
    return tuple(found.values())


@dataclass(frozen=True)
class TypeMatch:
    """Why a file is (or is not) taken for one document type."""

    type_id: str
    filename_keywords: tuple[str, ...]
    content_keywords: tuple[str, ...]
    score: int
    accepted: bool


def explain_classification(filename: str, text: str, rulebook: Rulebook) -> dict[str, TypeMatch]:
    """Every document type with at least one keyword hit, with the keywords that matched.
    Accepted types first, best first; the same order `classify` uses."""
    name_haystack = _padded(filename_words(filename))
    text_haystack = _padded(words(text))
    matches: list[TypeMatch] = []
    for type_id, doc_type in rulebook.all_document_types().items():
        in_name = _matching(doc_type.filename_keywords, name_haystack, split_compounds=True)
        in_text = _matching(doc_type.content_keywords, text_haystack, split_compounds=False)
        if not in_name and not in_text:
            continue
        text_sizes = [len(words(k)) for k in in_text]
        score = FILENAME_WEIGHT * sum(len(words(k, split_compounds=True)) for k in in_name) + sum(text_sizes)
        accepted = bool(in_name) or len(in_text) >= MIN_CONTENT_HITS or any(n > 1 for n in text_sizes)
        matches.append(TypeMatch(type_id, in_name, in_text, score, accepted))
    matches.sort(key=lambda m: (not m.accepted, -m.score))  # stable: rule-file order breaks ties
    return {m.type_id: m for m in matches}


def classify(filename: str, text: str, rulebook: Rulebook) -> tuple[str, ...]:
    """Ids of the document types (documents and administrative) this file is, best first;
    () when nothing is recognised."""
    return tuple(t for t, m in explain_classification(filename, text, rulebook).items() if m.accepted)


def has_filename_keyword(filename: str, rulebook: Rulebook) -> bool:
    """Whether the name carries a file-name keyword of any document type."""
    haystack = _padded(filename_words(filename))
    return any(_matching(t.filename_keywords, haystack, split_compounds=True)
               for t in rulebook.all_document_types().values())
