"""The loop: read waiting mail -> process (commit) -> move out of the inbox -> drain the outbox.

A message is moved only after its effects are committed; if we crash in between, the next
round sees it again, finds its dedup key already stored, and just moves it (no second reply).

Faults: a failure of the storage, database, mailbox or SMTP server is never
the message's fault (faults.py tells them apart). It stops the round, is logged once (outages.py),
and the same messages are processed after recovery, with a capped backoff meanwhile. Only a
failure the message itself causes counts towards its quarantine. Two workers on one mailbox and
one PostgreSQL database process each message once: the loser of a race on the dedup key finds
the winner's record when it processes the message again, and moves on without a strike.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from sqlalchemy.exc import IntegrityError

from mailbot.app import App
from mailbot.errors import DatabaseUnavailable, MailboxError
from mailbot.faults import infrastructure_fault
from mailbot.schedule.digest import run_digest
from mailbot.schedule.jobs import JobReport, run_deadlines, run_housekeeping, run_ocr_queue, run_retention
from mailbot.logsafe import where
from mailbot.mailbox import open_mailbox
from mailbot.mailbox.base import Mailbox, WaitingMessage
from mailbot.notify import ServiceNotifier
from mailbot.outages import Outages
from mailbot.outbox import open_transport
from mailbot.outbox.alerts import DeliveryAlerts
from mailbot.outbox.base import Transport
from mailbot.outbox.queue import DeliveryReport, RetryPolicy, deliver_due, retry_backed_off_now, undelivered
from mailbot.rulebook.watch import RulesReloader
from mailbot.store.markers import LAST_CYCLE, touch

log = logging.getLogger(__name__)
MAX_FAILURES = 3
DIGEST_CHECK_SECONDS = 60   # the digest is due from its minute on: checked once a minute
LOOP_SERVICES = ("mailbox", "database", "storage", "network")   # what fetching and processing need
SHARED_SERVICES = ("database", "storage", "network")             # what every mailbox needs


def is_loop_service(service: str) -> bool:
    """A service fetching and processing need: the shared ones, and each mailbox ("mailbox rome")."""
    return service in LOOP_SERVICES or service.startswith("mailbox ")


@dataclass
class CycleReport:
    reminders: int = 0
    processed: int = 0
    quarantined: int = 0
    duplicates: int = 0
    errors: int = 0          # messages that failed by their own fault (strikes)
    left: int = 0            # messages left in the inbox because a service failed
    undelivered: int = 0     # outgoing messages still queued after the cycle
    down: list = field(default_factory=list)   # services unavailable at the end
    delivery: DeliveryReport = field(default_factory=DeliveryReport)
    outcomes: list = field(default_factory=list)


def service_places(config) -> dict[str, str]:
    """Where each service is, for log lines (never a password)."""
    from sqlalchemy.engine import make_url

    try:
        database = make_url(config.database_url).render_as_string(hide_password=True)
    except Exception:   # an unparsable URL is reported at start; here it is only a label
        database = "the configured database"
    places = {"database": database, "storage": str(config.path(config.storage.dir))}
    for name, one in config.mailbox_configs():
        if one.imap is not None:
            places[name] = f"IMAP {one.imap.host}:{one.imap.port} user {one.imap.username}"
        elif one.maildir is not None:
            places[name] = f"Maildir {config.path(one.maildir.path)}"
    if config.smtp is not None:
        places["smtp"] = f"SMTP {config.smtp.host}:{config.smtp.port}"
    elif config.outbox is not None:
        places["smtp"] = f"outbox folder {config.path(config.outbox.dir)}"
    return places


def start_line(app: App) -> str:
    """What this process works on, in one line for the operator: no password, no address."""
    from sqlalchemy.engine import make_url

    from mailbot import __version__

    config, rules = app.config, app.rulebook
    boxes = []
    for name, one in config.mailbox_configs():
        label = "" if name == "mailbox" else f"{name.split(' ', 1)[1]}: "
        boxes.append(f"{label}IMAP {one.imap.host}:{one.imap.port} folder {one.imap.folder}" if one.imap is not None
                     else f"{label}Maildir {one.path(one.maildir.path)}")
    mailbox = "; ".join(boxes)
    try:
        url = make_url(config.database_url)
        where = url.database if url.get_backend_name() == "sqlite" else \
            f"{url.host or 'local socket'}{f':{url.port}' if url.port else ''}/{url.database or ''}"
        database = f"{url.get_backend_name()} {where}"
    except Exception:   # an unparsable URL never gets this far; this is only a label
        database = "the configured database"
    staff = len(rules.staff.triage) + len(rules.staff.specialists) + len(rules.staff.admins)
    return (f"mailbot {__version__} starting: mailbox{'es' if len(boxes) > 1 else ''} {mailbox}; database {database}; "
            f"rules {config.path(config.rules.dir)} ({len(rules.conditions)} conditions, "
            f"{len(rules.documents)} document types, {staff} staff); "
            f"sending {service_places(config).get('smtp', '?')}; office time {config.office.timezone}")


def start_app(config, *, stopping: threading.Event | None = None) -> App | None:
    """`build_app` for `mailbot run`: a database that is not up yet (a reboot, a failover) is
    waited for, logged once, until it answers or SIGTERM/SIGINT comes (then None). Configuration
    and rules errors still stop the start."""
    from mailbot.app import build_app

    stopping = stopping or threading.Event()
    previous = {}
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGTERM, signal.SIGINT):
            previous[signum] = signal.signal(signum, lambda *_: stopping.set())
        # a reload before the loop is ready must not kill the service (the default for SIGHUP);
        # the rules are read now anyway, and later edits are seen by their modification time
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
    outages = Outages(max_backoff_seconds=config.scheduler.outage_retry_max_seconds,
                      places=service_places(config))
    notifier = ServiceNotifier()
    try:
        while not stopping.is_set():
            try:
                app = build_app(config)
            except DatabaseUnavailable as exc:
                outages.failed("database", exc)
                notifier.ready()   # systemd: started, and waiting is its work now (no start timeout)
                notifier.alive()
                stopping.wait(outages.backoff())
                continue
            outages.ok("database")
            if stopping.is_set():   # SIGTERM while the app was being built (templates take seconds)
                log.info("stopped while starting, as asked")
                return None
            return app
        return None
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _key(service: str, key: str) -> str:
    """A message's key across mailboxes (the single mailbox's keys stay as they are)."""
    return key if service == "mailbox" else f"{service}\0{key}"


def _of(service: str, key: str) -> bool:
    return service == "mailbox" or key.startswith(f"{service}\0")


class Worker:
    def __init__(self, app: App, mailbox: Mailbox | None = None, transport: Transport | None = None):
        self.app = app
        # (service name, mailbox): one per [[mailboxes]] entry, or the one [imap] / [maildir]
        self.mailboxes: list[tuple[str, Mailbox]] = [("mailbox", mailbox)] if mailbox is not None else [
            (name, open_mailbox(one)) for name, one in app.config.mailbox_configs()]
        self._next_try: dict[str, float] = {}  # a mailbox that is down: not tried again before then
        self._hospital_of = app.config.mailbox_hospitals()   # service -> the hospital it serves
        self.transport = transport or open_transport(app.config)
        self.failures: dict[str, int] = {}
        self.defer_duplicates = False          # `run` sets it: other daemons may share the mailbox
        self._sighted: set[str] = set()        # duplicates seen once, moved when seen again
        self.stopping = threading.Event()
        self._delivering = threading.Lock()   # the scheduler thread and the mail loop share the transport
        config = app.config
        self.outages = Outages(max_backoff_seconds=config.scheduler.outage_retry_max_seconds,
                               places=service_places(config))
        self.retry = RetryPolicy(config.delivery.retry_base_seconds, config.delivery.retry_max_seconds)
        self.alerts = DeliveryAlerts(app.rulebook, app.intake.renderer, office_address=config.office.address,
                                     office_name=config.office.name, zone=config.office.zone,
                                     alert_after=timedelta(minutes=config.delivery.alert_after_minutes))

    # -- inbound ----------------------------------------------------------------------------------

    @property
    def mailbox(self) -> Mailbox:
        """The first (usually the only) mailbox."""
        return self.mailboxes[0][1]

    def fetch_and_process(self, report: CycleReport, *, skip_resting: bool = False) -> None:
        """Every mailbox in turn. One that fails (login refused, server down) is logged once and
        skipped; the others are still read. A shared service failing stops the round.
        `skip_resting`: leave a failed mailbox alone until its backoff has passed (the daemon)."""
        for service, mailbox in self.mailboxes:
            if self.stopping.is_set():
                return
            if skip_resting and len(self.mailboxes) > 1 and time.monotonic() < self._next_try.get(service, 0.0):
                report.left += 1
                continue
            if not self._fetch_from(service, mailbox, report):
                return

    def _fetch_from(self, service: str, mailbox: Mailbox, report: CycleReport) -> bool:
        """One mailbox's waiting mail; False when a shared service failed (the round stops)."""
        listed: set[str] = set()
        try:
            for waiting in mailbox.waiting():
                listed.add(_key(service, waiting.key))
                if self.stopping.is_set():
                    break
                if not self._handle(waiting, report, mailbox, service):
                    report.left += 1
                    return False   # a service is down: the rest of the inbox waits for it too
            else:
                # forget duplicates that another worker has moved meanwhile
                self._sighted = {k for k in self._sighted if not _of(service, k)} | (self._sighted & listed)
        except Exception as exc:   # reading or moving in this mailbox failed
            report.left += 1
            if infrastructure_fault(exc) == "database":   # e.g. its OAuth2 token store: everyone's
                self.outages.failed("database", exc)
                return False
            if not isinstance(exc, MailboxError) and len(self.mailboxes) == 1:
                raise
            self.outages.failed(service, exc)   # this mailbox only: the others are still read
            self._next_try[service] = time.monotonic() + self.outages.backoff((service,))
            return True
        self.outages.ok(service)
        self._next_try.pop(service, None)
        return True

    def _handle(self, waiting: WaitingMessage, report: CycleReport, mailbox: Mailbox | None = None,
                service: str = "mailbox") -> bool:
        """Process one message and move it; False when a service failed (nothing counted)."""
        mailbox = mailbox if mailbox is not None else self.mailbox
        key = _key(service, waiting.key)
        try:
            outcome = self._process(waiting.raw, self._hospital_of.get(service, ""))
        except Exception as exc:
            failed = infrastructure_fault(exc)
            if failed is not None:
                self.outages.failed(failed, exc)
                return False
            report.errors += 1
            log.error("message %s not processed: %s (will retry, then quarantine; `mailbot replay` on it "
                      "shows the full error)", waiting.key, where(exc))
            self._count_failure(key, report, mailbox, waiting.key, service)
            return True
        self.outages.ok("database")
        if not outcome.already_done:
            self.outages.ok("storage")
        self.failures.pop(key, None)
        report.outcomes.append(outcome)
        if outcome.already_done:
            report.duplicates += 1
            if self.defer_duplicates and key not in self._sighted:
                # Probably another daemon committed it a moment ago and is moving it now: two
                # concurrent MOVEs would leave two copies. Still here next round: move it then.
                self._sighted.add(key)
                return True
            self._sighted.discard(key)
        if outcome.disposition == "quarantined":
            mailbox.move_to_quarantine(waiting.key)
            report.quarantined += 1
        else:
            mailbox.move_to_processed(waiting.key)
            report.processed += 1
        log.info("message %s: %s%s", waiting.key, outcome.disposition,
                 f" on {outcome.case_ref}" if outcome.case_ref else "")
        return True

    def _process(self, raw: bytes, hospital: str = ""):
        try:
            return self.app.intake.process(raw, received_for=hospital)
        except IntegrityError:
            # Another worker committed the same message first (the dedup key is unique): processing
            # it again finds that record and reports a duplicate. A second IntegrityError is the
            # message's own (the same bytes fail the same way) and counts as a strike.
            log.info("a concurrent worker stored the same message first; checking")
            return self.app.intake.process(raw, received_for=hospital)

    def _count_failure(self, key: str, report: CycleReport, mailbox: Mailbox, mailbox_key: str,
                       service: str) -> None:
        self.failures[key] = self.failures.get(key, 0) + 1
        if self.failures[key] >= MAX_FAILURES:
            log.error("message %s failed %d times: moved to quarantine for an admin", mailbox_key, MAX_FAILURES)
            try:
                mailbox.move_to_quarantine(mailbox_key)
                report.quarantined += 1
                self.failures.pop(key, None)
            except MailboxError as exc:
                self.outages.failed(service, exc)
        else:
            report.left += 1

    # -- outbound ---------------------------------------------------------------------------------

    def deliver(self, report: CycleReport | None = None) -> None:
        with self._delivering:
            result = self._deliver_once()
            if result is not None and result.sent and self.outages.ok("smtp"):
                # mail works again: what waited out the outage goes now, not at the end of its backoff
                if self._guard("database", lambda: retry_backed_off_now(self.app.sessions, self.app.clock)):
                    more = self._deliver_once()
                    if more is not None:
                        result.sent += more.sent
        if report is not None and result is not None:
            report.delivery = result

    def _deliver_once(self) -> DeliveryReport | None:
        result = self._guard("database", lambda: deliver_due(
            self.app.sessions, self.transport, self.app.clock, policy=self.retry, alerts=self.alerts))
        if result is None:
            return None
        self.outages.ok("database")
        if result.unreachable:
            self.outages.failed("smtp", result.unreachable)
        return result

    def _guard(self, what: str, action):
        """Run `action`; an infrastructure fault is noted (logged once) and gives None."""
        try:
            return action()
        except Exception as exc:
            service = infrastructure_fault(exc)
            if service is None:
                log.error("%s step failed: %s; it will run again next round", what, where(exc))
            else:
                self.outages.failed(service, exc)
            return None

    # -- scheduled jobs ---------------------------------------------------------------------------

    def run_job(self, name: str, job) -> JobReport | None:
        """A failing job is logged (an outage once) and simply runs again next round."""
        try:
            result = job(self.app)
        except Exception as exc:
            service = infrastructure_fault(exc)
            if service is None:
                log.error("%s job failed: %s; it will run again next round", name, where(exc))
            else:
                self.outages.failed(service, exc)
            return None
        self.outages.ok("database")
        return result

    def run_jobs(self, report: CycleReport | None = None) -> None:
        """Deadlines, reminders, retention and housekeeping: whatever is due now."""
        result = self.run_job("deadlines", run_deadlines)
        self.run_job("retention", run_retention)
        self.run_job("housekeeping", self.housekeeping)
        self.run_job("ocr", run_ocr_queue)
        self.run_job("digest", run_digest)
        if report is not None and result is not None:
            report.reminders = result.sent

    def housekeeping(self, app: App) -> JobReport:
        return run_housekeeping(app, self.transport)

    # -- the two ways to run ----------------------------------------------------------------------

    def cycle(self) -> CycleReport:
        """`mailbot once`: fetch and process, run due jobs, flush the outbox."""
        report = CycleReport()
        self.fetch_and_process(report)
        self.run_jobs(report)
        self.deliver(report)
        report.undelivered = self._guard("database", lambda: undelivered(self.app.sessions)) or 0
        report.down = self.outages.down()
        self.record_good_cycle()
        return report

    def record_good_cycle(self) -> None:
        """A round that read the inbox and drained the outbox with every service up: its time,
        for `mailbot status` (whichever process ran it)."""
        if not self.outages.down():
            self._guard("database", lambda: touch(self.app.sessions, LAST_CYCLE, self.app.clock.now()))

    def run_forever(self) -> None:
        def stop(signum, _frame):
            log.info("signal %s: finishing the message in hand, then stopping", signum)
            self.stopping.set()

        self.rules = RulesReloader(self.app, on_new_rules=self._use_rules)
        if threading.current_thread() is threading.main_thread():   # embedders stop us with .stopping
            signal.signal(signal.SIGTERM, stop)
            signal.signal(signal.SIGINT, stop)
            signal.signal(signal.SIGHUP, lambda *_: self.rules.watch.requested.set())   # reload the rules
        poll = self.app.config.poll_seconds if len(self.mailboxes) > 1 else \
            (self.app.config.imap or self.app.config.maildir).poll_seconds
        log.info("%s", start_line(self.app), extra={"event": "start"})
        self.defer_duplicates = True
        scheduler = self._scheduler()
        scheduler.start()
        notifier = ServiceNotifier()   # systemd: READY / WATCHDOG / STOPPING (mailbot/notify.py)
        notifier.ready()               # systemd
        try:
            while not self.stopping.is_set():
                self._guard("rules reload", self.rules.check)
                try:
                    self.fetch_and_process(CycleReport(), skip_resting=True)
                    self.deliver()
                except Exception as exc:   # a bug must not stop the daemon: log, wait, go on
                    log.error("mail loop failed: %s; trying again", where(exc))
                    self.stopping.wait(self.outages.max_backoff)
                    continue
                notifier.alive()       # systemd: one round done (WatchdogSec must exceed a round)
                self.record_good_cycle()
                pause = self._pause()
                if pause:
                    self.stopping.wait(pause)
                else:
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
        now = datetime.now(timezone.utc)
        for name, job, seconds in (("deadlines", run_deadlines, every.deadlines_seconds),
                                   ("retention", run_retention, every.retention_seconds),
                                   ("housekeeping", self.housekeeping, every.housekeeping_seconds),
                                   ("ocr", run_ocr_queue, self.app.config.ocr.queue_seconds)):
            scheduler.add_job(self.run_job, "interval", args=(name, job), id=name, seconds=seconds,
                              next_run_time=now, **options)
        scheduler.add_job(self.run_job, "interval", args=("digest", run_digest), id="digest", seconds=DIGEST_CHECK_SECONDS,
                          next_run_time=now, **options)
        scheduler.add_job(self.deliver, "interval", seconds=every.outbox_seconds, id="outbox", **options)
        return scheduler

    def _pause(self) -> float:
        """How long the loop rests: a shared service's backoff, or the mailboxes' when all are down
        (one mailbox down alone: the others are read at the usual pace)."""
        names = [name for name, _m in self.mailboxes]
        if all(self.outages.is_down(name) for name in names):
            return self.outages.backoff((*SHARED_SERVICES, *names))
        return self.outages.backoff(SHARED_SERVICES)

    def wait_for_mail(self, poll_seconds: float) -> None:
        """Until new mail (IMAP IDLE / Maildir watch) or the poll interval ends; wakes within
        a few seconds of a stop signal. Polling stays as the backstop for a silent IDLE."""
        deadline = time.monotonic() + poll_seconds
        # several mailboxes: polled (IMAP IDLE watches one folder of one connection)
        wait = getattr(self.mailbox, "wait_for_mail", None) if len(self.mailboxes) == 1 else None
        rules = getattr(self, "rules", None)
        while not self.stopping.is_set():
            if rules is not None and rules.watch.requested.is_set():
                return   # SIGHUP: the loop reloads the rules now
            left = deadline - time.monotonic()
            if left <= 0:
                return
            try:
                if wait is not None and wait(min(left, 5.0)):
                    return
                if wait is None:
                    self.stopping.wait(min(left, 5.0))
            except MailboxError as exc:
                self.outages.failed(self.mailboxes[0][0], exc)
                return   # the loop's backoff takes over

    def _use_rules(self, rulebook) -> None:
        """New rules in force: the delivery notices go to their admins too."""
        self.alerts.rulebook = rulebook

    def close(self) -> None:
        for part in (*(m for _name, m in self.mailboxes), self.transport):
            try:
                part.close()
            except Exception:  # closing is best effort
                log.debug("close failed", exc_info=True)

