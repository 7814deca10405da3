"""The service: `mailbot run` tells systemd READY / WATCHDOG / STOPPING over a real notify socket
(and nothing without one); deploy/mailbot.service passes `systemd-analyze verify` and keeps its
hardening; the container files agree with each other and their config loads."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

from mailbot.config import load_config
from mailbot.notify import ServiceNotifier
from mailbot.resources import default_rules_dir

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"

CONFIG = f"""
[office]
address = "second.opinion@hospital.example.org"
[maildir]
path = "mail"
poll_seconds = 1
[outbox]
dir = "out"
[database]
url = "sqlite:///mailbot.db"
[storage]
dir = "docs"
[rules]
dir = "{default_rules_dir()}"
[payment]
beneficiary = "Example Hospital"
iban = "IT60X0542811101000000123456"
bic = "BPMOIT22XXX"
"""


def receive_until(sock: socket.socket, wanted: str, seen: list[str]) -> None:
    while wanted not in seen:
        seen.append(sock.recv(4096).decode())   # the socket's timeout only guards against a hang


def test_run_tells_systemd_ready_each_round_and_stopping(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text(CONFIG, encoding="utf-8")
    address = str(tmp_path / "notify.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(address)
        sock.settimeout(120)
        env = {**os.environ, "NOTIFY_SOCKET": address, "PYTHONPATH": str(ROOT)}
        proc = subprocess.Popen([sys.executable, "-m", "mailbot", "--config", str(config), "run"],
                                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        seen: list[str] = []
        try:
            receive_until(sock, "READY=1", seen)
            while seen.count("WATCHDOG=1") < 2:   # two loop rounds
                seen.append(sock.recv(4096).decode())
        finally:
            proc.send_signal(signal.SIGTERM)
        receive_until(sock, "STOPPING=1", seen)
        assert proc.wait(timeout=120) == 0, proc.stderr.read().decode()
    assert seen[0] == "READY=1" and seen[-1] == "STOPPING=1"
    assert set(seen) == {"READY=1", "WATCHDOG=1", "STOPPING=1"}


def test_the_notifier_is_silent_outside_systemd(tmp_path):
    assert not ServiceNotifier({}).active
    notifier = ServiceNotifier({"NOTIFY_SOCKET": str(tmp_path / "nobody-listens.sock")})
    assert notifier.active
    notifier.ready(), notifier.alive(), notifier.stopping()   # a lost datagram never raises


def unit_keys() -> dict[str, list[str]]:
    keys: dict[str, list[str]] = {}
    for line in (DEPLOY / "mailbot.service").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            keys.setdefault(key.strip(), []).append(value.strip())
    return keys


def test_the_unit_file_is_hardened_and_verifies(tmp_path):
    keys = unit_keys()
    expected = {"Type": "notify", "NotifyAccess": "main", "User": "mailbot", "Group": "mailbot",
                "ProtectSystem": "strict", "ReadWritePaths": "/var/lib/mailbot", "PrivateTmp": "true",
                "NoNewPrivileges": "true", "UMask": "0077", "StateDirectory": "mailbot",
                "RestartPreventExitStatus": "2", "ExecStart": "/opt/mailbot/bin/mailbot run"}
    assert {k: keys.get(k, [None])[-1] for k in expected} == expected
    assert re.fullmatch(r"\d+min", keys["WatchdogSec"][0])
    assert keys["Environment"] == ["MAILBOT_CONFIG=/etc/mailbot/config.toml"]
    analyze = shutil.which("systemd-analyze")
    if analyze is None:   # the key checks above are what this machine can do
        return
    # verify needs ExecStart to exist: point it at this environment's mailbot, nothing else changes
    unit = tmp_path / "mailbot.service"
    mailbot = Path(sys.executable).with_name("mailbot")
    unit.write_text((DEPLOY / "mailbot.service").read_text(encoding="utf-8")
                    .replace("/opt/mailbot/bin/mailbot", str(mailbot)), encoding="utf-8")
    done = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True)
    assert done.returncode == 0 and done.stderr.strip() == "", done.stderr


def test_the_container_files_agree_and_their_config_loads(monkeypatch):
    dockerfile = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    compose = (DEPLOY / "compose.yaml").read_text(encoding="utf-8")
    users = re.findall(r"^USER (\S+)", dockerfile, re.M)
    assert users and users[-1] == "mailbot"                       # runs as non-root
    assert "MAILBOT_CONFIG=/etc/mailbot/config.toml" in dockerfile
    assert "./config.toml:/etc/mailbot/config.toml:ro" in compose and "./rules:/etc/mailbot/rules:ro" in compose
    assert 'command: ["db", "upgrade"]' in compose and "condition: service_completed_successfully" in compose
    monkeypatch.setenv("MAILBOT_IMAP_PASSWORD", "x")
    monkeypatch.setenv("MAILBOT_SMTP_PASSWORD", "y")
    config = load_config(DEPLOY / "config.container.toml")
    assert config.rules.dir == "/etc/mailbot/rules" and config.database_url.endswith("@db:5432/mailbot")
    assert config.storage.dir.startswith("/var/lib/mailbot/")
