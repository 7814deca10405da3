"""RFC 3834 and friends: is this message machine-sent (auto-reply, bounce, list, ourselves)?

The robot files such mail but never answers it, so two robots cannot ping-pong.
"""

from __future__ import annotations

import re

from mailbot.parse import ParsedMessage

_BOUNCE_SENDERS = re.compile(
    r"^(mailer-daemon|post_?master|mail-daemon|noreply|no-reply|do-not-reply|donotreply|bounces?|owner-[^@]+)"
    r"([+\-.][^@]*)?@|^[^@]+-(owner|request|bounces?)@", re.I)
_AUTO_SUBJECT = re.compile(
    r"^(auto(matic)?[ -]?reply|autoreply|out of (the )?office|risposta automatica|fuori ufficio|"
    r"undeliverable|undelivered mail|delivery status notification|mail delivery failed|"
    r"returned mail|failure notice|non recapitabile|delivery failure)", re.I)


# RFC 2369/2919 list headers and the marks of list managers that send neither List-Id nor
# Precedence (fml's "Mailing-List:", Mailman's version, X-MLServer).
LIST_HEADERS = ("list-id", "list-unsubscribe", "list-post", "list-subscribe", "list-help", "list-owner",
                "list-archive", "mailing-list", "x-mlserver", "x-mailman-version", "x-ml-name")


def automatic_reason(msg: ParsedMessage, own_addresses: set[str]) -> str | None:
    """Why this message must get no automatic reply, or None when a person wrote it."""
    h = msg.headers
    if msg.from_addr and msg.from_addr in own_addresses:
        return "from_ourselves"
    auto = h.get("auto-submitted", "").strip().lower()
    if auto and auto != "no":
        return "auto_submitted"
    if "x-loop" in h:   # set by list managers and autoresponders, whatever the value
        return "loop"
    if h.get("precedence", "").strip().lower() in ("bulk", "list", "junk", "auto_reply"):
        return "precedence"
    if any(name in h for name in LIST_HEADERS):
        return "mailing_list"
    if "x-autoreply" in h or "x-autorespond" in h or h.get("x-apple-action", "").strip().upper() == "VACATION":
        return "auto_reply_header"
    if h.get("x-auto-response-suppress", "").strip().lower() in ("all", "oof", "autoreply"):
        return "auto_reply_header"
    if "multipart/report" in h.get("content-type", "").lower() or "x-failed-recipients" in h:
        return "bounce"
    if h.get("return-path", "").strip() in ("<>", ""):
        if "return-path" in h:
            return "null_sender"
    if msg.from_addr and _BOUNCE_SENDERS.match(msg.from_addr):
        return "system_sender"
    if not msg.from_addr:
        return "no_sender"
    if _AUTO_SUBJECT.match(msg.subject.strip()):
        return "auto_subject"
    return None
