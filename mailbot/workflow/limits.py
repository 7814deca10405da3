"""Caps on automatic mail: no address gets more than N automatic replies a day, whatever loops.

Staff notifications are exempt (they are the office's own work queue); requestor-facing
replies beyond the cap are dropped and recorded so an admin can see them on the case.
"""

from __future__ import annotations

from mailbot.workflow.model import ReplySpec


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
