"""Guess English or Italian from a few very common words; the form's `language` field wins."""

from __future__ import annotations

import re

_IT = {"il", "lo", "la", "gli", "le", "di", "del", "della", "che", "per", "sono", "mia", "mio", "buongiorno",
       "salve", "gentile", "grazie", "allego", "allegato", "allegati", "referto", "referti", "cordiali",
       "saluti", "madre", "padre", "moglie", "marito", "con", "una", "non", "secondo", "parere", "vorrei"}
_EN = {"the", "and", "of", "to", "my", "is", "for", "with", "please", "find", "attached", "dear", "hello",
       "thank", "thanks", "regards", "mother", "father", "wife", "husband", "would", "like", "second", "opinion"}


def detect_language(text: str, default: str) -> str:
    words = re.findall(r"[a-zà-ù]+", (text or "").lower()[:4000])
    it = sum(w in _IT for w in words)
    en = sum(w in _EN for w in words)
    if it > en and it >= 2:
        return "it"
    if en > it and en >= 2:
        return "en"
    return default
