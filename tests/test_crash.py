"""No message lost, none processed twice:

- `mailbot once` over 30 requests (more if a run finishes them before its kill), killed with SIGKILL at random moments twenty times, then run
  to completion: one case and one reply per request, nothing in Quarantine, no temporary or
  orphan file left, on SQLite and PostgreSQL, through Dovecot and the SMTP sink. A kill between
  the SMTP server's "250 OK" and the commit may resend a reply once, with the same Message-ID
  (README, "Faults and exit codes"): the test counts such resends and bounds them by the kills.
- Two `mailbot run` processes on one IMAP folder and one PostgreSQL database: each message is
  processed once, the loser of a race moves on without a strike.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from sqlalchemy import func, select

from faultkit import ROOT, Daemon, scratch_postgres, wait_until
from mailbot.store.models import Case, InboundMessage, OutboxMessage
from mailbot.store.purge import referenced_digests
from office import Office, patient_mail

REQUESTS = 30
KILLS = 20


def request(n: int) -> bytes:
    return patient_mail(f"Patient {n} <patient{n}@patient.example.net>", "Second opinion",
                        f"patient_name: Patient {n}\npatient_birth_date: 1968-05-14\nrequestor_role: patient\n"
                        "condition: breast cancer\n")


class Forker:
    """tests/forker.py: `mailbot once` children started without paying the imports each time."""

    def __init__(self, config: Path, log: Path):
        self.log = open(log, "ab")
        self.proc = subprocess.Popen([sys.executable, str(Path(__file__).with_name("forker.py")), str(config)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log, text=True,
                                     env={**os.environ, "PYTHONPATH": str(ROOT)})
        assert self._read() == "ready"

    def _read(self) -> str:
        line = self.proc.stdout.readline().strip()
        assert line, "the fork server died"
        return line

    def start_once(self) -> int:
        self.proc.stdin.write("once\n")
        self.proc.stdin.flush()
        return int(self._read())

    def wait(self, pid: int) -> int:
        self.proc.stdin.write(f"wait {pid}\n")
        self.proc.stdin.flush()
        return int(self._read())

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=30)
        self.log.close()


STEPS = (b"moved message", b": filed on", b"sent message")   # 90 in all: 3 per request


def _worked(log: Path, offset: int, pid: int, steps: int, timeout: float = 60) -> None:
    """Until the `once` process `pid` has logged `steps` steps of work (or has ended)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _alive(pid):
        with open(log, "rb") as handle:
            handle.seek(offset)
            text = handle.read()
        if sum(text.count(step) for step in STEPS) >= steps:
            return
        time.sleep(0.005)


def _alive(pid: int) -> bool:
    """Running (an exited child the fork server has not reaped yet is a zombie: not running)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_once_killed_twenty_times_at_random_moments_then_completed(tmp_path, imap_account, smtp_sink, db_url,
                                                                   monkeypatch):
    office = Office(tmp_path, imap_account, smtp_sink, db_url, monkeypatch)
    delivered = 0

    def deliver(count: int) -> None:
        nonlocal delivered
        for n in range(delivered, delivered + count):
            office.deliver(request(n))
        delivered += count

    deliver(REQUESTS)
    rng = random.Random(20261130)
    log = tmp_path / "once.log"
    forker = Forker(office.config, log)
    kills = runs = 0
    try:
        while kills < KILLS and runs < 2 * KILLS:
            offset = log.stat().st_size
            pid = forker.start_once()
            # at a random moment of its work: after 1 to 3 steps (a message moved, its outcome logged,
            # a reply sent) and a random part of the next, so the kills spread over all of the work
            _worked(log, offset, pid, steps=rng.randint(1, 3))
            time.sleep(rng.uniform(0.0, 0.05))
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
            code = forker.wait(pid)
            assert code in (0, -signal.SIGKILL), log.read_text()[-3000:]
            killed = code == -signal.SIGKILL
            kills += killed
            runs += 1
            if not killed and kills < KILLS:
                # a run on a slow machine may finish the inbox before its kill: more work, so that
                # every one of the kills falls on real work
                deliver(5)
        for _ in range(10):                       # then to completion
            pid = forker.start_once()
            if forker.wait(pid) == 0:
                break
        else:
            raise AssertionError("once never completed:\n" + log.read_text()[-3000:])
    finally:
        forker.close()
    assert kills == KILLS

    assert imap_account.messages("INBOX") == [] and imap_account.messages("Quarantine") == []
    assert len(imap_account.messages("Processed")) == delivered
    app = office.app()
    with app.sessions() as s:
        assert s.execute(select(func.count()).select_from(Case)).scalar_one() == delivered
        assert s.execute(select(func.count()).select_from(InboundMessage)).scalar_one() == delivered
        outbox = s.execute(select(OutboxMessage.message_id, OutboxMessage.status, OutboxMessage.recipients)).all()
        used = referenced_digests(s)
    assert len(outbox) == delivered and {status for _, status, _ in outbox} == {"sent"}
    received = Counter((m.email["Message-ID"], m.rcpt_tos[0]) for m in smtp_sink.messages)
    assert {mid for mid, _ in received} == {mid for mid, _, _ in outbox}        # every reply, and only those
    per_patient = Counter(rcpt for _mid, rcpt in received)
    assert sorted(per_patient) == sorted(f"patient{n}@patient.example.net" for n in range(delivered))
    assert all(count == 1 for count in per_patient.values())                   # one reply per request
    resent = len(smtp_sink.messages) - len(received)                           # same Message-ID again
    assert resent <= kills
    stored = [p for p in office.storage.rglob("*") if p.is_file()]
    assert [p for p in stored if ".tmp" in p.name] == []                       # no temporary leftovers
    assert {p.name for p in stored} == used                                     # no orphan, none missing


def test_two_daemons_on_one_mailbox_and_one_postgresql_process_each_message_once(tmp_path, imap_account,
                                                                                 smtp_sink, monkeypatch):
    with scratch_postgres() as (_admin, _name, url):
        office = Office(tmp_path, imap_account, smtp_sink, url, monkeypatch)
        first = Daemon(office.config, tmp_path / "first.log").start()
        second = Daemon(office.config, tmp_path / "second.log").start()
        try:
            for daemon in (first, second):
                wait_until(lambda: "connected to IMAP" in daemon.text(), 60, "the daemon's login", daemon)
            for n in range(12):
                office.deliver(request(n))
            wait_until(lambda: len(smtp_sink.messages) >= 12 and imap_account.messages("INBOX") == [], 90,
                       "every reply", second)
            time.sleep(2)                          # room for a duplicate to show, if there were one
        finally:
            codes = first.stop(), second.stop()
        app = office.app()
        with app.sessions() as s:
            cases = s.execute(select(func.count()).select_from(Case)).scalar_one()
            inbound = s.execute(select(func.count()).select_from(InboundMessage)).scalar_one()
    assert codes == (0, 0)
    assert cases == inbound == 12
    assert sorted(m.rcpt_tos[0] for m in smtp_sink.messages) == sorted(
        f"patient{n}@patient.example.net" for n in range(12))
    assert imap_account.messages("Quarantine") == [] and len(imap_account.messages("Processed")) == 12
    for daemon in (first, second):
        log = daemon.text()
        assert "not processed" not in log and "Traceback" not in log and "quarantine" not in log.lower()
