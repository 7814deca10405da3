"""Did our own receiving server authenticate the sender's domain (DKIM or SPF pass)? Pure.

Anyone can write an Authentication-Results header, claiming any server's name. Our receiving
server adds its own at the top of the message; everything below was there before it arrived
(RFC 8601 §5). So only the topmost headers count: from the top down, those carrying our
authserv-id, up to the first one that does not. Within those, each method's verdict is the one
of the topmost header that reports that method, so a forged "pass" placed under our server's
"fail" changes nothing. The headers are parsed with the `authres` library.

A pass counts when it is for the From domain: DKIM with `header.d` (or `header.i`) in that
domain, or SPF with the envelope sender (`smtp.mailfrom`) in that same domain.
"""

from __future__ import annotations

import authres

from mailbot.parse import ParsedMessage

METHODS = ("dkim", "spf")


def our_results(headers: tuple[str, ...], authserv_id: str) -> dict[str, list]:
    """method -> its results in the topmost header of our server that reports it."""
    found: dict[str, list] = {}
    for header in headers:
        try:
            parsed = authres.AuthenticationResultsHeader.parse(f"Authentication-Results: {header}")
        except Exception:   # authres raises its own and plain errors on malformed input
            break           # an unreadable header is not one our server wrote: stop here
        if str(parsed.authserv_id or "").lower() != authserv_id.lower():
            break
        here: dict[str, list] = {}
        for result in parsed.results:
            here.setdefault(str(result.method).lower(), []).append(result)
        for method, results in here.items():
            found.setdefault(method, results)
    return found


def _in_domain(value: str, domain: str) -> bool:
    value = (value or "").strip().strip("<>").lower().rsplit("@", 1)[-1]
    return value == domain


def _passes(method: str, result, domain: str) -> bool:
    if str(result.result).lower() != "pass":
        return False
    props = {(str(p.type).lower(), str(p.name).lower()): str(p.value) for p in result.properties}
    if method == "dkim":
        return _in_domain(props.get(("header", "d"), ""), domain) or _in_domain(props.get(("header", "i"), ""), domain)
    return _in_domain(props.get(("smtp", "mailfrom"), ""), domain)


def sender_authenticated(msg: ParsedMessage, authserv_id: str) -> bool:
    domain = msg.from_addr.rsplit("@", 1)[-1].lower() if "@" in msg.from_addr else ""
    if not domain or not authserv_id:
        return False
    results = our_results(msg.auth_results, authserv_id)
    return any(_passes(method, r, domain) for method in METHODS for r in results.get(method, ()))
