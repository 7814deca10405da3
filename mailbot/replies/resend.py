"""A message we sent, readdressed: the same words and attachments to a corrected address, under a
new Message-ID (the old one stays the failed mail's). Pure."""

from __future__ import annotations

import email
from email import policy


def readdressed(raw: bytes, to: str, message_id: str) -> bytes:
    msg = email.message_from_bytes(raw, policy=policy.SMTP)
    del msg["To"]
    del msg["Message-ID"]
    msg["To"] = to
    msg["Message-ID"] = message_id
    return msg.as_bytes()
