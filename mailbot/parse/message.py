"""Raw message bytes -> ParsedMessage. Pure: no disk, no network, never raises on bad input.

Division of labour, and why:

* The MIME tree is walked with the standard library (``email.message_from_bytes`` with the
  lenient ``compat32`` policy, which never raises on header access and exposes raw header
  values through ``raw_items()``).  mail-parser 4.8 cannot be used for the structure: it
  flattens forwarded ``message/rfc822`` parts into the top level (with a random ``.txt``
  name for the forward itself), hands back attachment payloads as base64 text that does not
  always decode, and raises ``AttributeError`` on some multipart/report bounces (sendgrid).
  The walk lives in :mod:`mailbot.parse.tree`.
* Subjects and other unstructured headers are decoded here (:mod:`mailbot.parse.text`):
  mail-parser drops undeclared 8-bit Latin-1 characters ("café" -> "caf").
* mail-parser *is* used for what it does well and where its failures are visible: the
  address headers (From, To, Cc, Reply-To: its scanner recovers good members of a damaged
  list and decodes RFC 2047 display names) and the Date header (it reads the obsolete
  RFC 5322 forms and returns an aware UTC datetime).  It is fed a synthetic message made of
  those five headers only, so the body cannot trip it; when it raises or yields nothing the
  stdlib (``email.utils``) is the fallback, and an unreadable From becomes ``""`` plus a
  ``defects`` entry (:mod:`mailbot.parse.headers`).
"""

from __future__ import annotations

import email
import email.message
import email.parser
import email.utils
import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime
from email.policy import compat32

from mailbot.parse import tree as mime_tree
from mailbot.parse.headers import addresses_and_date
from mailbot.parse.text import decode_header_text, to_raw_bytes


def sha256(data: bytes) -> str:
    """The content address of a file or message (the store files bytes under it)."""
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Attachment:
    filename: str            # decoded (RFC 2231 / 2047), base name only, never empty
    content_type: str        # as declared by the sender, lower case ("application/pdf")
    data: bytes              # decoded payload
    from_forwarded: bool = False  # came from inside a forwarded message/rfc822 part
    sha256: str = ""         # of `data`; computed once, here, and carried everywhere after
    inside: tuple[str, ...] = ()  # the containers it was unpacked from, innermost first (documents.containers)

    def __post_init__(self) -> None:
        if not self.sha256:
            object.__setattr__(self, "sha256", sha256(self.data))


@dataclass(frozen=True)
class ParsedMessage:
    message_id: str                  # "<id@host>" as in the header, or "" when missing
    from_name: str
    from_addr: str                   # lower case address, "" when unreadable
    reply_to: str                    # lower case address, "" when absent
    to: tuple[str, ...]
    cc: tuple[str, ...]
    subject: str
    date: datetime | None            # aware UTC
    in_reply_to: str                 # "<id@host>" or ""
    references: tuple[str, ...]      # each "<id@host>"
    text: str                        # text body; HTML converted when no text part
    attachments: tuple[Attachment, ...]
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names; loop-detection ones
    defects: tuple[str, ...] = ()    # what could not be read, for the case view
    unreadable_parts: tuple[str, ...] = ()  # parts that could not be extracted (attachments maybe
                                            # lost), in English for the staff: the sender is told
    auth_results: tuple[str, ...] = ()  # every Authentication-Results header, top (newest) first
    delivered_to: tuple[str, ...] = ()  # Delivered-To addresses (lower case): the mailbox it reached

    @property
    def reply_address(self) -> str:
        return self.reply_to or self.from_addr


LOOP_HEADERS = (
    "auto-submitted", "precedence", "list-id", "list-unsubscribe", "x-auto-response-suppress",
    "x-autoreply", "x-autorespond", "return-path", "content-type", "x-failed-recipients",
    "x-loop", "x-apple-action",
    "list-post", "list-subscribe", "list-help", "list-owner", "list-archive", "mailing-list", "x-mlserver",
    "x-mailman-version", "x-ml-name",
)
_FIRST_ONLY = {"return-path", "content-type"}   # repeated ones are joined with ", "
MAX_DEFECTS = 40


def parse_message(raw: bytes) -> ParsedMessage:
    """Parse one raw RFC 5322 message. Total: any input gives a ParsedMessage."""
    defects: list[str] = []
    try:
        return _parse(_prepare(raw, defects), defects)
    except Exception as exc:  # last resort; every stage below already degrades on its own
        defects.append(f"parse failure: {type(exc).__name__}")
        return ParsedMessage("", "", "", "", (), (), "", None, "", (), "", (), {}, _dedupe(defects),
                             unreadable_parts=("the whole email",))


# --------------------------------------------------------------------------- input


def _prepare(raw: object, defects: list[str]) -> bytes:
    if isinstance(raw, (bytes, bytearray, memoryview)):
        data = bytes(raw)
    elif isinstance(raw, str):
        data = to_raw_bytes(raw)
    else:
        defects.append("input is not bytes")
        data = b""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if b"\r" in data and b"\n" not in data:   # classic Mac OS line ends
        data = data.replace(b"\r", b"\n")
    # Blank or whitespace-only lines before the first header make the stdlib read every
    # header as body (or as a continuation line); drop them.
    lead = re.match(rb"(?:[ \t]*\r?\n)+", data)
    if lead:
        data = data[lead.end():]
    return data


def _read_mime(data: bytes, defects: list[str], unreadable: list[str]) -> email.message.Message:
    """The MIME tree; when it cannot be built, the headers alone (the rest is named unreadable)."""
    try:
        return email.message_from_bytes(data, policy=compat32)
    except Exception as exc:  # e.g. RecursionError on absurd multipart nesting
        defects.append(f"MIME structure unreadable ({type(exc).__name__})")
        unreadable.append("the structure of the email (parts nested too deeply or damaged)")
        try:
            return email.parser.BytesHeaderParser(policy=compat32).parsebytes(data)
        except Exception:
            return email.message.Message()


def _attachments(msg: email.message.Message, unreadable: list[str]) -> tuple[tuple[Attachment, ...], list[str]]:
    try:
        found, walk_defects, walk_unreadable = mime_tree.attachments(msg)
        unreadable.extend(walk_unreadable)
    except Exception as exc:
        found, walk_defects = [], [f"attachments unreadable ({type(exc).__name__})"]
        unreadable.append("the attachments")
    return tuple(Attachment(f.filename, f.content_type, f.data, f.from_forwarded) for f in found), walk_defects


def _parse(data: bytes, defects: list[str]) -> ParsedMessage:
    unreadable: list[str] = []
    msg = _read_mime(data, defects, unreadable)
    raw_headers: dict[str, list[str]] = {}
    for name, value in msg.raw_items():
        raw_headers.setdefault(str(name).strip().lower(), []).append(value)

    def first(name: str) -> str:
        values = raw_headers.get(name)
        return decode_header_text(values[0]) if values else ""

    try:
        from_name, from_addr, reply_to, to, cc, date = addresses_and_date(raw_headers, defects)
    except Exception as exc:  # pragma: no cover - addresses_and_date degrades on its own
        defects.append(f"address headers unreadable ({type(exc).__name__})")
        from_name, from_addr, reply_to, to, cc, date = "", "", "", (), (), None
    headers = {}
    for name in LOOP_HEADERS:
        values = [decode_header_text(v) for v in raw_headers.get(name, ())]
        if values:
            headers[name] = values[0] if name in _FIRST_ONLY else ", ".join(values)

    attachments, walk_defects = _attachments(msg, unreadable)
    try:
        text, body_defects = mime_tree.body_text(msg)
        defects.extend(body_defects)
    except Exception as exc:
        defects.append(f"body unreadable ({type(exc).__name__})")
        text = ""
    return ParsedMessage(
        message_id=_msgid(first("message-id")),
        from_name=from_name,
        from_addr=from_addr,
        reply_to=reply_to,
        to=to,
        cc=cc,
        subject=first("subject"),
        date=date,
        in_reply_to=_msgid(first("in-reply-to")),
        references=_references(" ".join(decode_header_text(v) for v in raw_headers.get("references", ()))),
        text=text.strip("\n"),
        attachments=attachments,
        headers=headers,
        defects=_dedupe(walk_defects + defects),
        auth_results=tuple(" ".join(decode_header_text(v).split())
                           for v in raw_headers.get("authentication-results", ()))[:20],
        unreadable_parts=_dedupe(unreadable),
        delivered_to=_plain_addresses(raw_headers.get("delivered-to", ())),
    )


def _plain_addresses(values: list[str]) -> tuple[str, ...]:
    """Lower-case addresses of a header like Delivered-To (set by the receiving server)."""
    pairs = email.utils.getaddresses([decode_header_text(v) for v in values][:10])
    return tuple(dict.fromkeys(addr.strip().lower() for _name, addr in pairs if "@" in addr))


def _dedupe(items: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(i for i in items if i))[:MAX_DEFECTS]


# --------------------------------------------------------------------------- ids


_ANGLE_ID = re.compile(r"<([^<>]*)>")


def _msgid(value: str) -> str:
    """First "<id>" in a header; a bare id@host is bracketed; junk gives ""."""
    for inner in _ANGLE_ID.findall(value):
        inner = "".join(inner.split())
        if inner:
            return f"<{inner}>"
    for token in re.split(r"[\s,;]+", value):
        if "@" in token and "<" not in token and ">" not in token:
            return f"<{token}>"
    return ""


def _references(value: str) -> tuple[str, ...]:
    ids = [f"<{''.join(i.split())}>" for i in _ANGLE_ID.findall(value) if i.strip()]
    if not ids:
        ids = [f"<{t}>" for t in re.split(r"[\s,;]+", value) if "@" in t and not set(t) & set("<>")]
    return tuple(dict.fromkeys(ids))
