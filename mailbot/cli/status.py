"""`mailbot status`: the office's state at a glance, for a person or for monitoring.

It asks the services themselves, not the daemon: each mailbox (logged in, inbox and quarantine
counted; with [[mailboxes]] one line per entry, and one that is down is degraded), the SMTP server (logged in), the database (schema revision, outbox, cases, the last
good cycle the daemon recorded), the OAuth grants and the rule files. It never changes anything:
a missing or old database is reported, not created or migrated.

Healthy means mail can come in and go out and nothing waits for an admin's hand: degraded when
the mailbox or SMTP server cannot be used, the schema is not this version's, outgoing mail was
refused for good, an OAuth grant was revoked, or the rule files do not load. Deadlines, the
oldest waiting message, the cases whose requestor or patient address bounced (the admins were
told, and correct it per case) and the last cycle are shown, not judged: they are the office's work.

The counts come from store/overview.py, which the admins' daily digest also mails.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from mailbot.config import Config
from mailbot.errors import MailbotError
from mailbot.faults import describe, infrastructure_fault
from mailbot.schedule.workdays import WorkCalendar
from mailbot.store.overview import OfficeFacts, office_facts


@dataclass
class Check:
    name: str
    ok: bool
    detail: str


@dataclass
class Status:
    checks: list[Check]
    facts: OfficeFacts | None
    mailbox: dict[str, Any] = field(default_factory=dict)   # waiting, oldest_waiting, quarantine
    now: datetime = field(default_factory=lambda: datetime.now(timezone.utc))   # shown in the office's zone

    @property
    def healthy(self) -> bool:
        return all(c.ok for c in self.checks)

    def as_dict(self) -> dict[str, Any]:
        return {"healthy": self.healthy, "checked_at": self.now.isoformat(timespec="seconds"),
                "checks": {c.name: {"ok": c.ok, "detail": c.detail} for c in self.checks},
                "mailbox": self.mailbox, "office": asdict(self.facts) if self.facts else None}

    def text(self) -> str:
        lines = [f"mailbot status: {'HEALTHY' if self.healthy else 'DEGRADED'} "
                 f"(checked {self.now.isoformat(timespec='seconds')})"]
        lines += [f"  {c.name:<9} {'ok  ' if c.ok else 'FAIL'} {c.detail}" for c in self.checks]
        if self.mailbox:
            m = self.mailbox
            oldest = f", the oldest since {m['oldest_waiting']} ({_age(m['oldest_waiting_seconds'])})" \
                if m.get("oldest_waiting") else ""
            lines.append(f"  inbox     {m['waiting']} message(s) waiting{oldest}; quarantine: {m['quarantine']}")
            lines += [f"            {name}: {n['waiting']} waiting, {n['quarantine']} in quarantine"
                      for name, n in m.get("by_mailbox", {}).items()]
        f = self.facts
        if f is not None:
            lines.append("  cases     " + (", ".join(f"{s.replace('_', ' ')} {n}" for s, n in f.cases_by_state.items())
                                           or "none"))
            lines.append(f"  deadlines {len(f.due_today)} due today, {len(f.overdue)} overdue"
                         + "".join(f"\n            OVERDUE {d.case} {d.kind} (due {d.due})" for d in f.overdue)
                         + "".join(f"\n            today   {d.case} {d.kind} (due {d.due})" for d in f.due_today))
            if f.cases_with_undelivered:
                lines.append(f"  bounced   {f.cases_with_undelivered} case(s) with an address that bounced for good, "
                             "not corrected yet (mailbot cases; mailbot case REF --set-email ROLE ADDRESS)")
            lines.append(f"  last good cycle: {f.last_cycle or 'none recorded'}")
        return "\n".join(lines)


def _local(moment: datetime | None, zone) -> str:
    return moment.astimezone(zone).isoformat(timespec="minutes") if moment else "?"


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    delta = timedelta(seconds=int(seconds))
    return f"{delta.days} d {delta.seconds // 3600} h" if delta.days else \
        f"{delta.seconds // 3600} h {delta.seconds % 3600 // 60} min"


def gather_status(config: Config, *, now: datetime | None = None) -> Status:
    now = (now or datetime.now(timezone.utc)).astimezone(config.office.zone)
    checks: list[Check] = []
    calendar, rules_check = _rules(config)
    sessions, facts = _database(config, calendar, now, checks)
    try:
        mailbox = _mailbox(config, now, checks)
        checks.append(_smtp(config))
        if facts is not None:
            checks.append(Check("outbox", facts.outbox_failed == 0,
                                f"{facts.outbox_queued} queued, {facts.outbox_failed} refused for good"
                                + (" (mailbot outbox --state failed; mailbot outbox retry)" if facts.outbox_failed else "")))
        if sessions is not None:
            checks.append(_grants(sessions, config.office.zone))
    finally:
        if sessions is not None:
            sessions.kw["bind"].dispose()
    checks.append(rules_check)
    return Status(checks, facts, mailbox, now)


def _rules(config: Config) -> tuple[WorkCalendar, Check]:
    from mailbot.rulebook import default_rules_dir, load_rulebook
    from mailbot.errors import RulesError
    directory = config.path(config.rules.dir)
    try:
        rulebook = load_rulebook(directory)
    except RulesError as exc:
        first = exc.problems[0] if exc.problems else "could not be loaded"
        return (WorkCalendar.from_rulebook(load_rulebook(default_rules_dir())),
                Check("rules", False, f"{len(exc.problems)} problem(s) in {directory}: {first} "
                                      f"(mailbot rules check)"))
    staff = rulebook.staff
    return (WorkCalendar.from_rulebook(rulebook),
            Check("rules", True, f"{directory}: {len(rulebook.conditions)} conditions, "
                                 f"{len(rulebook.documents)} document types, "
                                 f"{len(staff.triage) + len(staff.specialists) + len(staff.admins)} staff"))


def _database(config: Config, calendar: WorkCalendar, now: datetime,
              checks: list[Check]) -> tuple[sessionmaker[Session] | None, OfficeFacts | None]:
    """The schema check, and the office's facts when the tables are there to be read."""
    from mailbot.store.database import make_engine, safe_url, sqlite_file
    from mailbot.store.schema import schema_state
    missing = sqlite_file(config.database_url)
    if missing is not None and not missing.exists():
        checks.append(Check("schema", False, f"no database at {missing}; `mailbot db upgrade` creates it"))
        return None, None
    engine = make_engine(config.database_url)
    try:
        state = schema_state(engine)
    except Exception as exc:
        engine.dispose()
        if infrastructure_fault(exc) is None:
            raise
        checks.append(Check("database", False, f"{safe_url(config.database_url)} unreachable: {describe(exc)}"))
        return None, None
    advice = "" if state.at_head else "; run `mailbot db upgrade` (back up first)"
    checks.append(Check("schema", state.at_head, state.describe() + advice))
    sessions = sessionmaker(engine, expire_on_commit=False)
    if state.empty or not state.known:
        engine.dispose()
        return None, None
    try:
        facts = office_facts(sessions, config, calendar, now)
    except Exception as exc:   # an old schema may lack a column a query reads
        engine.dispose()
        if state.at_head and infrastructure_fault(exc) is None:
            raise
        checks.append(Check("database", False, f"cannot read the office's state: {describe(exc)}"))
        return None, None
    if not state.at_head:      # the grants are read only at head: an older schema may lack their table
        engine.dispose()
        return None, facts
    return sessions, facts


def _mailbox(config: Config, now: datetime, checks: list[Check]) -> dict[str, Any]:
    """Each mailbox (the one [imap] / [maildir], or every [[mailboxes]] entry, each its own check:
    one that is down makes the office degraded while the others are still counted)."""
    from mailbot.daemon import service_places
    where = service_places(config)
    counted = {}
    for name, one in config.mailbox_configs():
        census = _census(one, name, where[name], checks)
        if census is not None:
            counted[name] = census
    if not counted:
        return {}
    zone = config.office.zone
    oldest = min((o for _w, o, _q in counted.values() if o is not None), default=None)
    summary = {"waiting": sum(w for w, _o, _q in counted.values()),
               "quarantine": sum(q for _w, _o, q in counted.values()),
               "oldest_waiting": oldest.astimezone(zone).isoformat(timespec="seconds") if oldest else None,
               "oldest_waiting_seconds": max(0, int((now - oldest).total_seconds())) if oldest else None}
    if config.mailboxes:
        summary["by_mailbox"] = {name.split(" ", 1)[1]: {"waiting": w, "quarantine": q}
                                 for name, (w, _o, q) in counted.items()}
    return summary


def _census(one: Config, name: str, where: str, checks: list[Check]):
    """(waiting, oldest, quarantined) of one mailbox, or None when it cannot be read (a failed check)."""
    from mailbot.mailbox import open_mailbox
    mailbox = None
    try:
        mailbox = open_mailbox(one)
        census = mailbox.census()
    except (MailbotError, OSError) as exc:
        checks.append(Check(name, False, _unreachable(where, exc)))
        return None
    finally:
        if mailbox is not None:
            mailbox.close()
    checks.append(Check(name, True, f"{where} reachable"))
    return census


def _unreachable(where: str, exc: BaseException) -> str:
    """'IMAP host:port unreachable: why', without the server named twice."""
    text = str(exc) if isinstance(exc, MailbotError) else describe(exc)
    head, sep, rest = text.partition(": ")
    if sep and head.split(" ")[0] == where.split(" ")[0]:
        text = rest
    return f"{where} unreachable: {text}"


def _smtp(config: Config) -> Check:
    from mailbot.errors import SendError
    from mailbot.outbox import open_transport
    if config.smtp is None:
        folder = config.path(config.outbox.dir)
        ok = folder.is_dir() and os.access(folder, os.W_OK) or not folder.exists()
        return Check("smtp", ok, f"not used: mail is written to {folder}" + ("" if ok else " (not writable)"))
    where = f"SMTP {config.smtp.host}:{config.smtp.port}"
    try:
        transport = open_transport(config)
    except MailbotError as exc:
        return Check("smtp", False, f"{where}: {exc}")
    try:
        transport.check_login()
    except (SendError, MailbotError) as exc:
        return Check("smtp", False, _unreachable(where, exc))
    finally:
        transport.close()
    return Check("smtp", True, f"{where} reachable")


def _grants(sessions: sessionmaker[Session], zone) -> Check:
    from mailbot.auth.store import token_states
    try:
        grants = token_states(sessions)
    except Exception as exc:
        if infrastructure_fault(exc) is None:
            raise
        return Check("oauth", False, f"cannot read the grants: {describe(exc)}")
    blocked = [g for g in grants if g.blocked_reason]
    if not grants:
        return Check("oauth", True, "no OAuth2 grants stored (password logins, or none used yet)")
    if blocked:
        return Check("oauth", False, "; ".join(
            f"{g.label}: {g.blocked_reason} since {_local(g.blocked_at, zone)}, an admin must act "
            "(see OAuth2 in the README; mailbot auth check)" for g in blocked))
    return Check("oauth", True, f"{len(grants)} grant(s) working")
