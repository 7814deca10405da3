"""Every verb fails with one line naming what and where (no password, no
traceback) and a meaningful exit code: 0 done, 1 work remains, 2 configuration or rules error,
3 a service unreachable. Run as real `mailbot` processes, as an operator would."""

from __future__ import annotations

import mailbox
import socket
import subprocess
import sys

import pytest

from faultkit import ROOT, Daemon, remount, scratch_postgres, tmpfs, wait_until
from office import Office, patient_mail
from test_cli import LOCAL_CONFIG, RULES, local_config


def mailbot(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    import os
    return subprocess.run([sys.executable, "-m", "mailbot", *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})})


def with_database(tmp_path, url: str):
    path = tmp_path / "config.toml"
    path.write_text(LOCAL_CONFIG.format(rules=RULES).replace("sqlite:///mailbot.db", url), encoding="utf-8")
    return path


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def one_line(result: subprocess.CompletedProcess) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def test_help_documents_the_exit_codes():
    out = mailbot("--help").stdout
    assert "exit codes" in out
    for code in ("0  done", "1  work remains", "2  configuration or rules error", "3  a service unreachable"):
        assert code in out


def test_database_unreachable_is_one_line_exit_3_without_the_password(tmp_path):
    config = with_database(tmp_path, f"postgresql+psycopg://mailbot:s3cr3t@127.0.0.1:{closed_port()}/mailbot")
    result = mailbot("--config", str(config), "cases")
    assert result.returncode == 3
    line = one_line(result)
    assert "database postgresql+psycopg://mailbot:***@127.0.0.1" in line and "s3cr3t" not in line
    assert "refused" in line.lower()


def test_a_missing_postgresql_database_is_one_line_exit_3(tmp_path):
    with scratch_postgres() as (_admin, name, url):
        config = with_database(tmp_path, url.replace(name, name + "_missing"))
        result = mailbot("--config", str(config), "once")
    assert result.returncode == 3
    assert f'"{name}_missing" does not exist' in one_line(result)


def test_an_unsupported_database_url_is_a_config_error(tmp_path):
    result = mailbot("--config", str(with_database(tmp_path, "mysql://office:s3cr3t@db.example.org/mailbot")),
                     "cases")
    assert result.returncode == 2
    line = one_line(result)
    assert "database.url" in line and "mysql" in line and "s3cr3t" not in line


def test_an_unwritable_sqlite_path_is_one_line_exit_3(tmp_path):
    with tmpfs(tmp_path / "ro", size="1m") as folder:
        remount(folder, "ro")
        result = mailbot("--config", str(with_database(tmp_path, f"sqlite:///{folder}/var/mailbot.db")), "cases")
    assert result.returncode == 3
    line = one_line(result)
    assert "database sqlite:///" in line and "Read-only file system" in line


@pytest.mark.parametrize("target", ["missing.eml", "."])
def test_replay_of_a_missing_file_or_a_folder_is_one_line_exit_2(tmp_path, target):
    result = mailbot("--config", str(local_config(tmp_path)), "replay", str(tmp_path / target))
    assert result.returncode == 2
    assert "replay:" in one_line(result)


def test_once_with_the_mailbox_unreachable_exits_3(tmp_path, monkeypatch):
    config = tmp_path / "c.toml"
    config.write_text(LOCAL_CONFIG.format(rules=RULES).replace('[maildir]\npath = "mail"', (
        f'[imap]\nhost = "127.0.0.1"\nport = {closed_port()}\nsecurity = "none"\nusername = "u"\n'
        f'password = "s3cr3t"')))
    result = mailbot("--config", str(config), "once")
    assert result.returncode == 3
    assert "mailbox (IMAP 127.0.0.1" in result.stderr and "s3cr3t" not in result.stderr
    assert "Traceback" not in result.stderr


def test_once_with_the_storage_read_only_exits_3_and_leaves_the_message(tmp_path):
    config = local_config(tmp_path)
    box = mailbox.Maildir(tmp_path / "mail", create=True)
    box.add(patient_mail("Maria <maria@example.net>", "Info", "How can I ask for a second opinion?"))
    with tmpfs(tmp_path / "docs") as storage:
        remount(storage, "ro")
        result = mailbot("--config", str(config), "once")
        assert result.returncode == 3, result.stderr
        assert "storage (" in result.stderr and "Read-only file system" in result.stderr
        assert len(box.keys()) == 1 and not list((tmp_path / "out").glob("*.eml"))
        remount(storage, "rw")
        assert mailbot("--config", str(config), "once").returncode == 0
    assert len(box.keys()) == 0 and len(list((tmp_path / "out").glob("*.eml"))) == 1


def test_run_with_a_config_error_exits_2_at_once(tmp_path):
    result = mailbot("--config", str(local_config(tmp_path, "\n[delivery]\nretry_max_seconds = 99999\n")), "run")
    assert result.returncode == 2
    assert "delivery.retry_max_seconds" in one_line(result)


def test_run_started_before_its_database_waits_for_it(tmp_path, imap_account, smtp_sink, monkeypatch):
    with scratch_postgres() as (admin, name, url):
        office = Office(tmp_path, imap_account, smtp_sink, url, monkeypatch)
        admin.refuse_connections(name)
        daemon = Daemon(office.config, tmp_path / "run.log").start()
        try:
            wait_until(lambda: "database (" in daemon.text(), 60, "the database outage in the log", daemon)
            office.deliver(patient_mail("Maria <maria@example.net>", "Info", "How can I ask for a second opinion?"))
            assert daemon.alive()
            admin.allow_connections(name)
            wait_until(lambda: len(smtp_sink.messages) == 1, 60, "the reply once the database is up", daemon)
        finally:
            code = daemon.stop()
    assert code == 0
    log = daemon.text()
    assert log.count("unavailable") == 1 and "available again" in log and "Traceback" not in log
