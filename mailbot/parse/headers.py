"""Address and Date headers for :mod:`mailbot.parse`.

mail-parser reads them (its scanner recovers the good members of a damaged address list,
decodes RFC 2047 display names and understands obsolete RFC 5322 dates); it is given a
synthetic message holding only these headers, so nothing in the body can trip it.  The
stdlib ``email.utils`` is the fallback when it raises or finds nothing.
"""

from __future__ import annotations

import email.utils
import re
from datetime import datetime, timezone

from mailbot.parse.text import decode_header_text, decode_rfc2047, to_raw_bytes, undo_8bit

_ADDR_SPEC = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+")
_ADDRESS_HEADERS = ("from", "to", "cc", "reply-to", "date")
_TOKEN_SPLIT = re.compile(r"[\s<>()\[\],;:\"]+")


def _is_addr(token: str) -> bool:
    return len(token) <= 320 and _ADDR_SPEC.fullmatch(token) is not None


def _addr_tokens(text: str) -> list[str]:
    """Plausible addr-specs in free text (split first, so the scan stays linear)."""
    return [t for t in _TOKEN_SPLIT.split(text) if "@" in t and _is_addr(t)]


def addresses_and_date(raw_headers: dict[str, list[str]], defects: list[str]):
    """(from_name, from_addr, reply_to, to, cc, date) via mail-parser, stdlib as fallback."""
    mp, partly_bad = _mail_parser_view(raw_headers, defects)

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
            found = [(decode_rfc2047(n), a.strip().lower()) for n, a in pairs if _is_addr(a.strip())]
            if not found:
                defects.append(f"unparseable {header.title()}")
        elif header in partly_bad:
            defects.append(f"unreadable address in {header.title()}")
        return list({a: (n, a) for n, a in reversed(found)}.values())[::-1]

    from_name, from_addr = _sender(addresses("from_", "from"), raw_headers.get("from", ()), defects)
    reply = addresses("reply_to", "reply-to")
    to = tuple(a for _, a in addresses("to", "to"))
    cc = tuple(a for _, a in addresses("cc", "cc"))
    return from_name, from_addr, (reply[0][1] if reply else ""), to, cc, _date(mp, raw_headers, defects)


def _mail_parser_view(raw_headers: dict[str, list[str]], defects: list[str]):
    """mail-parser over a message of the address headers only (or None), and the headers where
    it had to drop a member."""
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
    partly_bad: set[str] = set()
    try:
        for diag in (getattr(mp, "address_header_defects", None) or []) if mp else []:
            if isinstance(diag, dict) and not diag.get("recovered", True):
                partly_bad.add(str(diag.get("header", "")).lower())
    except Exception:
        pass
    return mp, partly_bad


def _sender(senders: list[tuple[str, str]], from_values, defects: list[str]) -> tuple[str, str]:
    """(display name, address) of From; an address alone recovered from a malformed header."""
    from_name = from_addr = ""
    if senders:
        from_name, from_addr = senders[0]
        if from_values and any(ord(c) > 127 for c in from_values[0]):
            from_name = _stdlib_name(from_values[0], from_addr) or from_name
    elif not from_values:
        defects.append("missing From")
    else:
        matches = {m.lower() for m in _addr_tokens(undo_8bit(from_values[0]))}
        if len(matches) == 1:
            from_addr = matches.pop()
            defects.append("From address recovered from malformed header")
    from_name = decode_header_text(from_name).strip(" \"'")
    if from_name.lower() == from_addr:
        from_name = ""
    return from_name, from_addr


def _date(mp, raw_headers: dict[str, list[str]], defects: list[str]) -> datetime | None:
    """Date as aware UTC: mail-parser's reading, else the stdlib's, else None."""
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
        return date.replace(tzinfo=timezone.utc) if date.tzinfo is None else date.astimezone(timezone.utc)
    return None


def _stdlib_name(raw_value: str, addr: str) -> str:
    """Display name read by the stdlib from an 8-bit header (mail-parser escapes those)."""
    try:
        for name, address in email.utils.getaddresses([undo_8bit(raw_value)]):
            if address.strip().lower() == addr:
                return decode_rfc2047(name)
    except Exception:
        pass
    return ""
