"""One raw message read once: parsed, its attachments assessed (each hashed once), its body form
and loop signs read. Pure. Everything after (facts, decision, writes) works from this value."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from mailbot.checks.authentication import sender_authenticated
from mailbot.checks.automatic import automatic_reason
from mailbot.documents.assess import AssessedAttachment, assess
from mailbot.documents.forms import fields_from_body
from mailbot.parse import ParsedMessage, parse_message, sha256
from mailbot.rulebook.models import Rulebook
from mailbot.workflow.model import Office
from mailbot.workflow.routing import find_refs


@dataclass(frozen=True)
class Envelope:
    raw: bytes
    message: ParsedMessage
    dedup_key: str
    attachments: tuple[AssessedAttachment, ...]   # one per distinct file (by digest)
    body_form: dict[str, str]                      # request-form fields written in the body
    automatic: str | None                          # why no person wrote it, or None
    refs: tuple[str, ...]                          # case refs in the subject, then the body
    bounced_refs: tuple[str, ...] = ()             # refs of our own Message-IDs quoted in a bounce
    received_for: str = ""                         # the hospital of the mailbox it came from, if set
    authenticated: bool = False                    # our receiving server passed the From domain

    @property
    def sender(self) -> str:
        return self.message.from_addr

    def data(self) -> dict[str, bytes]:
        """Attachment bytes by digest (for the file store and for replies that forward them)."""
        return {a.sha256: a.data for a in self.message.attachments}


def dedup_key(msg: ParsedMessage, raw: bytes) -> str:
    """The same message delivered twice (or re-read after a crash) maps to one key."""
    if msg.message_id:
        return "mid:" + hashlib.sha256(f"{msg.message_id}\0{msg.from_addr}".encode()).hexdigest()
    normalised = re.sub(rb"\r\n|\r", b"\n", raw)
    return "raw:" + hashlib.sha256(normalised).hexdigest()


def open_envelope(raw: bytes, rulebook: Rulebook, office: Office, *, received_for: str = "") -> Envelope:
    """`received_for`: the hospital whose mailbox the message was read from ([[mailboxes]] hospital)."""
    msg = parse_message(raw)
    automatic = automatic_reason(msg, {office.address.lower(), *(a.lower() for a in office.own_addresses)})
    seen: set[str] = set()
    attachments = []
    for att in msg.attachments:
        if att.sha256 in seen:
            continue
        seen.add(att.sha256)
        attachments.append(assess(att, rulebook, max_bytes=office.max_attachment_bytes, known_hashes=frozenset()))
    refs = tuple(dict.fromkeys(ref for text in (msg.subject, msg.text) for prefix in office.prefixes
                               for ref in find_refs(text, prefix)))
    bounced = ()
    if automatic:   # a bounce quotes the Message-ID of what we sent
        prefixes = "|".join(re.escape(p) for p in office.prefixes)
        sent_id = re.compile(rf"<((?:{prefixes})-\d{{4}}-\d{{5}})\.[^<>@\s]+@{re.escape(office.domain)}>", re.I)
        bounced = tuple(sent_id.findall(raw.decode("latin-1")))
    return Envelope(raw=raw, message=msg, dedup_key=dedup_key(msg, raw), attachments=tuple(attachments),
                    body_form=fields_from_body(msg.text), automatic=automatic, refs=refs, bounced_refs=bounced,
                    received_for=received_for, authenticated=sender_authenticated(msg, office.authserv_id))


__all__ = ["Envelope", "dedup_key", "open_envelope", "sha256"]
