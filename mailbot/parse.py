"""Raw message bytes -> ParsedMessage. Pure: no disk, no network, never raises on bad input.

Division of labour, and why:

* The MIME tree is walked with the standard library (``email.message_from_bytes`` with the
  lenient ``compat32`` policy, which never raises on header access and exposes raw header
  values through ``raw_items()``).  mail-parser 4.8 cannot be used for the structure: it
  flattens forwarded ``message/rfc822`` parts into the top level (with a random ``.txt``
  name for the forward itself), hands back attachment payloads as base64 text that does not
  always decode, and raises ``AttributeError`` on some multipart/report bounces (sendgrid).
* Subjects and other unstructured headers are decoded here (:mod:`mailbot.mime_text`):
  mail-parser drops undeclared 8-bit Latin-1 characters ("café" -> "caf").
* mail-parser *is* used for what it does well and where its failures are visible: the
  address headers (From, To, Cc, Reply-To: its scanner recovers good members of a damaged
  list and decodes RFC 2047 display names) and the Date header (it reads the obsolete
  RFC 5322 forms and returns an aware UTC datetime).  It is fed a synthetic message made of
  those five headers only, so the body cannot trip it; when it raises or yields nothing the
  stdlib (``email.utils``) is the fallback, and an unreadable From becomes ``""`` plus a
  ``defects`` entry.
"""

from __future__ import annotations

import email
import email.errors
import email.message
import email.parser
import email.utils
import quopri
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.policy import compat32

from mailbot.mime_text import (
    b64decode_lenient,
    clean_filename,
    decode_bytes,
    decode_header_text,
    decode_rfc2047,
    extension_for,
    html_to_text,
    normalise_newlines,
    to_raw_bytes,
    undo_8bit,
)


@dataclass(frozen=True)
class Attachment:
    filename: str            # decoded (RFC 2231 / 2047), base name only, never empty
    content_type: str        # as declared by the sender, lower case ("application/pdf")
    data: bytes              # decoded payload
    from_forwarded: bool = False  # came from inside a forwarded message/rfc822 part


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

    @property
    def reply_address(self) -> str:
        return self.reply_to or self.from_addr


LOOP_HEADERS = (
    "auto-submitted", "precedence", "list-id", "list-unsubscribe", "x-auto-response-suppress",
    "x-autoreply", "x-autorespond", "return-path", "content-type", "x-failed-recipients",
    "x-loop",
)
_FIRST_ONLY = {"return-path", "content-type"}   # repeated ones are joined with ", "
_FORWARD_TYPES = {"message/rfc822", "message/global", "message/news"}
MAX_FORWARD_DEPTH = 32       # nested forwards followed; deeper ones are reported, not read
MAX_PARTS = 5000             # MIME parts visited per message
MAX_DEFECTS = 40


def parse_message(raw: bytes) -> ParsedMessage:
    """Parse one raw RFC 5322 message. Total: any input gives a ParsedMessage."""
    defects: list[str] = []
    try:
        return _parse(_prepare(raw, defects), defects)
    except Exception as exc:  # last resort; every stage below already degrades on its own
        defects.append(f"parse failure: {type(exc).__name__}")
        return ParsedMessage("", "", "", "", (), (), "", None, "", (), "", (), {}, _dedupe(defects))


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


def _parse(data: bytes, defects: list[str]) -> ParsedMessage:
    try:
        msg = email.message_from_bytes(data, policy=compat32)
    except Exception as exc:  # e.g. RecursionError on absurd multipart nesting
        defects.append(f"MIME structure unreadable ({type(exc).__name__})")
        try:
            msg = email.parser.BytesHeaderParser(policy=compat32).parsebytes(data)
        except Exception:
            msg = email.message.Message()
    raw_headers: dict[str, list[str]] = {}
    for name, value in msg.raw_items():
        raw_headers.setdefault(str(name).strip().lower(), []).append(value)

    def first(name: str) -> str:
        values = raw_headers.get(name)
        return decode_header_text(values[0]) if values else ""

    from_name, from_addr, reply_to, to, cc, date = _addresses_and_date(raw_headers, defects)
    headers = {}
    for name in LOOP_HEADERS:
        values = [decode_header_text(v) for v in raw_headers.get(name, ())]
        if values:
            headers[name] = values[0] if name in _FIRST_ONLY else ", ".join(values)

    attachments, walk_defects = _attachments(msg)
    try:
        text = _body_text(msg, msg, 0) or ""
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
        attachments=tuple(attachments),
        headers=headers,
        defects=_dedupe(walk_defects + defects),
    )


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


# --------------------------------------------------------------------------- addresses


_ADDR_SPEC = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+")
_ADDRESS_HEADERS = ("from", "to", "cc", "reply-to", "date")


def _addresses_and_date(raw_headers: dict[str, list[str]], defects: list[str]):
    """(from_name, from_addr, reply_to, to, cc, date) via mail-parser, stdlib as fallback."""
    mp = None
    block = b"".join(
        name.encode("ascii") + b": " + re.sub(rb"\r?\n|\r", b"", to_raw_bytes(value)) + b"\n"
        for name in _ADDRESS_HEADERS
        for value in raw_headers.get(name, ())
    )
    if block:
        try:
            import mailparser

            mp = mailparser.parse_from_bytes(block + b"\n")
        except Exception as exc:
            defects.append(f"mail-parser failed on address headers ({type(exc).__name__})")

    def mp_list(attr: str) -> list[tuple[str, str]]:
        try:
            return [(str(n or ""), str(a or "")) for n, a in (getattr(mp, attr) or [])] if mp else []
        except Exception:
            return []

    def addresses(attr: str, header: str) -> list[tuple[str, str]]:
        found = [(n, a.strip().lower()) for n, a in mp_list(attr) if "@" in a]
        values = raw_headers.get(header, ())
        if not found and any(v.strip() for v in values):
            try:
                pairs = email.utils.getaddresses([undo_8bit(v) for v in values])
            except Exception:
                pairs = []
            found = [(decode_rfc2047(n), a.strip().lower()) for n, a in pairs if _ADDR_SPEC.fullmatch(a.strip())]
            if not found:
                defects.append(f"unparseable {header.title()}")
        return list({a: (n, a) for n, a in reversed(found)}.values())[::-1]

    # From
    from_name = from_addr = ""
    from_values = raw_headers.get("from", ())
    senders = addresses("from_", "from")
    if senders:
        from_name, from_addr = senders[0]
        if from_values and any(ord(c) > 127 for c in from_values[0]):
            from_name = _stdlib_name(from_values[0], from_addr) or from_name
    elif not from_values:
        defects.append("missing From")
    else:
        matches = set(m.lower() for m in _ADDR_SPEC.findall(undo_8bit(from_values[0])))
        if len(matches) == 1:
            from_addr = matches.pop()
            defects.append("From address recovered from malformed header")
    from_name = decode_header_text(from_name).strip(" \"'")
    if from_name.lower() == from_addr:
        from_name = ""

    reply = addresses("reply_to", "reply-to")
    to = tuple(a for _, a in addresses("to", "to"))
    cc = tuple(a for _, a in addresses("cc", "cc"))

    date = None
    try:
        date = getattr(mp, "date", None) if mp else None
    except Exception:
        date = None
    if not isinstance(date, datetime) and raw_headers.get("date"):
        try:
            date = email.utils.parsedate_to_datetime(decode_header_text(raw_headers["date"][0]))
        except Exception:
            date = None
            defects.append("unparseable Date")
    if isinstance(date, datetime):
        date = date.replace(tzinfo=timezone.utc) if date.tzinfo is None else date.astimezone(timezone.utc)
    else:
        date = None
    return from_name, from_addr, (reply[0][1] if reply else ""), to, cc, date


def _stdlib_name(raw_value: str, addr: str) -> str:
    """Display name read by the stdlib from an 8-bit header (mail-parser escapes those)."""
    try:
        for name, address in email.utils.getaddresses([undo_8bit(raw_value)]):
            if address.strip().lower() == addr:
                return decode_rfc2047(name)
    except Exception:
        pass
    return ""


# --------------------------------------------------------------------------- MIME tree


def _ctype(part: email.message.Message) -> str:
    try:
        return part.get_content_type().lower()
    except Exception:
        return "application/octet-stream"


def _param_view(part: email.message.Message) -> email.message.Message:
    """A header-only copy of Content-Type/-Disposition with 8-bit text already decoded.

    compat32 turns 8-bit header values into Header objects whose str() replaces every
    non-ASCII byte with U+FFFD; parameters must be read from the decoded text instead.
    """
    view = email.message.Message()
    for name, value in part.raw_items():
        if str(name).lower() in ("content-type", "content-disposition"):
            view[name] = re.sub(r"\r?\n|\r", "", undo_8bit(value))
    return view


def _disposition(view: email.message.Message) -> str:
    try:
        return (view.get_content_disposition() or "").strip().strip(";").lower()
    except Exception:
        return ""


_RAW_PARAM = re.compile(r"""(?:^|;)\s*(?:file)?name\s*=\s*("[^"]*"|[^;]*)""", re.IGNORECASE)


def _filename(view: email.message.Message) -> str:
    for header, param in (("content-disposition", "filename"), ("content-type", "name")):
        try:
            value = view.get_param(param, None, header)
        except Exception:  # e.g. mixed RFC 2231 continuations make the stdlib sort fail
            found = _RAW_PARAM.search(str(view.get(header, "")))
            value = found.group(1).strip().strip('"') if found else None
        if isinstance(value, tuple):  # RFC 2231: (charset, language, %-decoded latin-1 text)
            charset, _lang, text = value
            text = email.utils.unquote(text or "")
            try:
                data = text.encode("latin-1")
            except UnicodeError:
                data = to_raw_bytes(text)
            value = decode_bytes(data, charset or None)
        if value:
            name = clean_filename(str(value))
            if name:
                return name
    return ""


_UU = ("x-uuencode", "uuencode", "uue", "x-uue")


def _payload(part: email.message.Message, defects: list[str]) -> bytes:
    """The decoded payload of a leaf part, best effort, never raising."""
    cte = str(part.get("content-transfer-encoding", "") or "").strip().lower()
    before = len(part.defects)
    try:
        data = part.get_payload(decode=True)
    except Exception as exc:
        defects.append(f"payload unreadable ({type(exc).__name__})")
        data = None
    if data is None:
        return b""
    if isinstance(data, str):
        data = to_raw_bytes(data)
    if cte == "base64":
        if any(isinstance(d, email.errors.InvalidBase64LengthDefect) for d in part.defects[before:]):
            data, _ = b64decode_lenient(data)
            defects.append("base64 payload damaged")
    elif cte not in ("quoted-printable", *_UU):
        token = re.split(r"[\s;,\"']+", cte.strip("\"'; "))[0] if cte else ""
        if "base64" in token:
            data, _ = b64decode_lenient(data)
        elif token.startswith("quoted") or token == "qp":
            data = quopri.decodestring(data)
    return data


def _text_of(part: email.message.Message, defects: list[str]) -> str:
    try:
        charset = part.get_content_charset()
    except Exception:
        charset = None
    return normalise_newlines(decode_bytes(_payload(part, defects), charset))


def _is_attachment(part, root, ctype: str, disposition: str, filename: str) -> bool:
    maintype, _, subtype = ctype.partition("/")
    if maintype in ("message", "multipart"):
        return False
    if disposition.startswith("attach"):
        return True
    if maintype != "text":
        return True
    if subtype in ("plain", "html"):
        return bool(filename) and part is not root and not disposition.startswith("inline")
    return bool(filename)


def _attachments(root: email.message.Message) -> tuple[list[Attachment], list[str]]:
    """Every real attachment in document order, forwarded ones included (iterative walk)."""
    found: list[Attachment] = []
    defects: list[str] = []
    stack: list[tuple[email.message.Message, bool, int]] = [(root, False, 0)]
    visited = 0
    while stack:
        part, forwarded, depth = stack.pop()
        visited += 1
        if visited > MAX_PARTS:
            defects.append(f"more than {MAX_PARTS} MIME parts; rest ignored")
            break
        defects.extend(type(d).__name__ for d in getattr(part, "defects", ()))
        ctype = _ctype(part)
        payload = part.get_payload() if part.is_multipart() else None
        if ctype in _FORWARD_TYPES:
            if depth >= MAX_FORWARD_DEPTH:
                defects.append(f"forwarded messages nested deeper than {MAX_FORWARD_DEPTH}")
                continue
            inner = [p for p in payload or () if isinstance(p, email.message.Message)]
            if not inner:  # forward sent with a transfer encoding: decode and parse it
                body = _payload(part, defects)
                inner = [email.message_from_bytes(body, policy=compat32)] if body.strip() else []
            stack.extend((p, True, depth + 1) for p in reversed(inner))
            continue
        if ctype.startswith("message/"):
            if ctype == "message/partial":
                defects.append("message/partial fragment not reassembled")
            continue
        if payload is not None:
            stack.extend((p, forwarded, depth) for p in reversed(payload) if isinstance(p, email.message.Message))
            continue
        view = _param_view(part)
        disposition, filename = _disposition(view), _filename(view)
        if not _is_attachment(part, root, ctype, disposition, filename):
            continue
        data = _payload(part, defects)
        name = filename or f"attachment-{len(found) + 1}{extension_for(ctype)}"
        found.append(Attachment(filename=name, content_type=ctype, data=data, from_forwarded=forwarded))
    return found, defects


def _body_text(part: email.message.Message, root: email.message.Message, depth: int) -> str | None:
    """Readable body of the top-level message (forwarded bodies excluded)."""
    got = _body(part, root, depth, [])
    return got[0] if got else None


def _body(part, root, depth: int, defects: list[str]) -> tuple[str, str] | None:
    """(text, "plain" | "html") for ``part``, or None when it carries no body text."""
    if depth > 100:
        return None
    ctype = _ctype(part)
    maintype, _, subtype = ctype.partition("/")
    if maintype == "message":
        return None
    if part.is_multipart():
        results = [r for r in (_body(p, root, depth + 1, defects) for p in part.get_payload()
                               if isinstance(p, email.message.Message)) if r]
        if not results:
            return None
        if subtype == "alternative":
            plain = [r for r in results if r[1] == "plain" and r[0].strip()]
            html = [r for r in results if r[1] == "html" and r[0].strip()]
            return (plain or html or results)[0]
        kinds = {k for _, k in results}
        text = "\n\n".join(t.strip("\n") for t, _ in results if t.strip())
        return text, ("plain" if "plain" in kinds else "html")
    view = _param_view(part)
    if _is_attachment(part, root, ctype, _disposition(view), _filename(view)):
        return None
    if ctype == "text/html":
        return html_to_text(_text_of(part, defects)), "html"
    if ctype == "text/plain" or maintype == "multipart":  # broken multipart: text as-is
        return _text_of(part, defects), "plain"
    return None
