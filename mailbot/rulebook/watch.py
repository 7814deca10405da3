"""Rule files edited while `mailbot run` runs: picked up between two messages, never half-loaded.

The daemon asks `RulesWatch.check()` once per round of its mail loop and at once on SIGHUP. The
files' modification times and sizes say whether anything changed (cheap); their contents say
which *version* it is (a hash), so touching a file or saving it unchanged does nothing.

- A version that loads (rulebook.load, hospitals.toml and the hospitals' staff files included),
  whose staff languages have templates and which still has every hospital a [[mailboxes]] entry
  serves, replaces the rules in force: the App's rulebook and a new Intake built on it. One log line.
- A version that does not load leaves the last good rules in force. Each problem is logged with
  its file:line, and the admins (of the rules in force) get one mail per bad version: the
  `rules_bad:<version>` marker is inserted in the transaction that queues it, so a second daemon
  or a later round sends nothing more. While the database is down the mail waits for it.
- A file saved a moment ago may be half-written by an editor: a change younger than SETTLE
  seconds is looked at next round (SIGHUP means "done editing" and skips the wait).
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.exc import IntegrityError

from mailbot.schedule.digest import queue_admin_mail
from mailbot.errors import ConfigError, MailbotError, RulesError
from mailbot.faults import describe, is_infrastructure_fault, keep_office_addresses
from mailbot.logsafe import where
from mailbot.rulebook import load_rulebook
from mailbot.store.markers import claim
from mailbot.workflow.context import staff_language
from mailbot.workflow.model import ReplySpec

log = logging.getLogger(__name__)
SETTLE_SECONDS = 1.0
PURPOSE = "admin/rules_invalid"


@dataclass(frozen=True)
class _Bad:
    version: str
    problems: tuple[str, ...]


def _files(directory: Path) -> list[Path]:
    try:
        return sorted(p for p in directory.iterdir() if p.suffix == ".toml" and p.is_file())
    except OSError:
        return []


class RulesWatch:
    def __init__(self, directory: Path):
        self.directory = Path(directory)
        self.requested = threading.Event()      # SIGHUP: look now
        self._stamp = self._stamp_now()
        self.good = self._version()             # the version in force (loaded at start)
        self.bad: str | None = None             # the last version that failed
        self.unsent: _Bad | None = None        # its admin mail, while the database is down

    def _stamp_now(self) -> tuple:
        stamp = []
        for path in _files(self.directory):
            try:
                info = path.stat()
            except OSError:
                continue
            stamp.append((path.name, info.st_mtime_ns, info.st_size))
        return tuple(stamp)

    def _version(self) -> str:
        digest = hashlib.sha256()
        for path in _files(self.directory):
            try:
                digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
            except OSError:
                digest.update(path.name.encode() + b"\0unreadable\0")
        return digest.hexdigest()[:16]

    def changed(self) -> str | None:
        """The version to load now, or None (nothing new, or still being written)."""
        forced = self.requested.is_set()
        self.requested.clear()
        stamp = self._stamp_now()
        if stamp == self._stamp and not forced:
            return None
        newest = max((m for _n, m, _s in stamp), default=0) / 1e9
        if not forced and 0 <= time.time() - newest < SETTLE_SECONDS:   # (a file dated ahead: no wait)
            return None                         # an editor may still be writing: next round
        self._stamp = stamp
        version = self._version()
        if version in (self.good, self.bad):
            if forced:
                log.info("rules in %s unchanged (version %s%s)", self.directory, version,
                         ", still invalid: the previous rules stay in force" if version == self.bad else "")
            return None
        return version


class RulesReloader:
    """Applies what RulesWatch finds to a running App (from the mail loop's thread)."""

    def __init__(self, app, on_new_rules=None):
        self.app = app
        self.watch = RulesWatch(app.config.path(app.config.rules.dir))
        self.on_new_rules = on_new_rules or (lambda rulebook: None)

    def check(self) -> None:
        version = self.watch.changed()
        if version is not None:
            self._load(version)
        if self.watch.unsent is not None:
            self._tell_admins(self.watch.unsent)

    def _load(self, version: str) -> None:
        from mailbot.app import check_mailbox_hospitals
        from mailbot.service import Intake
        app, directory = self.app, self.watch.directory
        try:
            rulebook = load_rulebook(directory)
            try:
                check_mailbox_hospitals(app.config, rulebook)
            except ConfigError as exc:    # a [[mailboxes]] entry serves a hospital the new rules lack
                raise RulesError([f"{directory / 'hospitals.toml'}:1: hospitals: {exc}"]) from None
            intake = Intake(app.config, rulebook, app.sessions, app.files, app.intake.renderer, app.clock)
        except RulesError as exc:
            problems = tuple(exc.problems)
        except MailbotError as exc:   # e.g. a staff language without templates
            problems = (f"{directory / 'staff.toml'}:1: languages: {exc}",)
        except OSError as exc:        # a file the service may not read (its mode after an edit)
            problems = (f"{directory}:1: rules: cannot be read: {describe(exc)}",)
        else:
            app.rulebook, app.intake = rulebook, intake
            keep_office_addresses([str(a) for h in rulebook.hospitals.values() for a in h.addresses])
            self.on_new_rules(rulebook)
            self.watch.good, self.watch.bad, self.watch.unsent = version, None, None
            staff = rulebook.staff
            log.info("rules reloaded from %s (version %s): %d conditions, %d document types, %d staff",
                        directory, version, len(rulebook.conditions), len(rulebook.documents),
                        len(staff.triage) + len(staff.specialists) + len(staff.admins),
                        extra={"event": "rules_reloaded", "version": version})
            return
        self.watch.bad = version
        log.error("rules in %s changed but do not load (version %s): %d problem(s); the previous rules "
                  "stay in force", directory, version, len(problems),
                  extra={"event": "rules_invalid", "version": version})
        for problem in problems:
            log.error("rules: %s", problem)
        self.watch.unsent = _Bad(version, problems)

    def _tell_admins(self, bad: _Bad) -> None:
        """One mail per bad version to the admins of the rules in force (its own transaction)."""
        app = self.app
        now = app.clock.now()
        context = {"office_name": app.config.office.name, "rules_dir": str(self.watch.directory),
                   "problems": list(bad.problems), "count": len(bad.problems), "version": bad.version}
        try:
            with app.sessions() as session:
                if claim(session, f"rules_bad:{bad.version}", now, {"problems": len(bad.problems)}):
                    for i, admin in enumerate(app.rulebook.staff.admins):
                        spec = ReplySpec(PURPOSE, (str(admin.email),), staff_language(admin), context,
                                         auto_submitted="auto-generated")
                        queue_admin_mail(app, session, spec, now,
                                         f"<mailbot.rules-invalid.{bad.version}.{i}@{app.config.office.domain}>")
                    session.commit()
        except IntegrityError:
            pass                                # another daemon told them
        except Exception as exc:
            if is_infrastructure_fault(exc):    # the database is down: again next round
                log.debug("rules alert not queued yet: %s", where(exc))
                return
            log.error("could not queue the admins' mail about the rules: %s", where(exc))
        self.watch.unsent = None

