"""MIME tree walk for :mod:`mailbot.parse`: attachments (forwards included) and body text.

Standard library only (compat32 messages); never raises on the parts it is given. What the
walk cannot extract (a multipart without a usable boundary, forwards nested past the limit,
an attachment whose encoding cannot be decoded) is listed as an unreadable part, so the sender
and the staff can be told instead of the part being dropped in silence.
"""

from __future__ import annotations

import email
import email.errors
import email.message
import email.utils
import quopri
import re
from email.policy import compat32
from typing import NamedTuple

from mailbot.mime_text import (
    b64decode_lenient,
    clean_filename,
    decode_bytes,
    extension_for,
    html_to_text,
    normalise_newlines,
    to_raw_bytes,
    undo_8bit,
)

_FORWARD_TYPES = {"message/rfc822", "message/global", "message/news"}
MAX_FORWARD_DEPTH = 32       # nested forwards followed; deeper ones are reported, not read
MAX_PARTS = 5000             # MIME parts visited per message


class Found(NamedTuple):
    filename: str
    content_type: str
    data: bytes
    from_forwarded: bool


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
    # Exactly the value the stdlib tested (it does not strip), so that what it left
    # undecoded ("base64 ", "quoted-printable;") is decoded here.
    cte = str(part.get("content-transfer-encoding", "") or "").lower()
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
        new = part.defects[before:]
        if any(isinstance(d, email.errors.InvalidBase64LengthDefect) for d in new):
            data, _ = b64decode_lenient(data)   # the stdlib gave up and returned the text
        if any(isinstance(d, (email.errors.InvalidBase64LengthDefect,
                              email.errors.InvalidBase64CharactersDefect)) for d in new):
            defects.append("base64 payload damaged")
            if _mostly_outside_base64(_raw_text(part)):
                return b""   # what "decodes" from it is noise, not the sender's file
    elif cte not in ("quoted-printable", *_UU):
        token = re.split(r"[\s;,\"']+", cte.strip("\"'; \t"))[0] if cte else ""
        if "base64" in token:
            data, _ = b64decode_lenient(data)
        elif token.startswith("quoted") or token == "qp":
            data = quopri.decodestring(data)
    return data


def _mostly_outside_base64(text: str) -> bool:
    compact = "".join(text.split())
    alphabet = len(re.sub(r"[^A-Za-z0-9+/=]", "", compact))
    return alphabet < len(compact) / 2


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


def attachments(root: email.message.Message) -> tuple[list[Found], list[str], list[str]]:
    """Every real attachment in document order, forwarded ones included (iterative walk);
    returns (attachments, defects, unreadable parts)."""
    found: list[Found] = []
    defects: list[str] = []
    unreadable: list[str] = []
    stack: list[tuple[email.message.Message, bool, int]] = [(root, False, 0)]
    visited = 0
    while stack:
        part, forwarded, depth = stack.pop()
        visited += 1
        if visited > MAX_PARTS:
            defects.append(f"more than {MAX_PARTS} MIME parts; rest ignored")
            unreadable.append(f"the parts after the first {MAX_PARTS}")
            break
        defects.extend(type(d).__name__ for d in getattr(part, "defects", ()))
        ctype = _ctype(part)
        payload = part.get_payload() if part.is_multipart() else None
        if ctype in _FORWARD_TYPES:
            if depth >= MAX_FORWARD_DEPTH:
                defects.append(f"forwarded messages nested deeper than {MAX_FORWARD_DEPTH}")
                unreadable.append(f"a forwarded message nested deeper than {MAX_FORWARD_DEPTH} levels")
                continue
            inner = [p for p in payload or () if isinstance(p, email.message.Message)]
            encoded = _encoded_forward(part, inner)
            if encoded is not None:
                inner = [encoded]
            stack.extend((p, True, depth + 1) for p in reversed(inner))
            continue
        if ctype.startswith("message/"):
            if ctype == "message/partial":
                defects.append("message/partial fragment not reassembled")
                unreadable.append("a fragment of a message sent in several parts (message/partial)")
            continue
        if payload is not None:
            stack.extend((p, forwarded, depth) for p in reversed(payload) if isinstance(p, email.message.Message))
            continue
        if ctype.startswith("multipart/"):   # no boundary, or one that never occurs: not split
            if _raw_text(part).strip():
                unreadable.append(f"a {ctype} section without a usable boundary")
            continue
        view = _param_view(part)
        disposition, filename = _disposition(view), _filename(view)
        if not _is_attachment(part, root, ctype, disposition, filename):
            continue
        data = _payload(part, defects)
        name = filename or f"attachment-{len(found) + 1}{extension_for(ctype)}"
        if not data and _raw_text(part).strip():
            unreadable.append(f'the attachment "{name}" ({ctype}): its encoding cannot be decoded')
            continue
        found.append(Found(name, ctype, data, forwarded))
    return found, defects, unreadable


def _raw_text(part: email.message.Message) -> str:
    """The still-encoded payload of a leaf part ("" when there is none or it cannot be read)."""
    try:
        payload = part.get_payload()
    except Exception:
        return ""
    return payload if isinstance(payload, str) else ""


def _encoded_forward(part: email.message.Message, inner: list) -> email.message.Message | None:
    """A message/rfc822 part sent base64/quoted-printable (not allowed, but seen).

    The stdlib parses the still-encoded text as if it were the enclosed message; here it is
    decoded and parsed again.  None when the part is an ordinary (7bit/8bit) forward.
    """
    cte = str(part.get("content-transfer-encoding", "") or "").strip().lower()
    if cte not in ("base64", "quoted-printable"):
        return None
    try:
        if inner:  # what the stdlib took for the enclosed message: serialise it back
            first = inner[0]
            raw = to_raw_bytes(first.as_string() if first.keys() or first.is_multipart()
                               else first.get_payload())
        elif isinstance(part.get_payload(), str):
            raw = to_raw_bytes(part.get_payload())
        else:
            return None
        data = b64decode_lenient(raw)[0] if cte == "base64" else quopri.decodestring(raw)
        return email.message_from_bytes(data, policy=compat32) if data.strip() else None
    except Exception:
        return None


def body_text(root: email.message.Message) -> tuple[str, list[str]]:
    """Readable body of the top-level message (forwarded bodies excluded).

    text/plain is preferred inside multipart/alternative (unless it is blank); where a
    branch has no plain part its HTML is converted; the texts of the parts of a
    multipart/mixed (or related, report, ...) are joined in order.
    """
    defects: list[str] = []
    got = _body(root, root, 0, defects)
    text = got[0] if got else ""
    controls = sum(1 for ch in text if ch < " " and ch not in "\t\n\f")
    if controls > max(8, len(text) // 20):
        return "", [*defects, "binary data instead of body text (dropped)"]
    return text.replace("\x00", ""), defects


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
