"""Token sources built from the config, one per grant per loaded Config.

The mailbox, the outbox's transport and the jobs' own IMAP connection are opened from the same
Config; when [imap] and [smtp] use the same grant they must share one source, or two refreshes
of one rotating refresh token would void each other. Sources live as long as their Config.
"""

from __future__ import annotations

import threading
import weakref
from typing import Literal

from sqlalchemy.orm import Session, sessionmaker

from mailbot.auth.alerts import login_alert_queuer
from mailbot.auth.base import Provider
from mailbot.auth.crypto import token_cipher
from mailbot.auth.source import OAuthTokenSource
from mailbot.auth.store import TokenStore
from mailbot.config import Config, LoginSection, OAuth2Config

Service = Literal["imap", "smtp"]

_lock = threading.Lock()
_by_config: dict[int, dict] = {}   # id(Config) -> {"sessions": ..., account: source}


def account_key(section: LoginSection) -> str:
    """Names one grant: the mailbox, the provider and issuer, the app, and the grant's variable."""
    o = section.oauth2
    issuer = {"microsoft": f"{o.authority.rstrip('/')}/{o.tenant}", "google": o.token_url or "google",
              "generic": o.token_url}[o.provider]
    return "|".join([section.username.lower(), o.provider, issuer, o.client_id,
                     o.refresh_token_env or "client-credentials"])


def token_source(config: Config, service: Service) -> OAuthTokenSource | None:
    """The shared source for `service`'s login, or None when it logs in with a password."""
    section = getattr(config, service)
    if section is None or section.auth != "oauth2":
        return None
    account = account_key(section)
    with _lock:
        built = _by_config.get(id(config))
        if built is None:
            built = _by_config[id(config)] = {}
            weakref.finalize(config, _by_config.pop, id(config), None)
        if account not in built:
            built[account] = _build(config, section, account, built)
        return built[account]


def _build(config: Config, section: LoginSection, account: str, built: dict) -> OAuthTokenSource:
    o = section.oauth2
    label = f"{section.username} ({o.provider})"
    provider = build_provider(o, section.username)
    if "sessions" not in built:
        built["sessions"] = _sessions(config)
    # Without a refresh token (client credentials) nothing secret is stored, but a refused
    # client is still recorded and alerted once.
    cipher = token_cipher(o.token_keys(), f"the variable {o.token_key_env} (named by token_key_env)") \
        if o.token_key_env else None
    store = TokenStore(built["sessions"], account, label, cipher,
                       login_alert_queuer(config, account, section.username, o.provider,
                                          _services(config, account)))
    return OAuthTokenSource(provider, label=label, refresh_token=o.refresh_token(), store=store)


def build_provider(o: OAuth2Config, mailbox: str) -> Provider:
    secret, ca_file = o.client_secret(), o.ca_file
    if o.provider == "microsoft":
        from mailbot.auth.microsoft import MicrosoftProvider

        return MicrosoftProvider(o.client_id, secret, o.authority, o.tenant, o.scopes, mailbox, ca_file)
    if o.provider == "google":
        from mailbot.auth.google import GoogleProvider

        return GoogleProvider(o.client_id, secret, mailbox, o.token_url, ca_file)
    from mailbot.auth.generic import GenericProvider

    return GenericProvider(o.token_url, o.client_id, secret, o.scopes, mailbox, ca_file)


def _services(config: Config, account: str) -> str:
    """'IMAP', 'SMTP' or 'IMAP + SMTP': which logins this grant serves."""
    names = [name.upper() for name in ("imap", "smtp")
             if (s := getattr(config, name)) is not None and s.auth == "oauth2" and account_key(s) == account]
    return " + ".join(names)


def _sessions(config: Config) -> sessionmaker[Session]:
    from mailbot.store.database import open_database

    return open_database(config.database_url)
