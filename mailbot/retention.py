"""Retention policy (pure: no I/O, no clock; the caller passes `now`).

Why these rules:

- An **incomplete** case (still `awaiting_documents`) is deleted `incomplete_days` (90) after it was
  opened. We hold health data only to give a second opinion; a request that never became complete
  has no purpose left, and keeping it would be keeping health data for nothing. The clock starts
  at `opened_at`, not at the last message: a trickle of partial sends must not keep a stale
  request alive for ever, and the requestor knows the date from the first reply.
- The requestor is **warned** `warn_days_before` (10) days before that deletion, so they can
  complete the request (or simply write again later for a new case).
- A **closed** case (`report_sent`, `rejected`, `cancelled`, `expired`) is kept `closed_days`
  (default 3650, about ten years, the usual clinical-record period; configurable) after it was
  closed, then purged the same way. Cases in triage, awaiting payment or with the specialist are
  never purged by retention: someone is working on them.

Boundaries are inclusive: a case opened exactly `incomplete_days` ago is due (a day "after"
counts from the opening instant), the warning starts exactly `incomplete_days - warn_days_before`
days after opening. All datetimes must be timezone-aware (the database returns aware UTC).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from mailbot.workflow.model import CLOSED_STATES

INCOMPLETE_STATE = "awaiting_documents"
PURGE_INCOMPLETE = "purge_incomplete"
PURGE_CLOSED = "purge_closed"


@dataclass(frozen=True)
class RetentionPolicy:
    """How long cases are kept, in days (configured in [retention])."""

    incomplete_days: int = 90
    warn_days_before: int = 10
    closed_days: int = 3650

    def __post_init__(self) -> None:
        if self.incomplete_days < 1 or self.closed_days < 1 or self.warn_days_before < 0:
            raise ValueError("retention periods must be positive (warn_days_before may be 0)")


def retention_action(case_state: str, opened_at: datetime, closed_at: datetime | None, now: datetime,
                     policy: RetentionPolicy = RetentionPolicy()) -> str | None:
    """What retention must do with this case now: "purge_incomplete", "purge_closed" or None.

    - "purge_incomplete": still awaiting documents and opened at least `incomplete_days` ago.
    - "purge_closed": in a closed state and closed at least `closed_days` ago. A closed case
      without `closed_at` is kept (we cannot tell how old it is; never guess towards deleting).
    - None: keep it (open cases in triage/payment/with the specialist, or not yet old enough).
    """
    if case_state == INCOMPLETE_STATE:
        return PURGE_INCOMPLETE if now - opened_at >= timedelta(days=policy.incomplete_days) else None
    if case_state in CLOSED_STATES and closed_at is not None:
        return PURGE_CLOSED if now - closed_at >= timedelta(days=policy.closed_days) else None
    return None


def warning_due(state: str, opened_at: datetime, now: datetime, policy: RetentionPolicy = RetentionPolicy()) -> bool:
    """True while the requestor should be warned that the incomplete case will be deleted.

    That is from `incomplete_days - warn_days_before` days after opening until the purge itself
    (once purge time has come there is nothing left to warn about: the case goes). Sending it only
    once is the caller's job (a Reminder row per case and key).
    """
    if state != INCOMPLETE_STATE:
        return False
    age = now - opened_at
    start = timedelta(days=max(policy.incomplete_days - policy.warn_days_before, 0))
    return start <= age < timedelta(days=policy.incomplete_days)
