"""The office's time policy (config [reminders], [retention]) and a case's times, as the pure
deadline rules (schedule/deadlines.py) read them."""

from __future__ import annotations

from datetime import datetime

from mailbot.schedule.deadlines import CaseTimes, Policy


def policy_of(config) -> Policy:
    r, k = config.reminders, config.retention
    return Policy(missing_documents_days=tuple(r.missing_documents_days), payment_days=tuple(r.payment_days),
                  triage_working_days=r.triage_working_days, remind_working_days_before=r.remind_working_days_before,
                  incomplete_days=k.incomplete_days, warn_days_before=k.warn_days_before)


def case_times(case) -> CaseTimes:
    """`case`: anything with the case row's state and time columns (store.models.Case)."""
    approved = case.triage.get("approved_at") if case.triage else None
    return CaseTimes(state=case.state, opened_at=case.opened_at, completed_at=case.completed_at,
                     approved_at=datetime.fromisoformat(approved) if approved else None,
                     report_due_at=case.report_due_at)
