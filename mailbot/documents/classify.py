"""File name + text layer -> which document types a file is. Pure and explainable.

Matching works on normalized words (`rulebook.models.fold`): lower case, accents stripped, anything
that is not a letter or a digit is a separator. In file names, camelCase and letter/digit boundaries
also separate words ("HistologyReport2026.pdf" -> "histology report 2026"). A keyword of several
words matches the same words in a row, so "histology report" matches `histology_report.pdf` and
"Histology Report". Words inside a longer keyword of another type belong to that type: in
"PET-CT scan" the PET-CT keyword "pet ct" wins over the CT keyword "ct"; in "breast MRI",
"breast mri" wins over "mri".

Scoring (per document type, over distinct keywords):
- a file-name keyword scores FILENAME_WEIGHT per word of the keyword;
- a content keyword scores 1 per word of the keyword;
- a type counts when it has a file-name keyword, or at least 2 distinct content keywords, or one
  multi-word content keyword. Types that count are returned best first (ties: rule-file order).
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass

from mailbot.rulebook.models import Rulebook, fold

FILENAME_WEIGHT = 3
MIN_CONTENT_HITS = 2
MAX_SPANS = 50  # occurrences of one keyword looked at

_CAMEL_RE = re.compile(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_LETTER_DIGIT_RE = re.compile(r"(?<=[^\W\d_])(?=\d)|(?<=\d)(?=[^\W\d_])")


def words(text: str, *, split_compounds: bool = False) -> list[str]:
    """Normalized words of `text` (the rulebook's `fold`: lower case, accents stripped).
    `split_compounds` also splits camelCase and letter/digit runs (right for file names, where
    people glue words together)."""
    if split_compounds:
        text = _LETTER_DIGIT_RE.sub(" ", _CAMEL_RE.sub(" ", text))
    return fold(text).split()


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


Span = tuple[int, int]


def _hits(keywords: tuple[str, ...], haystack: str, *, split_compounds: bool) -> dict[str, list[Span]]:
    """The keywords found in a padded word string (as written in the rules; of two spellings with
    the same words the first wins) -> where they occur (character spans, at most MAX_SPANS)."""
    hits: dict[str, list[Span]] = {}
    seen: set[str] = set()
    for keyword in keywords:
        needle = " ".join(words(keyword, split_compounds=split_compounds))
        if not needle or needle in seen:
            continue
        seen.add(needle)
        spans: list[Span] = []
        at = haystack.find(f" {needle} ")
        while at >= 0 and len(spans) < MAX_SPANS:
            spans.append((at + 1, at + 1 + len(needle)))
            at = haystack.find(f" {needle} ", at + 1)
        if spans:
            hits[keyword] = spans
    return hits


def _claimed_matches(keywords_by_type: dict[str, tuple[str, ...]], haystack: str, *,
                     split_compounds: bool) -> dict[str, tuple[str, ...]]:
    """Per type, the keywords found in `haystack` at least once outside a longer keyword of
    another type: in "PET CT scan", "pet ct" (PET-CT report) claims the words, so "ct" (CT report)
    does not count there."""
    found = {type_id: _hits(keywords, haystack, split_compounds=split_compounds)
             for type_id, keywords in keywords_by_type.items()}
    # Only an occurrence of several words (a space inside its span) can hold another keyword.
    claims = sorted((start, end, type_id) for type_id, hits in found.items()
                    for spans in hits.values() for start, end in spans if " " in haystack[start:end])
    starts = [start for start, _, _ in claims]
    longest = max((end - start for start, end, _ in claims), default=0)

    def free(start: int, end: int, owner: str) -> bool:
        first = bisect_left(starts, start - longest)
        last = bisect_right(starts, start)
        return not any(other != owner and end <= b and b - a > end - start
                       for a, b, other in claims[first:last])

    kept = {type_id: tuple(k for k, spans in hits.items() if any(free(a, b, type_id) for a, b in spans))
            for type_id, hits in found.items()}
    return {type_id: keywords for type_id, keywords in kept.items() if keywords}


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
    types = rulebook.all_document_types()
    by_name = _claimed_matches({t: d.filename_keywords for t, d in types.items()},
                               _padded(filename_words(filename)), split_compounds=True)
    by_text = _claimed_matches({t: d.content_keywords for t, d in types.items()},
                               _padded(words(text)), split_compounds=False)
    matches: list[TypeMatch] = []
    for type_id in types:
        in_name, in_text = by_name.get(type_id, ()), by_text.get(type_id, ())
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
    return any(_hits(t.filename_keywords, haystack, split_compounds=True)
               for t in rulebook.all_document_types().values())
