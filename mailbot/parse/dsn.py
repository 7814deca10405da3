"""Delivery-status notifications (bounces) -> DeliveryReport. Pure; never raises on bad input.

Two kinds of bounce reach the office mailbox:

* the standard one (RFC 3464): `multipart/report; report-type=delivery-status`, with a
  `message/delivery-status` part (per recipient: Final-Recipient, Action, Status,
  Diagnostic-Code) and the returned mail as `message/rfc822` or `text/rfc822-headers`;
* the many non-standard ones (sisimai's samples show more than fifty MTAs): qmail's "failure
  notice", Exim's `X-Failed-Recipients`, old Exchange and Notes text, Gmail's plain-text
  "Delivery Status Notification (Failure)", Japanese and Russian carriers. These say the same
  in prose: a machine sender, a failure sentence, an SMTP code, and the returned headers as text.

Recognition needs a structural sign (a delivery-status part, `X-Failed-Recipients`) or a
machine sender together with a bounce subject, a failure sentence or a returned message. An
out-of-office reply has none of those, so it is never taken for a bounce.

The report names the mail that bounced by Message-ID: the returned message's header, the
`Original-Envelope-Id`, or any `<id@host>` in the report's text after its own header. Which of
those is ours is for the caller to look up (it knows what it sent).
"""

from __future__ import annotations

import email
import email.message
import re
from dataclasses import dataclass
from email.policy import compat32

PERMANENT, TEMPORARY = "permanent", "temporary"

_ADDRESS = re.compile(r"[A-Za-z0-9._%+\-=/!#$&'*?^`{|}~]+@[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?"
                      r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?)+")
_MESSAGE_ID = re.compile(r"<([^<>\s@]{1,200}@[^<>\s@]{1,200})>")
_ENHANCED = re.compile(r"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?![\d.])")
_SMTP_CODE = re.compile(r"(?<![\d.:/\-])([245][0-5]\d)(?=[ \-](?:[245]\.\d|[A-Za-z<#(]))")
_MACHINE_SENDER = re.compile(
    r"^(mailer-daemon|mailer_daemon|post_?master|mail-?daemon|mail\.delivery\.system|mmsc|sysadmin|"
    r"no-?reply|mdaemon|bounces?)([+\-.][^@]*)?@", re.I)
_MACHINE_NAME = re.compile(r"mail delivery|mailer.daemon|postmaster|post office|ndr administrator|"
                           r"content.filter|interscan", re.I)
_SUBJECT = re.compile(
    r"undeliver|undelivered|returned mail|failure notice|delivery status notification|"
    r"delivery notification|delivery (status )?failure|mail delivery failed|delivery has failed|"
    r"message delivery has failed|mail system error|delivery report|mail delivery status|delayed mail|"
    r"could not send message|non recapitabil|mancata consegna|message you sent blocked|"
    r"delivery failed|nondeliverable|unzustellbar|non remis|notificaci.n de estado|are not member|"
    r"mail failure|delivery status|returned to sender|メールエラー|配信", re.I)
_FAILED_TEXT = re.compile(
    r"could not be delivered|couldn't be delivered|was not delivered|wasn't delivered|undeliverable|"
    r"delivery (has )?failed|failed permanently|permanent (fatal )?error|delivery to the following "
    r"recipient|the following address(es)? failed|not be delivered|unable to deliver|could not deliver|"
    r"wasn't able to deliver|was not able to deliver|user unknown|unknown user|no such user|"
    r"mailbox (is )?(full|unavailable)|does not exist|doesn't exist|address rejected|recipient rejected|"
    r"rejected your message|message (was )?rejected|has been blocked|not a member|are not member|"
    r"invalid (recipient|address|user)|no valid recipients|delivery to the following|returned mail|"
    r"I'm sorry to have to inform you|hi\. this is the qmail|non è stato possibile recapitare|"
    r"no se ha podido entregar|konnte nicht zugestellt|送信できません|не может быть доставлено", re.I)
_DELAYED_TEXT = re.compile(
    r"delivery (is |has been )?delayed|delayed mail|still being retried|will (continue to )?(retry|try)|"
    r"has not (yet )?been delivered|could not send message for past|not yet been delivered|"
    r"warning: message .* still undelivered|delivery status notification \(delay\)|"
    r"temporary (failure|problem|error)", re.I)
_RETURNED_TEXT = re.compile(r"^\s*(message-id|message-id:)\s*:?\s*<", re.I | re.M)
_LOOKS_DS = re.compile(r"^(final-recipient|original-recipient|action|status|reporting-mta)\s*:", re.I | re.M)
MAX_TEXT = 200_000   # of the report's own words: enough for every real bounce


@dataclass(frozen=True)
class RecipientStatus:
    """One recipient the report speaks of."""

    address: str        # lower case; "" when the report names none
    action: str = ""    # failed | delayed | delivered | relayed | expanded | "" (not said)
    status: str = ""    # "5.1.1"; "" when neither a Status nor a code in the text says
    diagnostic: str = ""   # the remote server's words, one line, cut

    @property
    def severity(self) -> str:
        """permanent | temporary | success."""
        if self.action in ("delivered", "relayed", "expanded"):
            return "success"
        if self.action == "delayed":
            return TEMPORARY
        if self.status[:1] == "4":
            return TEMPORARY
        if self.status[:1] == "2":
            return "success"
        return PERMANENT


@dataclass(frozen=True)
class DeliveryReport:
    standard: bool                             # an RFC 3464 delivery-status part was read
    recipients: tuple[RecipientStatus, ...]    # the ones the report names, in order
    original_ids: tuple[str, ...]              # Message-IDs that may be the bounced mail, best first
    envelope_id: str = ""                      # Original-Envelope-Id, as sent
    mentioned: tuple[str, ...] = ()            # every address in the report's words (lower case)
    delayed: bool = False                      # the words say the MTA is still trying

    def failure_for(self, addresses: tuple[str, ...]) -> RecipientStatus | None:
        """The report's word on the first of `addresses` (our mail's recipients) it names; when it
        names none of them but our mail had one recipient, that one (the report is about it)."""
        wanted = [a.lower() for a in addresses]
        for r in self.recipients:
            if r.address in wanted:
                return r
        named = [a for a in wanted if a in self.mentioned]
        generic = self.recipients[0] if self.recipients else RecipientStatus("", "delayed" if self.delayed else "")
        if named:
            return RecipientStatus(named[0], generic.action, generic.status, generic.diagnostic)
        if len(wanted) == 1:
            return RecipientStatus(wanted[0], generic.action, generic.status, generic.diagnostic)
        return None


def read_report(raw: bytes) -> DeliveryReport | None:
    """The delivery report in `raw`, or None when it is not a bounce."""
    try:
        return _read(_prepare(raw))
    except Exception:   # a bounce too damaged to read is filed like any machine mail
        return None


def _prepare(raw: bytes) -> bytes:
    data = bytes(raw)
    if b"\r" in data and b"\n" not in data:
        data = data.replace(b"\r", b"\n")
    return data


@dataclass
class _Parts:
    ds: list[str]            # delivery-status blocks
    returned_ids: list[str]  # Message-IDs of returned messages or header blocks
    returned_to: list[str]   # their To/Cc addresses
    words: list[str]         # the report's own text parts


def _read(data: bytes) -> DeliveryReport | None:
    msg = email.message_from_bytes(data, policy=compat32)
    parts = _Parts([], [], [], [])
    _walk(msg, parts, top=True)
    words = "\n".join(parts.words)[:MAX_TEXT]
    if not parts.ds:
        parts.ds = [m.group(0) for m in re.finditer(r"(?ms)^(?:reporting-mta|final-recipient)\s*:.*?(?=\n\s*\n\s*\n|\Z)",
                                                      words) if _LOOKS_DS.search(m.group(0))][:1]
    if not _is_bounce(msg, parts, words):
        return None
    recipients, envelope_id = _recipients(parts.ds)
    failed = [a.strip().lower() for a in _header(msg, "x-failed-recipients").split(",") if "@" in a]
    if not recipients:
        recipients = [RecipientStatus(a) for a in failed] or []
    recipients = [_completed(r, words) for r in recipients or [RecipientStatus("")]]
    own_id = _ids(_header(msg, "message-id"))
    text_ids = [i for i in _ids(words) if i not in own_id]
    ids = list(dict.fromkeys([*parts.returned_ids, *_ids(envelope_id), *text_ids]))
    mentioned = [a.lower() for a in _ADDRESS.findall(words)] + failed + parts.returned_to
    mentioned += [r.address for r in recipients if r.address]
    return DeliveryReport(standard=bool(parts.ds), recipients=tuple(recipients), original_ids=tuple(ids[:50]),
                          envelope_id=envelope_id, mentioned=tuple(dict.fromkeys(mentioned))[:200],
                          delayed=bool(_DELAYED_TEXT.search(words)) or "delay" in _header(msg, "subject").lower())


def _walk(part: email.message.Message, out: _Parts, *, top: bool = False, depth: int = 0) -> None:
    if depth > 20:
        return
    ctype = part.get_content_type()
    if ctype in ("message/delivery-status", "message/global-delivery-status") or (
            top and ctype == "text/plain" and _LOOKS_DS.match(_payload_text(part) or "")):
        out.ds.append(_ds_text(part, top))
        return
    if ctype.startswith("message/") and not top:   # rfc822, global, partial: the returned mail
        inner = part.get_payload()
        inner = inner[0] if isinstance(inner, list) and inner else None
        if isinstance(inner, email.message.Message):
            _returned(inner, out)
            if not inner.get("message-id"):   # a blank line too many: its header is read as its body
                out.words.append(_flat(inner))
        return
    if not top and part.get("message-id"):   # returned headers read as a part's own (no blank line)
        _returned(part, out)
    if ctype in ("text/rfc822-headers", "text/global-headers"):
        text = _payload_text(part)
        _returned(email.message_from_string(text, policy=compat32), out)
        out.words.append(text)
        return
    if part.is_multipart():
        for sub in part.get_payload() or []:
            if isinstance(sub, email.message.Message):
                _walk(sub, out, depth=depth + 1)
        return
    if part.get_content_maintype() in ("text", "message", "multipart") or top:   # a multipart without
        text = _payload_text(part)                                                # boundary is text
        if text:
            out.words.append(text)


def _flat(msg: email.message.Message) -> str:
    try:
        return msg.as_string()[:MAX_TEXT]
    except Exception:
        return ""


def _returned(inner: email.message.Message, out: _Parts) -> None:
    out.returned_ids.extend(_ids(_header(inner, "message-id")))
    for name in ("to", "cc"):
        out.returned_to.extend(a.lower() for a in _ADDRESS.findall(_header(inner, name)))


def _ds_text(part: email.message.Message, top: bool) -> str:
    """The delivery-status fields as text (compat32 makes them a list of header blocks)."""
    if top and part.get_content_type() == "text/plain":
        return _payload_text(part)
    payload = part.get_payload()
    if isinstance(payload, list):
        return "\n\n".join("\n".join(f"{k}: {v}" for k, v in block.items()) for block in payload
                           if isinstance(block, email.message.Message))
    if top:   # a whole message of type message/delivery-status: the body after the header
        return "\n".join(f"{k}: {v}" for k, v in part.items()) + "\n\n" + str(payload or "")
    return _payload_text(part)


def _payload_text(part: email.message.Message) -> str:
    try:
        data = part.get_payload(decode=True)
    except Exception:
        data = None
    if data is None:
        payload = part.get_payload()
        return payload if isinstance(payload, str) else ""
    charset = part.get_content_charset() or "utf-8"
    try:
        return data.decode(charset, errors="replace")
    except LookupError:
        return data.decode("latin-1", errors="replace")


def _header(msg: email.message.Message, name: str) -> str:
    try:
        values = msg.get_all(name) or []
    except Exception:
        return ""
    return " ".join(" ".join(str(v).split()) for v in values)


def _ids(text: str) -> list[str]:
    return [f"<{m}>" for m in dict.fromkeys(_MESSAGE_ID.findall(text or ""))]


def _is_bounce(msg: email.message.Message, parts: _Parts, words: str) -> bool:
    ctype = _header(msg, "content-type").lower().replace('"', "").replace(" ", "")
    if "report-type=feedback-report" in ctype:
        return False   # an abuse report (ARF) is not about our delivery
    if any(_LOOKS_DS.search(block) for block in parts.ds) or _header(msg, "x-failed-recipients"):
        return True
    if "report-type=delivery-status" in ctype:
        return True
    if not _machine_sent(msg):
        return False
    subject = _decoded_subject(msg)
    returned = bool(parts.returned_ids) or bool(_RETURNED_TEXT.search(words))
    return bool(_SUBJECT.search(subject)) or bool(_FAILED_TEXT.search(words)) or (
        returned and bool(_code(words) or _FAILED_TEXT.search(subject)))


def _machine_sent(msg: email.message.Message) -> bool:
    """A mail system's sender, an empty Return-Path, Auto-Submitted, or a list manager's marks."""
    sender = _header(msg, "from")
    addresses = _ADDRESS.findall(sender)
    if (addresses and _MACHINE_SENDER.match(addresses[0])) or _MACHINE_NAME.search(sender):
        return True
    if msg.get("return-path") is not None and _header(msg, "return-path").strip() in ("<>", ""):
        return True
    return _header(msg, "auto-submitted").lower() not in ("", "no") or bool(
        msg.get("x-mlserver") or msg.get("mailing-list"))


def _decoded_subject(msg: email.message.Message) -> str:
    from mailbot.parse.text import decode_header_text

    raw = msg.get("subject")
    return decode_header_text(str(raw)) if raw is not None else ""


def _fields(block: str) -> dict[str, str]:
    """'Name: value' lines with folded continuations -> {lower name: value}."""
    out: dict[str, str] = {}
    name = ""
    for line in block.splitlines():
        if line[:1] in (" ", "\t") and name:
            out[name] += " " + line.strip()
            continue
        key, sep, value = line.partition(":")
        if sep and key.strip() and " " not in key.strip():
            name = key.strip().lower()
            out.setdefault(name, value.strip())
    return out


def _recipients(blocks: list[str]) -> tuple[list[RecipientStatus], str]:
    found: list[RecipientStatus] = []
    envelope_id = ""
    for block in blocks:
        for chunk in re.split(r"\n[ \t]*\n", block.replace("\r", "")):
            f = _fields(chunk)
            envelope_id = envelope_id or f.get("original-envelope-id", "")
            who = f.get("final-recipient") or f.get("original-recipient") or ""
            if not who and not f.get("action") and not f.get("status"):
                continue
            address = next(iter(_ADDRESS.findall(who)), "").lower()
            status = _ENHANCED.search(f.get("status", ""))
            found.append(RecipientStatus(address, f.get("action", "").lower().split(" ")[0] if f.get("action") else "",
                                         ".".join(status.groups()) if status else "",
                                         _one_line(f.get("diagnostic-code", ""))))
    return found, envelope_id.strip()


def _completed(r: RecipientStatus, words: str) -> RecipientStatus:
    """A status and a diagnostic from the report's words when the fields gave none."""
    diagnostic = r.diagnostic or _diagnostic_line(words, r.address)
    status = r.status or _code(diagnostic) or _code(words)
    action = r.action or ("delayed" if _DELAYED_TEXT.search(words) and not status.startswith("5") else "")
    return RecipientStatus(r.address, action, status, diagnostic)


def _code(text: str) -> str:
    """'5.1.1' from an enhanced code, else the class of a basic SMTP reply ('550' -> '5.0.0')."""
    enhanced = _ENHANCED.search(text or "")
    if enhanced:
        return ".".join(enhanced.groups())
    basic = _SMTP_CODE.search(text or "")
    return f"{basic.group(1)[0]}.0.0" if basic else ""


def _diagnostic_line(words: str, address: str) -> str:
    """The remote server's words: the first line with an SMTP code, else with a failure sentence."""
    lines = [ln.strip() for ln in words.splitlines() if ln.strip()]
    for pattern in (_ENHANCED, _SMTP_CODE, _FAILED_TEXT):
        for line in lines:
            if pattern.search(line) and not line.lower().startswith(("date:", "received:", "message-id:")):
                return _one_line(line)
    return ""


def _one_line(text: str) -> str:
    """Printable, one line, cut (a NUL from a broken charset would be refused by PostgreSQL)."""
    return " ".join("".join(c for c in text if c.isprintable() or c.isspace()).split())[:300]
