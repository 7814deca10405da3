"""The loop: read waiting mail -> process (commit) -> move out of the inbox -> drain the outbox.

A message is moved only after its effects are committed; if we crash in between, the next
round sees it again, finds its dedup key already stored, and just moves it (no second reply).
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from datetime import datetime, timezone
from dataclasses import dataclass, field

from mailbot.app import App
from mailbot.errors import MailboxError, MailbotError
from mailbot.logsafe import where
from mailbot.jobs import JobReport, run_deadlines, run_retention
from mailbot.mailbox import open_mailbox
from mailbot.mailbox.base import Mailbox
from mailbot.notify import ServiceNotifier
from mailbot.outbox import open_transport
from mailbot.outbox.base import Transport
from mailbot.outbox.queue import DeliveryReport, deliver_due

log = logging.getLogger(__name__)
MAX_FAILURES = 3


@dataclass
class CycleReport:
    reminders: int = 0
    processed: int = 0
    quarantined: int = 0
    duplicates: int = 0
    errors: int = 0
    delivery: DeliveryReport = field(default_factory=DeliveryReport)
    outcomes: list = field(default_factory=list)


class Worker:
    def __init__(self, app: App, mailbox: Mailbox | None = None, transport: Transport | None = None):
        self.app = app
        self.mailbox = mailbox or open_mailbox(app.config)
        self.transport = transport or open_transport(app.config)
        self.failures: dict[str, int] = {}
        self.stopping = threading.Event()
        self._delivering = threading.Lock()   # the scheduler thread and the mail loop share the transport

    def fetch_and_process(self, report: CycleReport) -> None:
        for waiting in self.mailbox.waiting():
            if self.stopping.is_set():
                break
            try:
                outcome = self.app.intake.process(waiting.raw)
            except MailbotError as exc:
                report.errors += 1
                log.error("message %s not processed: %s", waiting.key, exc)
                self._count_failure(waiting.key, report)
                continue
            except Exception as exc:  # a bug or a dead database: never let one message stop the daemon
                report.errors += 1
                log.error("message %s not processed: %s (will retry, then quarantine; "
                          "`mailbot replay` on it shows the full error)", waiting.key, where(exc))
                self._count_failure(waiting.key, report)
                continue
            report.outcomes.append(outcome)
            if outcome.already_done:
                report.duplicates += 1
            if outcome.disposition == "quarantined":
                self.mailbox.move_to_quarantine(waiting.key)
                report.quarantined += 1
            else:
                self.mailbox.move_to_processed(waiting.key)
                report.processed += 1
            log.info("message %s: %s%s", waiting.key, outcome.disposition,
                     f" on {outcome.case_ref}" if outcome.case_ref else "")

    def _count_failure(self, key: str, report: CycleReport) -> None:
        self.failures[key] = self.failures.get(key, 0) + 1
        if self.failures[key] >= MAX_FAILURES:
            log.error("message %s failed %d times: moved to quarantine for an admin", key, MAX_FAILURES)
            try:
                self.mailbox.move_to_quarantine(key)
                report.quarantined += 1
                self.failures.pop(key, None)
            except MailboxError as exc:
                log.error("could not quarantine %s: %s", key, exc)

    def deliver(self, report: CycleReport | None = None) -> None:
        policy = self.app.config.delivery
        with self._delivering:
            result = deliver_due(self.app.sessions, self.transport, self.app.clock,
                                 max_attempts=policy.max_attempts, retry_base_seconds=policy.retry_base_seconds)
        if report is not None:
            report.delivery = result

    def run_job(self, name: str, job) -> JobReport | None:
        """A failing job is logged and simply runs again next round; it never stops the others."""
        try:
            return job(self.app)
        except Exception as exc:
            log.error("%s job failed: %s; it will run again next round", name, where(exc))
            return None

    def run_jobs(self, report: CycleReport | None = None) -> None:
        """Deadlines, reminders and retention: whatever is due now."""
        result = self.run_job("deadlines", run_deadlines)
        self.run_job("retention", run_retention)
        if report is not None and result is not None:
            report.reminders = result.sent

    def cycle(self) -> CycleReport:
        report = CycleReport()
        try:
            self.fetch_and_process(report)
        except MailboxError as exc:
            report.errors += 1
            log.error("mailbox unavailable: %s (will retry)", exc)
        self.run_jobs(report)
        self.deliver(report)
        return report

    def run_forever(self) -> None:
        def stop(signum, _frame):
            log.info("signal %s: finishing the message in hand, then stopping", signum)
            self.stopping.set()

        if threading.current_thread() is threading.main_thread():   # embedders stop us with .stopping
            signal.signal(signal.SIGTERM, stop)
            signal.signal(signal.SIGINT, stop)
        poll = (self.app.config.imap or self.app.config.maildir).poll_seconds
        scheduler = self._scheduler()
        scheduler.start()
        notifier = ServiceNotifier()   # systemd: READY / WATCHDOG / STOPPING (mailbot/notify.py)
        notifier.ready()               # systemd
        try:
            while not self.stopping.is_set():
                report = CycleReport()
                try:
                    self.fetch_and_process(report)
                except MailboxError as exc:
                    log.error("mailbox unavailable: %s (will retry)", exc)
                self.deliver()
                notifier.alive()       # systemd: one round done (WatchdogSec must exceed a round)
                self.wait_for_mail(poll)
        finally:
            notifier.stopping()        # systemd
            scheduler.shutdown(wait=True)

    def _scheduler(self):
        from apscheduler.schedulers.background import BackgroundScheduler

        every = self.app.config.scheduler
        # APScheduler fires on wall-clock time; the jobs decide with the app's clock
        scheduler = BackgroundScheduler(timezone=self.app.config.office.timezone)
        options = dict(max_instances=1, coalesce=True, misfire_grace_time=None)
        scheduler.add_job(self.run_job, "interval", args=("deadlines", run_deadlines), id="deadlines",
                          seconds=every.deadlines_seconds, next_run_time=datetime.now(timezone.utc), **options)
        scheduler.add_job(self.run_job, "interval", args=("retention", run_retention), id="retention",
                          seconds=every.retention_seconds, next_run_time=datetime.now(timezone.utc), **options)
        scheduler.add_job(self.deliver, "interval", seconds=every.outbox_seconds, id="outbox", **options)
        return scheduler

    def wait_for_mail(self, poll_seconds: float) -> None:
        """Until new mail (IMAP IDLE / Maildir watch) or the poll interval ends; wakes within
        a few seconds of a stop signal. Polling stays as the backstop for a silent IDLE."""
        deadline = time.monotonic() + poll_seconds
        wait = getattr(self.mailbox, "wait_for_mail", None)
        while not self.stopping.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return
            try:
                if wait is not None and wait(min(left, 5.0)):
                    return
                if wait is None:
                    self.stopping.wait(min(left, 5.0))
            except MailboxError as exc:
                log.error("waiting for mail failed: %s", exc)
                self.stopping.wait(min(left, 5.0))

    def close(self) -> None:
        for part in (self.mailbox, self.transport):
            try:
                part.close()
            except Exception:  # closing is best effort
                log.debug("close failed", exc_info=True)
