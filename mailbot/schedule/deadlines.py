"""Which reminders and alerts are due for a case now. Pure: times in, keys out.

Every reminder has a key (e.g. "documents:30", "triage_reminder"); the shell records each key
sent, so a key is sent at most once. In a series (documents after 14, 30, 60 days) only the
latest threshold passed is due: a daemon that was down for weeks sends one reminder when it
comes back, not one per missed tick.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from mailbot.schedule.retention import RetentionPolicy, warning_due
from mailbot.schedule.workdays import WorkCalendar


@dataclass(frozen=True)
class CaseTimes:
    state: str
    opened_at: datetime
    completed_at: datetime | None = None    # entered triage
    approved_at: datetime | None = None     # triage approved: payment requested
    report_due_at: datetime | None = None   # set when routed to a specialist


@dataclass(frozen=True)
class Policy:
    missing_documents_days: tuple[int, ...] = (14, 30, 60)
    payment_days: tuple[int, ...] = (7, 14)
    triage_working_days: int = 2
    remind_working_days_before: int = 1
    incomplete_days: int = 90
    warn_days_before: int = 10


def triage_due(c: CaseTimes, cal: WorkCalendar, tz: ZoneInfo, policy: Policy) -> datetime | None:
    return cal.add_working_days(c.completed_at, policy.triage_working_days, tz) if c.completed_at else None


def _series(prefix: str, since: datetime | None, days: tuple[int, ...], now: datetime, sent: set[str]) -> list[str]:
    if since is None:
        return []
    passed = [d for d in days if now >= since + timedelta(days=d)]
    if not passed:
        return []
    latest = f"{prefix}:{passed[-1]}"
    already = any(f"{prefix}:{d}" in sent for d in days if d >= passed[-1])
    return [] if already else [latest]


def _deadline(prefix: str, due: datetime | None, now: datetime, cal: WorkCalendar, tz: ZoneInfo,
              before: int, sent: set[str]) -> list[str]:
    """'<prefix>_overdue' once past the due time, else '<prefix>_reminder' once near it."""
    if due is None:
        return []
    stamp = due.astimezone(tz).date().isoformat()   # a restarted deadline is a new one
    overdue, reminder = f"{prefix}_overdue@{stamp}", f"{prefix}_reminder@{stamp}"
    if now > due:
        return [] if overdue in sent else [overdue]
    near = cal.working_days_between(now, due, tz) <= before
    return [reminder] if near and reminder not in sent else []


def due_keys(c: CaseTimes, now: datetime, cal: WorkCalendar, tz: ZoneInfo, policy: Policy, sent: set[str]) -> list[str]:
    if c.state == "awaiting_documents":
        keys = _series("documents", c.opened_at, policy.missing_documents_days, now, sent)
        retention = RetentionPolicy(incomplete_days=policy.incomplete_days, warn_days_before=policy.warn_days_before)
        if warning_due(c.state, c.opened_at, now, retention) and "deletion_warning" not in sent:
            keys.append("deletion_warning")
        return keys
    if c.state == "in_triage":
        return _deadline("triage", triage_due(c, cal, tz, policy), now, cal, tz, policy.remind_working_days_before, sent)
    if c.state == "awaiting_payment":
        return _series("payment", c.approved_at, policy.payment_days, now, sent)
    if c.state == "with_specialist":
        return _deadline("report", c.report_due_at, now, cal, tz, policy.remind_working_days_before, sent)
    return []


def deadline_label(c: CaseTimes, now: datetime, cal: WorkCalendar, tz: ZoneInfo, policy: Policy) -> str:
    """For `mailbot cases`: 'due 2026-11-25', 'overdue 2 wd', or ''."""
    due = triage_due(c, cal, tz, policy) if c.state == "in_triage" else \
        c.report_due_at if c.state == "with_specialist" else None
    if due is None:
        return ""
    if now > due:
        return f"OVERDUE {-cal.working_days_between(now, due, tz)} wd"
    return f"due {due.astimezone(tz).date().isoformat()}"
