"""Message-IDs of the mail the robot sends.

Each carries 128 random bits (22 URL-safe base64 characters), so a reply that cites one proves its writer received that mail:
nobody can guess it (a fresh email with a case ref in the subject proves nothing). The case
ref in front lets a bounce find its case; a message to someone who is not a party to any case
carries no ref at all.
"""

from __future__ import annotations

import re
import secrets

_RANDOM = re.compile(r"[<.][A-Za-z0-9_-]{22}@")


def new_message_id(domain: str, *parts: str) -> str:
    stem = ".".join(p for p in parts if p)
    return f"<{stem + '.' if stem else ''}{secrets.token_urlsafe(16)}@{domain}>"   # 22 characters, short
                                                                                  # enough to stay on one line


def unguessable(message_id: str) -> bool:
    """True for an id made by `new_message_id` (older ids and fixed notice ids prove nothing)."""
    return bool(_RANDOM.search(message_id or ""))
