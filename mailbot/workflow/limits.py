"""Caps on automatic mail, whatever loops or floods come in. Pure.

* No requestor-side address gets more than N automatic replies a day (`split_by_cap`).
* Staff hear of a thing once per case and state: a notice (an admin alert, a note on a refused
  or unreadable command, a new case, a cancellation) already sent to that address, of the same
  kind and line, since the case last changed state, is not sent again (`notice_key`).
* No staff address gets more than the same N mails a day about one case.

What is dropped is recorded as an event, so an admin sees it on the case.
"""

from __future__ import annotations

from typing import Any

from mailbot.workflow.model import ReplySpec

# staff mail that tells of something (the rest carries documents or a reply asked for)
NOTICES = ("admin/notice", "staff/command_wrong_state", "staff/command_not_understood", "staff/not_assigned",
           "staff/case_cancelled", "triage/new_case", "specialist/new_case")


def split_by_cap(replies: tuple[ReplySpec, ...], sent_today: dict[str, int], cap: int) -> tuple[list[ReplySpec], list[ReplySpec]]:
    """(replies to queue, replies suppressed) given how many went to each address today."""
    keep, drop = [], []
    counts = dict(sent_today)
    for spec in replies:
        if spec.purpose.startswith("requestor/") and any(counts.get(a.lower(), 0) >= cap for a in spec.to):
            drop.append(spec)
            continue
        for address in spec.to:
            counts[address.lower()] = counts.get(address.lower(), 0) + 1
        keep.append(spec)
    return keep, drop


def notice_key(purpose: str, context: dict[str, Any]) -> tuple[str, str, str]:
    """What makes two notices the same: their purpose, kind (of admin alert) and command line."""
    return purpose, str(context.get("kind", "")), str(context.get("line", ""))[:300]


def split_staff(replies: tuple[ReplySpec, ...], sent: frozenset[tuple[str, str, str, str]],
                today: dict[str, int], cap: int) -> tuple[list[ReplySpec], list[tuple[ReplySpec, str]]]:
    """(replies to queue, (dropped, why)) for one case: `sent` holds (address, *notice_key) sent in
    the current state, `today` the staff mails per address about the case in the last 24 hours."""
    keep, drop = [], []
    counts = dict(today)
    for spec in replies:
        if spec.purpose.startswith("requestor/"):
            keep.append(spec)
            continue
        addresses = [a.lower() for a in spec.to]
        if spec.purpose in NOTICES and all((a, *notice_key(spec.purpose, spec.context)) in sent for a in addresses):
            drop.append((spec, "already told in this state"))
        elif any(counts.get(a, 0) >= cap for a in addresses):
            drop.append((spec, "daily cap of automatic mail about this case reached"))
        else:
            for a in addresses:
                counts[a] = counts.get(a, 0) + 1
            keep.append(spec)
    return keep, drop
