"""The command line: config errors, rules check, replay --dry-run, cases/case, demo, and `run`
as a real daemon process that answers mail and stops cleanly on SIGTERM."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mailbot.cli import main
from mailbot.config import load_config
from mailbot.errors import ConfigError
from mailbot.resources import default_rules_dir
from office import Office, patient_mail
from pdf_factory import HISTOLOGY_BREAST, text_pdf

ROOT = Path(__file__).resolve().parents[1]
RULES = default_rules_dir()

LOCAL_CONFIG = """
[office]
address = "second.opinion@hospital.example.org"
[maildir]
path = "mail"
[outbox]
dir = "out"
[database]
url = "sqlite:///mailbot.db"
[storage]
dir = "docs"
[rules]
dir = "{rules}"
[payment]
beneficiary = "Example Hospital"
iban = "IT60X0542811101000000123456"
bic = "BPMOIT22XXX"
"""


def local_config(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "config.toml"
    path.write_text(LOCAL_CONFIG.format(rules=RULES) + extra, encoding="utf-8")
    return path


def test_example_config_is_valid(monkeypatch):
    monkeypatch.setenv("MAILBOT_IMAP_PASSWORD", "x")
    monkeypatch.setenv("MAILBOT_SMTP_PASSWORD", "y")
    config = load_config(ROOT / "config.example.toml")
    assert config.imap.password_env == "MAILBOT_IMAP_PASSWORD" and config.imap.secret() == "x"
    assert config.office.case_prefix == "SO"


def test_unknown_key_and_bad_value_name_the_key_and_file(tmp_path):
    path = local_config(tmp_path, "\n[smtp_extra]\nx = 1\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(path) in str(err.value) and "smtp_extra: unknown key" in str(err.value)
    path.write_text(LOCAL_CONFIG.format(rules=RULES).replace('address = "second', 'case_prefix = "so-1"\naddress = "second'))
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert "office.case_prefix" in str(err.value)


def test_missing_secret_variable_stops_the_start(tmp_path, monkeypatch):
    monkeypatch.delenv("NO_SUCH_PASSWORD_VAR", raising=False)
    text = LOCAL_CONFIG.format(rules=RULES).replace('[maildir]\npath = "mail"', (
        '[imap]\nhost = "127.0.0.1"\nsecurity = "none"\nusername = "u"\npassword_env = "NO_SUCH_PASSWORD_VAR"'))
    path = tmp_path / "c.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match="NO_SUCH_PASSWORD_VAR"):
        load_config(path)


def test_plain_imap_is_refused_off_loopback(tmp_path):
    text = LOCAL_CONFIG.format(rules=RULES).replace('[maildir]\npath = "mail"', (
        '[imap]\nhost = "imap.example.org"\nsecurity = "none"\nusername = "u"\npassword = "p"'))
    path = tmp_path / "c.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match="loopback"):
        load_config(path)


def test_cli_exit_code_and_message_for_a_bad_config(tmp_path, capsys):
    assert main(["--config", str(tmp_path / "missing.toml"), "cases"]) == 2
    assert "config file not found" in capsys.readouterr().err


def test_rules_check_on_shipped_and_broken_rules(tmp_path, capsys):
    assert main(["rules", "check", str(RULES)]) == 0
    assert "rules OK" in capsys.readouterr().out
    broken = tmp_path / "rules"
    shutil.copytree(RULES, broken)
    text = (broken / "conditions.toml").read_text().replace('"histology_report"', '"histologie"', 1)
    (broken / "conditions.toml").write_text(text)
    assert main(["rules", "check", str(broken)]) == 1
    out = capsys.readouterr().out
    assert "conditions.toml:" in out and "histologie" in out


def test_replay_dry_run_prints_the_decision_and_changes_nothing(tmp_path, capsys):
    config = local_config(tmp_path)
    eml = tmp_path / "msg.eml"
    eml.write_bytes(patient_mail("Maria <maria@example.net>", "Second opinion",
                                 "patient_name: Maria Rossi\npatient_birth_date: 1968-05-14\nrequestor_role: patient\n"
                                 "condition: breast cancer\n",
                                 [("histology_report_2026-03-02.pdf", text_pdf(HISTOLOGY_BREAST))]))
    assert main(["--config", str(config), "replay", str(eml), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert '"dry_run": true' in out and '"state_after": "awaiting_documents"' in out
    assert "Documents missing for your second opinion request" in out
    assert main(["cases", "--config", str(config)]) == 0   # --config also accepted after the verb
    assert capsys.readouterr().out.strip() == "no cases"
    assert not (tmp_path / "docs").exists() or not any((tmp_path / "docs").rglob("*"))

    # without --dry-run the decision is committed and the reply queued
    assert main(["--config", str(config), "replay", str(eml)]) == 0
    capsys.readouterr()
    assert main(["--config", str(config), "cases"]) == 0
    table = capsys.readouterr().out
    assert "SO-" in table and "awaiting_documents" in table and "breast_cancer" in table
    ref = table.split()[table.split().index("awaiting_documents") - 1]
    assert main(["--config", str(config), "case", ref]) == 0
    detail = capsys.readouterr().out
    assert "Maria Rossi" in detail and "histology_report_2026-03-02.pdf" in detail
    assert "document_missing: oncologist_report" in detail and "requestor/missing_documents" in detail
    assert main(["--config", str(config), "case", "SO-1999-00001"]) == 1


def test_maildir_source_and_directory_outbox(tmp_path, capsys):
    import mailbox
    config = local_config(tmp_path)
    box = mailbox.Maildir(tmp_path / "mail", create=True)
    box.add(patient_mail("Maria <maria@example.net>", "Info", "How can I ask for a second opinion?"))
    assert main(["--config", str(config), "once"]) == 0
    assert list(box.keys()) == []                       # moved out of the inbox
    out = sorted((tmp_path / "out").glob("*.eml"))
    assert len(out) == 1 and b"How to request a second opinion" in out[0].read_bytes()
    assert oct(out[0].stat().st_mode & 0o777) == "0o600"
    assert main(["--config", str(config), "once"]) == 0   # nothing new: nothing sent again
    assert len(list((tmp_path / "out").glob("*.eml"))) == 1


def test_demo_runs_without_any_server(tmp_path, capsys):
    assert main(["demo", "--dir", str(tmp_path / "demo")]) == 0
    out = capsys.readouterr().out
    first_act, _, later = out.partition("The first request, later")
    assert first_act.count("-> case SO-") == 5
    assert "in_triage" in first_act and "awaiting_documents" in first_act
    # the first case goes on: report, treatment path (forward, confirmation, quote back), a question
    assert "Your second opinion report" in later and "Treatment path request" in later
    assert "Your request to be treated has been forwarded" in later and "Answer about your treatment" in later
    assert "Questions about your report: an additional opinion" in later
    assert "[SO-2026-00006] Your additional opinion request" in later and "SO-2026-00006  in_triage" in later
    assert "The patient writes again about the treatment path" in later
    assert len(list((tmp_path / "demo" / "outbox").glob("*.eml"))) >= 6
    # stored documents are private to the service user
    stored = [p for p in (tmp_path / "demo" / "documents").rglob("*") if p.is_file()]
    assert stored and all(p.stat().st_mode & 0o077 == 0 for p in stored)


def test_run_daemon_answers_mail_and_stops_on_sigterm(tmp_path, imap_account, smtp_sink, monkeypatch):
    office = Office(tmp_path, imap_account, smtp_sink, f"sqlite:///{tmp_path}/db.sqlite", monkeypatch)
    env = {**os.environ, "TEST_IMAP_PASSWORD": imap_account.password, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "mailbot", "--config", str(office.config), "run"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        office.deliver(patient_mail("Maria <maria@example.net>", "Info", "How can I ask for a second opinion?"))
        deadline = time.monotonic() + 30
        while not smtp_sink.messages and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.2)
        assert len(smtp_sink.messages) == 1, proc.stderr.read().decode() if proc.poll() is not None else ""
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    assert code == 0
    assert imap_account.messages("INBOX") == []
    log = proc.stderr.read().decode()
    assert "Maria" not in log and "second opinion" not in log.lower()   # no patient data in logs
