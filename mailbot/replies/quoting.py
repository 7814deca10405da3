"""Sender-written text made safe to quote in a reply, a header or an admin notice. Pure.

Names, file names, form values, the clinical question and staff command lines come from whoever
wrote the email or filled in the PDF. Quoted verbatim they could start a new line or paragraph
of an official reply (U+2028 "Your case is approved. Pay ..."), reorder text with bidi
controls, or make a 2 MB name into a 5 MB reply. So, at the one place where replies are
rendered, every string of the template context is

* cleaned: line and paragraph breaks of any kind (CR, LF, tab, U+0085, U+2028, U+2029) become a
  space; other control and format characters (Unicode Cc, Cf, Cs: bidi embeddings, overrides and
  isolates, U+200E/U+200F, U+061C, zero-width characters) are removed; runs of spaces collapse;
* cut to a length chosen by its key (`LIMITS`, else `DEFAULT_LIMIT`), ending with "…";
  a file name keeps its extension.

The case record keeps the full values; only what is shown is bounded.
"""

from __future__ import annotations

import unicodedata
from typing import Any

ELLIPSIS = "…"

NAME_LIMIT = 120
FILENAME_LIMIT = 100
CLINICAL_QUESTION_LIMIT = 2_000
DEFAULT_LIMIT = 1_000        # any other string, ours (rule-file descriptions) included

FILENAME_KEYS = frozenset(("filename", "suggestion", "files", "documents_list", "active_files", "inside"))
LIMITS: dict[str, int] = {
    # people
    **dict.fromkeys(("patient_name", "requestor_name", "authorised_name", "doctor_name", "name",
                     "specialist", "sender_name"), NAME_LIMIT),
    # file names (a string, or each string of a list under that key)
    **dict.fromkeys(FILENAME_KEYS, FILENAME_LIMIT),
    "clinical_question": CLINICAL_QUESTION_LIMIT,
    # short form values and addresses
    **dict.fromkeys(("patient_birth_date", "requestor_role", "referring_physician_code", "consultation_type",
                     "delivery", "share_with_referring_physician", "language", "given", "condition"), 200),
    **dict.fromkeys(("sender", "requestor_email", "patient_email"), 320),
    # staff words quoted back: a command line, items asked for, reasons
    **dict.fromkeys(("line", "item", "items", "triage_missing", "asked", "missing_items", "unreadable_parts"), 300),
    **dict.fromkeys(("reason", "what", "triage_note", "note"), DEFAULT_LIMIT),
}

_AS_SPACE = frozenset("\t\n\v\f\r\x1c\x1d\x1e\x1f\x85\u2028\u2029")
_DROPPED = frozenset(("Cc", "Cf", "Cs", "Zl", "Zp"))


def clean(text: str, limit: int = DEFAULT_LIMIT) -> str:
    """One line of visible text, at most `limit` characters (the last one "…" when cut)."""
    text = text[: limit * 4 + 64]   # bounded work: what can survive the cut is at the start
    kept = []
    for ch in text:
        if ch in _AS_SPACE:
            kept.append(" ")
        elif ch.isascii() and ch.isprintable() or unicodedata.category(ch) not in _DROPPED:
            kept.append(ch)
    line = " ".join("".join(kept).split())
    if len(line) <= limit:
        return line
    return line[: limit - 1].rstrip() + ELLIPSIS


def clean_filename(name: str, limit: int = FILENAME_LIMIT) -> str:
    """A file name as `clean` makes it, cut in its stem so that the extension stays visible."""
    line = clean(name, limit)
    if not line.endswith(ELLIPSIS):
        return line
    stem, dot, extension = name.rpartition(".")
    extension = clean(extension, 9)
    if not dot or not extension or len(extension) > 8 or " " in extension:
        return line
    return clean(stem, limit - len(extension) - 1) + "." + extension


def quote_context(context: dict[str, Any]) -> dict[str, Any]:
    """The template context with every string cleaned and cut by its key (recursively)."""
    return {key: _quote(value, key) for key, value in context.items()}


def _quote(value: Any, key: str) -> Any:
    if isinstance(value, str):
        limit = LIMITS.get(key, DEFAULT_LIMIT)
        return clean_filename(value, limit) if key in FILENAME_KEYS else clean(value, limit)
    if isinstance(value, dict):
        return {k: _quote(v, k if isinstance(k, str) else key) for k, v in value.items()}
    if isinstance(value, list):
        return [_quote(v, key) for v in value]
    if isinstance(value, tuple):
        return tuple(_quote(v, key) for v in value)
    return value
