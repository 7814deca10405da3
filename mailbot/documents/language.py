"""Which language a document's text layer is written in. Pure (the model ships in the package).

The office reads English and Italian; a clinical letter in another language needs an official
translation. The detector is py3langid (a maintained fork of langid.py, naive Bayes over byte
n-grams, trained on 97 languages): on the labelled medical set in tests/language_samples.py it
scored as well as lingua-language-detector (every sample right) while being about twenty times
smaller (4.5 MB against 96 MB), loading in about a second instead of twenty, and running in
milliseconds per document.

Only a confident verdict on enough text counts. A scan without a text layer and a short text
(a label, a cover page, a table of numbers) are not judged: they are never flagged. Latin is not
a candidate: medical English and Italian are full of it, and nobody writes a clinical letter in it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

MIN_LETTERS = 300          # letters of text needed before the language is judged at all
MIN_CONFIDENCE = 0.99      # normalised probability of the winning language
MAX_CHARS = 20_000         # the first pages say it; the rest only costs time

# languages a patient's documents may plausibly be written in (py3langid codes); Latin left out
CANDIDATES = ("en", "it", "de", "fr", "es", "pt", "nl", "ro", "pl", "cs", "sk", "sl", "hr", "sr", "bs", "sq",
              "el", "hu", "sv", "da", "no", "fi", "et", "lv", "lt", "ru", "uk", "bg", "tr", "ar", "he", "fa",
              "zh", "ja", "ko", "hi", "mt", "ca", "gl", "eu")


@dataclass(frozen=True)
class Verdict:
    language: str       # ISO 639-1 code
    confidence: float


@lru_cache(maxsize=1)
def _identifier():
    from py3langid.langid import MODEL_FILE, LanguageIdentifier
    ident = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    ident.set_languages(list(CANDIDATES))
    return ident


def letters(text: str) -> int:
    return sum(ch.isalpha() for ch in text)


def detect(text: str) -> Verdict | None:
    """The language of `text`, or None when there is too little text to judge."""
    sample = re.sub(r"\s+", " ", (text or "")[:MAX_CHARS])
    if letters(sample) < MIN_LETTERS:
        return None
    language, confidence = _identifier().classify(sample)
    return Verdict(str(language), float(confidence))


def foreign_language(text: str, accepted: tuple[str, ...]) -> str | None:
    """The language of a text confidently written in none of `accepted`; else None."""
    verdict = detect(text)
    if verdict is None or verdict.confidence < MIN_CONFIDENCE or verdict.language in accepted:
        return None
    return verdict.language
