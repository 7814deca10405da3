"""[imap]/[smtp] auth = "oauth2": what the config accepts, and errors that name the key."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from mailbot.config import load_config
from mailbot.errors import ConfigError

BASE = """
[office]
address = "second.opinion@hospital.example.org"
[maildir]
path = "mail"
[smtp]
host = "smtp.office365.com"
port = 587
username = "office@hospital.example.org"
auth = "oauth2"
{extra}
[smtp.oauth2]
{table}
[payment]
beneficiary = "Example Hospital"
iban = "IT60X0542811101000000123456"
bic = "BPMOIT22XXX"
"""

MICROSOFT_APP = 'provider = "microsoft"\ntenant = "contoso.onmicrosoft.com"\nclient_id = "1234"\nclient_secret_env = "T_SECRET"'


def write(tmp_path: Path, table: str, extra: str = "") -> Path:
    path = tmp_path / "config.toml"
    path.write_text(BASE.format(table=table, extra=extra), encoding="utf-8")
    return path


@pytest.fixture
def secrets(monkeypatch):
    monkeypatch.setenv("T_SECRET", "client-secret")
    monkeypatch.setenv("T_RT", "refresh-token")
    monkeypatch.setenv("T_KEY", Fernet.generate_key().decode())


def test_microsoft_client_credentials_for_a_shared_mailbox(tmp_path, secrets):
    config = load_config(write(tmp_path, MICROSOFT_APP))
    o = config.smtp.oauth2
    assert config.smtp.auth == "oauth2" and o.provider == "microsoft" and not o.uses_refresh_token
    assert o.scopes == ["https://outlook.office365.com/.default"] and o.client_secret() == "client-secret"
    assert config.smtp.secret() == "" and o.mechanism == "xoauth2"


def test_delegated_microsoft_google_and_generic(tmp_path, secrets):
    delegated = MICROSOFT_APP + '\nrefresh_token_env = "T_RT"\ntoken_key_env = "T_KEY"'
    assert "https://outlook.office.com/SMTP.Send" in load_config(write(tmp_path, delegated)).smtp.oauth2.scopes
    google = ('provider = "google"\nclient_id = "1.apps.googleusercontent.com"\nclient_secret_env = "T_SECRET"\n'
              'refresh_token_env = "T_RT"\ntoken_key_env = "T_KEY"\nmechanism = "oauthbearer"')
    o = load_config(write(tmp_path, google)).smtp.oauth2
    assert o.scopes == ["https://mail.google.com/"] and o.refresh_token() == "refresh-token"
    generic = ('provider = "generic"\nclient_id = "c"\ntoken_url = "https://idp.example.org/token"\n'
               'refresh_token_env = "T_RT"\ntoken_key_env = "T_KEY"\nscope = "mail.send offline"')
    assert load_config(write(tmp_path, generic)).smtp.oauth2.scopes == ["mail.send", "offline"]


@pytest.mark.parametrize("table, extra, named", [
    ('provider = "microsoft"\nclient_id = "1"\nclient_secret_env = "T_SECRET"', "", "tenant"),
    ('provider = "google"\nclient_id = "1"\nclient_secret_env = "T_SECRET"', "", "refresh_token_env"),
    ('provider = "generic"\nclient_id = "1"\nrefresh_token_env = "T_RT"\ntoken_key_env = "T_KEY"', "", "token_url"),
    ('provider = "generic"\nclient_id = "1"\ntoken_url = "https://idp.example.org/t"\nrefresh_token_env = "T_RT"',
     "", "token_key_env"),
    ('provider = "generic"\nclient_id = "1"\ntoken_url = "http://idp.example.org/t"\nclient_secret_env = "T_SECRET"',
     "", "token_url"),
    (MICROSOFT_APP + '\nmechanism = "plain"', "", "mechanism"),
    (MICROSOFT_APP + '\nclient_secret = "inline"', "", "client_secret"),
    (MICROSOFT_APP, 'password_env = "T_SECRET"', "password"),
], ids=["tenant", "google-refresh-token", "token-url", "token-key", "plain-http", "mechanism",
        "no-inline-secret", "password-too"])
def test_errors_name_the_key(tmp_path, secrets, table, extra, named):
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, table, extra))
    text = str(caught.value)
    assert "config.toml" in text and "smtp" in text and named in text


def test_oauth2_table_without_auth_oauth2_and_the_reverse(tmp_path, secrets):
    path = write(tmp_path, MICROSOFT_APP)
    path.write_text(path.read_text().replace('auth = "oauth2"\n', ""))
    with pytest.raises(ConfigError, match='smtp: .*set auth = "oauth2"'):
        load_config(path)
    path.write_text(BASE.format(table="", extra="").replace("[smtp.oauth2]\n", ""))
    with pytest.raises(ConfigError, match="needs an oauth2 table"):
        load_config(path)


def test_missing_variable_and_bad_key_stop_the_start(tmp_path, secrets, monkeypatch):
    path = write(tmp_path, MICROSOFT_APP + '\nrefresh_token_env = "T_RT"\ntoken_key_env = "T_KEY"')
    monkeypatch.delenv("T_RT")
    with pytest.raises(ConfigError, match="T_RT \\(named by refresh_token_env\\) is not set"):
        load_config(path)
    monkeypatch.setenv("T_RT", "x")
    monkeypatch.setenv("T_KEY", "not-a-key")
    with pytest.raises(ConfigError, match="T_KEY \\(named by token_key_env\\) is not a Fernet key.*generate_key"):
        load_config(path)


def test_the_commented_example_in_config_example_is_valid(tmp_path, secrets, monkeypatch):
    example = (Path(__file__).resolve().parents[1] / "config.example.toml").read_text(encoding="utf-8")
    block = example.split("# [imap.oauth2]", 1)[1].split("\n\n", 1)[0].splitlines()[1:]
    table = "\n".join(line[2:] for line in block if line.startswith("# ") and not line.startswith("# #"))
    text = example.replace('password_env = "MAILBOT_IMAP_PASSWORD"', 'auth = "oauth2"', 1)
    path = tmp_path / "config.toml"
    path.write_text(f"{text}\n[imap.oauth2]\n{table}\n", encoding="utf-8")
    monkeypatch.setenv("MAILBOT_OAUTH_CLIENT_SECRET", "s")
    monkeypatch.setenv("MAILBOT_OAUTH_REFRESH_TOKEN", "r")
    monkeypatch.setenv("MAILBOT_TOKEN_KEY", Fernet.generate_key().decode())
    monkeypatch.setenv("MAILBOT_SMTP_PASSWORD", "p")
    config = load_config(path)
    assert config.imap.auth == "oauth2" and config.imap.oauth2.provider == "microsoft"
    assert config.imap.oauth2.uses_refresh_token and config.smtp.auth == "password"
