"""Moved to mailbot.service; kept so older imports keep working."""

from mailbot.service import CaseNotFound, Intake, Outcome, dedup_key  # noqa: F401
