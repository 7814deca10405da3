"""Rule files edited under a real `mailbot run` process (Dovecot, the SMTP sink, SQLite): a bad
edit keeps the old rules in force, logs each problem with file:line and mails the admins once
for that version, however many rounds and SIGHUPs follow; a good edit is picked up. The same
run's JSON log lines parse, carry the office's UTC offset, and hold no address."""

from __future__ import annotations

import email
import json
import re
import shutil
import signal
import time
from email import policy

from faultkit import Daemon, wait_until
from mailbot.resources import default_rules_dir
from office import Office, patient_mail

NEW_ADMIN = """
[[admins]]
name = "Night desk"
email = "night.desk@example.org"
languages = ["en"]
"""
BAD_ADMIN = """
[[admins]]
name = "Nobody"
languages = ["en"]
"""


def request(n: int) -> bytes:
    return patient_mail(f"Patient {n} <patient{n}@patient.example.net>", "Information",
                        "Good morning, how can I ask for a second opinion?")


def rules_mails(sink) -> list:
    found = [email.message_from_bytes(m.content, policy=policy.default) for m in sink.messages]
    return [m for m in found if "mailbot.rules-invalid." in m["Message-ID"]]


def replies_to_patients(sink) -> int:
    return sum(1 for m in sink.messages if m.rcpt_tos[0].endswith("@patient.example.net"))


def test_a_bad_rules_edit_keeps_the_old_rules_and_mails_the_admins_once(tmp_path, imap_account, smtp_sink,
                                                                         monkeypatch):
    rules = tmp_path / "rules"
    shutil.copytree(default_rules_dir(), rules)
    office = Office(tmp_path, imap_account, smtp_sink, f"sqlite:///{tmp_path}/db.sqlite", monkeypatch)
    office.config.write_text(office.config.read_text().replace(f'dir = "{default_rules_dir()}"', f'dir = "{rules}"'))
    staff = rules / "staff.toml"
    good = staff.read_text()
    daemon = Daemon(office.config, tmp_path / "run.log", env={"MAILBOT_LOG_FORMAT": "json"}).start()
    try:
        office.deliver(request(0))
        wait_until(lambda: replies_to_patients(smtp_sink) == 1, 60, "the first reply", daemon)

        staff.write_text(good + BAD_ADMIN)
        wait_until(lambda: len(rules_mails(smtp_sink)) == 2, 60, "the admins' mail about the bad rules", daemon)
        time.sleep(4)                                         # several more rounds: no more mail
        daemon.proc.send_signal(signal.SIGHUP)                # and a reload of the same bad version
        wait_until(lambda: "unchanged" in daemon.text(), 30, "the SIGHUP answered", daemon)
        office.deliver(request(1))                            # the old rules still answer patients
        wait_until(lambda: replies_to_patients(smtp_sink) == 2, 60, "a reply under the old rules", daemon)
        assert len(rules_mails(smtp_sink)) == 2
        assert sorted(m["To"] for m in rules_mails(smtp_sink)) == ["laura.fontana@example.org",
                                                                   "office.desk@example.org"]

        staff.write_text(good + NEW_ADMIN)
        wait_until(lambda: "rules reloaded" in daemon.text(), 60, "the good edit picked up", daemon)
        staff.write_text(good + NEW_ADMIN + BAD_ADMIN)        # another bad version: the new admin hears too
        wait_until(lambda: len(rules_mails(smtp_sink)) == 5, 60, "the mail about the second bad version", daemon)
        assert "night.desk@example.org" in [m["To"] for m in rules_mails(smtp_sink)]
    finally:
        code = daemon.stop()
    assert code == 0

    english = next(m for m in rules_mails(smtp_sink) if m["To"] == "office.desk@example.org")
    body = english.get_body(preferencelist=("plain",)).get_content()
    assert re.search(rf"{re.escape(str(staff))}:\d+: admins\[\d+\]\.email: required", body), body
    assert english["Subject"].startswith("Rule files not loaded")
    entries = check_json_log(daemon.text())
    problems = [e["message"] for e in entries if e["message"].startswith("rules: ")]
    assert len(problems) == 2 and all(re.search(r"staff\.toml:\d+: ", p) for p in problems), problems
    assert sum("do not load" in e["message"] for e in entries) == 2
    reloaded = [e for e in entries if e.get("event") == "rules_reloaded"]
    assert len(reloaded) == 1 and "16 staff" in reloaded[0]["message"]


def check_json_log(text: str) -> list[dict]:
    """Every line one JSON object, in the office's time with its offset, with no address in it."""
    entries = [json.loads(line) for line in text.splitlines() if line.strip()]
    assert entries and all({"time", "level", "logger", "message"} <= set(e) for e in entries)
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0[12]:00", e["time"]) for e in entries)
    assert not [e for e in entries if e["logger"].startswith("apscheduler") and e["level"] == "INFO"]
    start = [e for e in entries if e.get("event") == "start"]
    assert len(start) == 1 and "mailbox IMAP 127.0.0.1" in start[0]["message"] and "16 staff" not in start[0]["message"]
    assert "15 staff" in start[0]["message"] and "database sqlite" in start[0]["message"]
    sent = [e for e in entries if e.get("event") == "mail_sent"]
    assert {e["purpose"] for e in sent} >= {"requestor/instructions", "admin/rules_invalid"}
    assert all(e["message_id"].startswith(("<SO-", "<mailbot.")) for e in sent)
    cases = [e["case"] for e in sent if e["purpose"] == "requestor/instructions"]
    assert len(cases) == 2 and all(re.fullmatch(r"SO-\d{4}-\d{5}", c) for c in cases), cases
    for e in entries:
        for found in re.findall(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", json.dumps(e)):
            assert re.match(r"(SO-\d{4}-\d{5}|mailbot)\.", found), f"an address in the log: {e}"
    assert "patient.example.net" not in text and "laura.fontana" not in text and "night.desk" not in text
    return entries


def test_the_watch_sees_versions_not_saves(tmp_path):
    import os

    from mailbot.rulebook.watch import RulesWatch

    rules = tmp_path / "rules"
    shutil.copytree(default_rules_dir(), rules)
    watch = RulesWatch(rules)
    staff = rules / "staff.toml"
    assert watch.changed() is None
    old = time.time() - 10
    staff.write_text(staff.read_text())                  # saved unchanged: same version
    os.utime(staff, (old, old))
    assert watch.changed() is None
    staff.write_text(staff.read_text() + NEW_ADMIN)       # a real edit, still being written
    assert watch.changed() is None                         # younger than a second: next round
    os.utime(staff, (old + 1, old + 1))
    version = watch.changed()
    assert version is not None and version != watch.good
    watch.bad = version
    watch.requested.set()                                  # SIGHUP on a version already judged
    assert watch.changed() is None and not watch.requested.is_set()
