"""Commands in replies: the first non-quoted, non-empty line, case-insensitive. Pure.

mail-parser-reply strips the quoted history ("On ... wrote:", "Il giorno ... ha scritto:",
Outlook headers) in English and Italian; we then skip greetings-free blank lines and '>' lines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from mailparser_reply import EmailReplyParser

STAFF_VERBS = {"triage": ("APPROVE", "MISSING", "REJECT"), "admin": ("PAID", "EMAIL"),
               "specialist": ("DECLINE", "CONSULT", "MISSING")}
REQUESTOR_VERBS = ("CANCEL", "YES", "NO", "TREATMENT", "ADDITIONAL")
ALL_VERBS = ("APPROVE", "MISSING", "REJECT", "PAID", "DECLINE", "CONSULT", "CANCEL", "YES", "NO", "TREATMENT",
             "ADDITIONAL", "EMAIL")
# EMAIL <role> <address>: the roles whose address an admin may correct (Italian words too)
EMAIL_ROLES = {"requestor": "requestor", "patient": "patient", "richiedente": "requestor", "paziente": "patient"}
_EMAIL_LINE = re.compile(r"(\w+)\s*:?\s+<?([^\s<>@]+@[^\s<>@]+\.[^\s<>@]+?)>?", re.I)
# the answer to a request to confirm a command, in English and Italian
CONFIRM_WORDS = ("CONFIRM", "CONFERMA")
# Italian words a requestor may use for the same answers
_SYNONYMS = {"SI": "YES", "SÌ": "YES", "ANNULLA": "CANCEL", "TRATTAMENTO": "TREATMENT", "AGGIUNTIVO": "ADDITIONAL"}
# after the report: the word alone on its line (or followed by a colon), the message below it
_AFTER_REPORT = ("TREATMENT", "ADDITIONAL")
_USAGE = {
    "APPROVE": "APPROVE [consultation type] [specialty]",
    "MISSING": "MISSING: <item>; <item>",
    "REJECT": "REJECT: <reason>",
    "PAID": "PAID [amount]",
    "DECLINE": "DECLINE: <reason>",
    "CONSULT": "CONSULT: <what and why>",
    "CANCEL": "CANCEL", "YES": "YES", "NO": "NO",
    "TREATMENT": "TREATMENT", "ADDITIONAL": "ADDITIONAL (your question on the lines below)",
    "EMAIL": "EMAIL <requestor|patient> <address>",
}


@dataclass(frozen=True)
class Command:
    verb: str
    args: tuple[str, ...] = ()     # APPROVE: words; MISSING: items; PAID: amount
    text: str = ""                 # the reason / the free text after the colon
    line: str = ""                 # the line as written


@dataclass(frozen=True)
class Unparsed:
    """A line that starts like a command but does not follow its form."""

    verb: str
    line: str
    problem: str

    @property
    def usage(self) -> str:
        return _USAGE.get(self.verb, "")


def latest_reply(body: str) -> str:
    try:
        text = EmailReplyParser(languages=["en", "it"]).read(body or "").latest_reply or ""
    except Exception:  # the splitter is a heuristic; fall back to the raw body
        text = body or ""
    return text


def own_words(body: str) -> str:
    """The latest reply without the quoted history or '>' lines: what the sender wrote this time."""
    return "\n".join(x for x in latest_reply(body).splitlines() if not x.strip().startswith(">")).strip()


def below_first_line(body: str) -> str:
    """The latest reply's text after its first non-empty line (a command's message), trimmed."""
    lines = latest_reply(body).splitlines()
    for i, line in enumerate(lines):
        if line.strip() and not line.strip().startswith(">"):
            return "\n".join(x for x in lines[i + 1:] if not x.strip().startswith(">")).strip()
    return ""


def first_line(body: str) -> str:
    for line in latest_reply(body).splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith(">"):
            return stripped
    return ""


def is_confirmation(body: str) -> bool:
    """The reply's first line is CONFIRM (Italian CONFERMA), alone but for punctuation."""
    return first_line(body).strip("*_.!: ").upper() in CONFIRM_WORDS


_HEAD = re.compile(r"^\*{0,2}([A-Za-zÀ-ÿ]+)\*{0,2}\s*(:)?\s*(.*)$")


def parse_command(line: str, allowed: tuple[str, ...] = ALL_VERBS) -> Command | Unparsed | None:
    """None when the line is not a command at all (ordinary mail)."""
    m = _HEAD.match(line.strip())
    if not m:
        return None
    word = m.group(1).upper()
    verb = _SYNONYMS.get(word, word)
    if verb not in ALL_VERBS:
        return None
    rest = m.group(3).strip().rstrip(".!")
    if verb == "EMAIL":   # "Email received, thanks" is words, not a command
        found = _EMAIL_LINE.fullmatch(rest)
        if found is None or found.group(1).lower() not in EMAIL_ROLES:
            return None
        if verb not in allowed:
            return Unparsed(verb, line, "not_allowed")
        return Command(verb, (EMAIL_ROLES[found.group(1).lower()], found.group(2).lower()), rest, line)
    if verb not in allowed:
        return Unparsed(verb, line, "not_allowed")
    if verb in ("CANCEL", "YES", "NO"):
        return Command(verb, line=line) if not rest or len(rest.split()) <= 3 else None
    if verb in _AFTER_REPORT:   # "Additional documents attached" is a sentence, not a command
        return Command(verb, (), rest, line) if not rest or m.group(2) else None
    if verb == "APPROVE":
        words = tuple(w.lower().replace("-", "_") for w in re.split(r"[\s,;]+", rest) if w)
        return Command(verb, words[:2], rest, line) if len(words) <= 2 else Unparsed(verb, line, "too_many_words")
    if verb == "MISSING":
        items = tuple(i.strip() for i in re.split(r"[;\n]", rest) if i.strip())
        return Command(verb, items, rest, line) if items else Unparsed(verb, line, "no_items")
    if verb in ("REJECT", "DECLINE", "CONSULT"):
        return Command(verb, (), rest, line) if rest else Unparsed(verb, line, "no_reason")
    if verb == "PAID":
        if not rest:
            return Command(verb, (), "", line)
        amount = parse_amount(rest)
        return Command(verb, (str(amount),), rest, line) if amount is not None else Unparsed(verb, line, "bad_amount")
    return None


def parse_amount(text: str) -> Decimal | None:
    """'500', '500.00', '500,00', 'EUR 518', '€ 1.018,00' -> Decimal; None if not an amount."""
    cleaned = re.sub(r"(?i)eur|€|\s", "", text)
    if re.fullmatch(r"\d{1,3}(\.\d{3})+(,\d{1,2})?", cleaned):
        cleaned = cleaned.replace(".", "").replace(",", ".")
    elif re.fullmatch(r"\d+,\d{1,2}", cleaned):
        cleaned = cleaned.replace(",", ".")
    if not re.fullmatch(r"\d+(\.\d{1,2})?", cleaned):
        return None
    try:
        return Decimal(cleaned).quantize(Decimal("0.01"))
    except InvalidOperation:
        return None
