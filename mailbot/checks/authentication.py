"""Did our own receiving server authenticate the sender's domain (DKIM or SPF pass)?

Only Authentication-Results headers whose authserv-id is the configured one count: anyone can
write such a header, but only our server writes its own id (RFC 8601 §5 says it must remove
forged ones claiming to be it). Pure.
"""

from __future__ import annotations

import re

from mailbot.parse import ParsedMessage

_RESULT = re.compile(r"\b(dkim|spf|dmarc)\s*=\s*(\w+)([^;]*)", re.I)
_PROP = re.compile(r"\b(header\.d|header\.i|smtp\.mailfrom|header\.from)\s*=\s*([^\s;]+)", re.I)


def sender_authenticated(msg: ParsedMessage, authserv_id: str) -> bool:
    domain = msg.from_addr.rsplit("@", 1)[-1].lower() if "@" in msg.from_addr else ""
    if not domain or not authserv_id:
        return False
    for header in msg.auth_results:
        server = header.split(";", 1)[0].strip().split()[0].lower() if header.strip() else ""
        if server != authserv_id.lower():
            continue
        for method, result, rest in _RESULT.findall(header):
            if result.lower() != "pass":
                continue
            for _prop, value in _PROP.findall(rest):
                value = value.strip("<>").lower()
                value_domain = value.rsplit("@", 1)[-1]
                if value_domain == domain or value_domain.endswith("." + domain) and method.lower() == "dkim":
                    return True
    return False
