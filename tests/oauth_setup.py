"""Config files and environments for OAuth2 login tests: mailbot pointed at the OAuth2 Dovecot,
the XOAUTH2 SMTP sink and the local identity provider, secrets in environment variables."""

from __future__ import annotations

from pathlib import Path

from cryptography.fernet import Fernet

from conftest import OAUTH_MAILBOX
from office import OFFICE_ADDRESS

from mailbot.resources import default_rules_dir

RULES = default_rules_dir()
TOKEN_KEY = Fernet.generate_key().decode()
ADMINS = ("laura.fontana@example.org", "office.desk@example.org")   # rules/staff.toml


def oauth_table(service: str, idp, *, provider: str = "generic", grant_env: str = "TEST_RT",
                mechanism: str = "xoauth2", ca_file: str = "") -> str:
    lines = [f"[{service}.oauth2]", f'provider = "{provider}"', f'client_id = "{idp.client_id}"',
             'client_secret_env = "TEST_CLIENT_SECRET"', f'mechanism = "{mechanism}"']
    if grant_env:
        lines += [f'refresh_token_env = "{grant_env}"', 'token_key_env = "TEST_TOKEN_KEY"']
    if provider == "microsoft":
        lines += ['tenant = "contoso"', f'authority = "{idp.authority}"', f'ca_file = "{ca_file}"']
    else:
        lines += [f'token_url = "{idp.token_url}"']
    return "\n".join(lines) + "\n"


def write_oauth_config(tmp_path: Path, *, imap, smtp, idp, db_url: str, imap_table: str = "",
                       smtp_table: str = "") -> Path:
    """A config whose [imap] and [smtp] log in with OAuth2 (tables from oauth_table())."""
    path = tmp_path / "config.toml"
    path.write_text(f"""
[office]
name = "IEO Second Opinion"
address = "{OFFICE_ADDRESS}"

[imap]
auth = "oauth2"
host = "{imap.host}"
port = {imap.port}
security = "none"
username = "{OAUTH_MAILBOX}"
poll_seconds = 1
timeout_seconds = 10

{imap_table or oauth_table("imap", idp)}
[smtp]
auth = "oauth2"
host = "{smtp.host}"
port = {smtp.port}
security = "none"
username = "{OAUTH_MAILBOX}"
timeout_seconds = 10

{smtp_table or oauth_table("smtp", idp)}
[delivery]
max_attempts = 3
retry_base_seconds = 1

[database]
url = "{db_url}"

[storage]
dir = "{tmp_path / 'documents'}"

[payment]
beneficiary = "Example Hospital"
iban = "IT60X0542811101000000123456"
bic = "BPMOIT22XXX"

[rules]
dir = "{RULES}"
""", encoding="utf-8")
    return path


def oauth_env(idp, **grants: str) -> dict[str, str]:
    """The secrets' environment variables: client secret, token key, and each grant's variable."""
    return {"TEST_CLIENT_SECRET": idp.client_secret, "TEST_TOKEN_KEY": TOKEN_KEY, **grants}
