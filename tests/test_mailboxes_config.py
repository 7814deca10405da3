"""`[[mailboxes]]`: several mailboxes in one config, validated like the rest; the single
[imap] / [maildir] stays one mailbox named "mailbox"."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mailbot.config import load_config
from mailbot.errors import ConfigError
from mailbot.resources import default_rules_dir

ROOT = Path(__file__).resolve().parents[1]
BASE = """
[office]
address = "office@example.org"
[outbox]
dir = "out"
[payment]
beneficiary = "H"
iban = "IT60X0542811101000000123456"
bic = "BPMOIT22XXX"
"""
TWO = """
[[mailboxes]]
name = "milan"
[mailboxes.maildir]
path = "milan"
poll_seconds = 9

[[mailboxes]]
name = "rome"
[mailboxes.imap]
host = "127.0.0.1"
security = "none"
username = "rome"
password_env = "T_ROME"
poll_seconds = 4
"""


def write(tmp_path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(BASE + text, encoding="utf-8")
    return path


def test_two_mailboxes_each_become_a_config_of_their_own(tmp_path, monkeypatch):
    monkeypatch.setenv("T_ROME", "secret")
    config = load_config(write(tmp_path, TWO))
    (milan_name, milan), (rome_name, rome) = config.mailbox_configs()
    assert (milan_name, rome_name) == ("mailbox milan", "mailbox rome")
    assert milan.maildir.path == "milan" and milan.imap is None and milan.mailboxes == []
    assert rome.imap.username == "rome" and rome.imap.secret() == "secret" and rome.maildir is None
    assert config.poll_seconds == 4
    assert config.mailbox_configs()[1][1] is rome   # made once (OAuth2 token sources live with it)


def test_the_single_mailbox_is_still_one_named_mailbox(tmp_path):
    config = load_config(write(tmp_path, '[maildir]\npath = "in"\n'))
    assert config.mailbox_configs() == [("mailbox", config)]


@pytest.mark.parametrize("text, message", [
    (TWO + '[maildir]\npath = "in"\n', "give [[mailboxes]] or one [imap] / [maildir], not both"),
    (TWO.replace('name = "rome"', 'name = "milan"'), "the name 'milan' is used twice"),
    (TWO.replace('[mailboxes.maildir]\npath = "milan"', '[mailboxes.maildir]\npath = "milan"\n'
                 '[mailboxes.imap]\nhost = "127.0.0.1"\nusername = "m"'), "mailboxes.0: give exactly one of imap"),
    (TWO.replace('name = "rome"', 'name = "Rome Office"'), "mailboxes.1.name"),
    (TWO.replace('username = "rome"', 'username = "rome"\ncolour = "red"'), "mailboxes.1.imap.colour: unknown key"),
    ("", "give exactly one of [imap] or [maildir] (or several [[mailboxes]])"),
])
def test_mistakes_in_mailboxes_name_the_key(tmp_path, monkeypatch, text, message):
    monkeypatch.setenv("T_ROME", "secret")
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text))
    assert message in str(caught.value)


def test_a_mailboxes_missing_password_variable_stops_the_start(tmp_path, monkeypatch):
    monkeypatch.delenv("T_ROME", raising=False)
    with pytest.raises(ConfigError, match="T_ROME \\(named by password_env\\) is not set"):
        load_config(write(tmp_path, TWO))


def test_the_commented_mailboxes_example_in_config_example_is_valid(tmp_path, monkeypatch):
    example = (ROOT / "config.example.toml").read_text(encoding="utf-8")
    block = example.split("# [[mailboxes]]", 1)[1].split("\n\n", 1)[0]
    entries = "[[mailboxes]]" + "\n".join(line[2:] if line.startswith("# ") else "" for line in block.splitlines())
    without_imap = re.sub(r"\n\[imap\]\n(.*\n)*?(?=\n)", "\n", example, count=1)
    assert "\n[imap]\n" not in without_imap
    path = tmp_path / "config.toml"
    path.write_text(without_imap + "\n" + entries + "\n", encoding="utf-8")
    for var in ("MAILBOT_MILAN_PASSWORD", "MAILBOT_ROME_PASSWORD", "MAILBOT_SMTP_PASSWORD"):
        monkeypatch.setenv(var, "p")
    config = load_config(path)
    assert [name for name, _c in config.mailbox_configs()] == ["mailbox milan", "mailbox rome"]


def test_a_mailbox_hospital_must_be_a_hospital_of_the_rules(tmp_path, monkeypatch):
    from mailbot.app import build_app

    monkeypatch.setenv("T_ROME", "secret")
    config = load_config(write(tmp_path, TWO.replace('name = "rome"', 'name = "rome"\nhospital = "rome"', 1)))
    assert config.mailbox_hospitals() == {"mailbox rome": "rome"}
    with pytest.raises(ConfigError, match="mailboxes.1.hospital: unknown hospital 'rome' \\(hospitals: none"):
        build_app(config, rules_dir=default_rules_dir())


def test_logs_keep_every_mailbox_login_and_hospital_address_and_redact_patients(tmp_path, monkeypatch):
    from mailbot.cli.main import office_addresses
    from mailbot.faults import keep_office_addresses, redact_addresses
    from network_rules import MILAN, ROME, network_rules

    monkeypatch.setenv("T_ROME", "secret")
    rules = network_rules(tmp_path / "rules")
    text = TWO.replace('username = "rome"', 'username = "rome-login@mail.rome.example.org"')
    config = load_config(write(tmp_path, text + f'[rules]\ndir = "{rules}"\n'))
    own = office_addresses(config)
    assert {"office@example.org", "rome-login@mail.rome.example.org", MILAN, ROME} <= set(own)
    keep_office_addresses(own)
    line = redact_addresses(f"mailbox rome: IMAP user rome-login@mail.rome.example.org refused; reply from {ROME} "
                            f"and {MILAN} to maria.rossi@patient.example.net")
    assert "rome-login@mail.rome.example.org" in line and ROME in line and MILAN in line
    assert "maria.rossi" not in line and line.count("<address>") == 1
