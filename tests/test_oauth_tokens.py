"""Token sources against a real local identity provider (http, and https for msal): early
refresh, rotated refresh tokens stored encrypted and used after a restart, revoked grants."""

from __future__ import annotations

import email
import time
from dataclasses import dataclass
from email import policy

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from conftest import OAUTH_MAILBOX
from mailbot.auth import ClientRejected, GrantRevoked, TokenError
from mailbot.auth.generic import GenericProvider
from mailbot.auth.registry import token_source
from mailbot.auth.source import OAuthTokenSource
from mailbot.config import load_config
from mailbot.store.database import open_database
from mailbot.store.models import OAuthToken, OutboxMessage
from office import plain_text
from oauth_setup import ADMINS, TOKEN_KEY, oauth_env, oauth_table, write_oauth_config
from servers import free_port


@dataclass
class Nowhere:
    """A server these tests never connect to: only tokens are fetched here."""
    host: str = "127.0.0.1"
    port: int = 9


def configure(tmp_path, monkeypatch, idp, db_url, *, table: str = "", **grants: str):
    for name, value in oauth_env(idp, **grants).items():
        monkeypatch.setenv(name, value)
    return write_oauth_config(tmp_path, imap=Nowhere(), smtp=Nowhere(), idp=idp, db_url=db_url,
                              imap_table=table, smtp_table=table.replace("[imap.", "[smtp."))


def stored_rows(db_url: str) -> list[OAuthToken]:
    with open_database(db_url)() as session:
        return list(session.execute(select(OAuthToken)).scalars())


def queued_alerts(db_url: str) -> list[OutboxMessage]:
    with open_database(db_url)() as session:
        return list(session.execute(select(OutboxMessage).where(OutboxMessage.purpose == "admin/notice")).scalars())


def test_rotated_refresh_token_is_stored_encrypted_and_used_after_a_restart(tmp_path, monkeypatch, idp, db_url):
    configured = idp.new_grant(OAUTH_MAILBOX)
    path = configure(tmp_path, monkeypatch, idp, db_url, TEST_RT=configured)
    config = load_config(path)
    source = token_source(config, "imap")
    assert token_source(config, "smtp") is source       # one grant, one source: no competing refreshes
    first = source.token()
    rotated = idp.current_refresh_token(OAUTH_MAILBOX)
    assert rotated != configured                       # the provider rotated it and voided the old one
    (row,) = stored_rows(db_url)
    assert rotated.encode() not in row.refresh_token and configured.encode() not in row.refresh_token
    assert Fernet(TOKEN_KEY).decrypt(row.refresh_token).decode() == rotated
    assert row.label == f"{OAUTH_MAILBOX} (generic)" and row.blocked_reason is None

    restarted = token_source(load_config(path), "imap")   # a new process: the configured token is dead
    assert restarted is not source
    second = restarted.token()
    assert second.value != first.value and idp.refreshes == 2
    (row,) = stored_rows(db_url)
    assert Fernet(TOKEN_KEY).decrypt(row.refresh_token).decode() == idp.current_refresh_token(OAUTH_MAILBOX)


def test_a_newly_configured_refresh_token_wins_over_the_stored_chain(tmp_path, monkeypatch, idp, db_url):
    old = idp.new_grant(OAUTH_MAILBOX)
    path = configure(tmp_path, monkeypatch, idp, db_url, TEST_RT=old)
    token_source(load_config(path), "imap").token()
    new = idp.new_grant(OAUTH_MAILBOX)                 # the admin consented again
    monkeypatch.setenv("TEST_RT", new)
    token_source(load_config(path), "imap").token()
    old_grant, new_grant = idp.grants
    assert new_grant.refresh_token != new              # the new grant was used (and rotated)
    (row,) = stored_rows(db_url)
    assert Fernet(TOKEN_KEY).decrypt(row.refresh_token).decode() == new_grant.refresh_token


def test_token_is_reused_then_refreshed_before_it_expires(idp):
    idp.lifetime = 2.0
    source = OAuthTokenSource(GenericProvider(idp.token_url, idp.client_id, idp.client_secret, [], "m"),
                              label="m", refresh_token=idp.new_grant(OAUTH_MAILBOX))
    first = source.token()
    assert source.token() is first and idp.refreshes == 1
    time.sleep(1.6)                                    # past three quarters of its life
    second = source.token()
    assert second.value != first.value and idp.refreshes == 2
    assert source.token(force_refresh=True).value != second.value and idp.refreshes == 3


def test_revoked_grant_is_one_alert_and_a_clear_error(tmp_path, monkeypatch, idp, db_url):
    path = configure(tmp_path, monkeypatch, idp, db_url, TEST_RT=idp.new_grant(OAUTH_MAILBOX))
    token_source(load_config(path), "imap").token()
    idp.revoke(OAUTH_MAILBOX)                          # e.g. the account's password was reset
    for _restart in range(2):
        source = token_source(load_config(path), "imap")
        for _call in range(2):
            with pytest.raises(GrantRevoked) as caught:
                source.token()
    text = str(caught.value)
    assert "generic" in text and OAUTH_MAILBOX in text and "refresh_token_env" in text and "re-consent" in text
    (row,) = stored_rows(db_url)
    assert row.blocked_reason == "invalid_grant" and row.blocked_at is not None
    alerts = queued_alerts(db_url)
    assert sorted(a.recipients[0] for a in alerts) == sorted(ADMINS)    # one alert, each admin once
    assert all("mailbox login revoked" in a.subject or "accesso alla casella revocato" in a.subject
               for a in alerts)
    bodies = [plain_text(email.message_from_bytes(a.raw, policy=policy.default)) for a in alerts]
    assert all(OAUTH_MAILBOX in body and "refresh_token_env" in body for body in bodies)

    monkeypatch.setenv("TEST_RT", idp.new_grant(OAUTH_MAILBOX))   # the admin fixed it
    token_source(load_config(path), "imap").token()
    (row,) = stored_rows(db_url)
    assert row.blocked_reason is None and len(queued_alerts(db_url)) == 2


def test_unreachable_identity_provider_is_temporary_and_alerts_nobody(tmp_path, monkeypatch, idp):
    db_url = f"sqlite:///{tmp_path}/db.sqlite"
    table = oauth_table("imap", idp).replace(idp.token_url, f"http://127.0.0.1:{free_port()}/token")
    path = configure(tmp_path, monkeypatch, idp, db_url, table=table, TEST_RT=idp.new_grant(OAUTH_MAILBOX))
    with pytest.raises(TokenError) as caught:
        token_source(load_config(path), "imap").token()
    assert not isinstance(caught.value, GrantRevoked) and "will retry later" in str(caught.value)
    assert queued_alerts(db_url) == [] and all(r.blocked_reason is None for r in stored_rows(db_url))


def test_msal_client_credentials_over_https_with_our_ca_file(tmp_path, monkeypatch, idp, tls_cert):
    """A shared mailbox with app permissions. The machine's REQUESTS_CA_BUNDLE, which would
    override a requests Session's verify, must not stop imap.oauth2.ca_file from applying."""
    idp.reset(app_username=OAUTH_MAILBOX)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tmp_path / "missing-bundle.pem"))
    table = oauth_table("imap", idp, provider="microsoft", grant_env="", ca_file=str(tls_cert[0]))
    path = configure(tmp_path, monkeypatch, idp, f"sqlite:///{tmp_path}/db.sqlite", table=table)
    source = token_source(load_config(path), "imap")
    first = source.token()
    assert source.token() is first and idp.client_grants == 1
    assert source.token(force_refresh=True).value != first.value and idp.client_grants == 2
    assert first.provider == "microsoft" and idp.username_for(first.value) == OAUTH_MAILBOX


def test_msal_refused_client_secret_is_a_clear_error(tmp_path, monkeypatch, idp, tls_cert):
    idp.reset(app_username=OAUTH_MAILBOX)
    table = oauth_table("imap", idp, provider="microsoft", grant_env="", ca_file=str(tls_cert[0]))
    path = configure(tmp_path, monkeypatch, idp, f"sqlite:///{tmp_path}/db.sqlite", table=table)
    monkeypatch.setenv("TEST_CLIENT_SECRET", "an-expired-secret")
    for _restart in range(2):
        with pytest.raises(ClientRejected, match="client secret has expired or is wrong.*client_secret_env"):
            token_source(load_config(path), "imap").token()
    (row,) = stored_rows(f"sqlite:///{tmp_path}/db.sqlite")
    assert row.blocked_reason == "invalid_client" and row.refresh_token is None
    alerts = queued_alerts(f"sqlite:///{tmp_path}/db.sqlite")
    assert sorted(a.recipients[0] for a in alerts) == sorted(ADMINS)
    assert all("app secret expired" in a.subject or "segreto dell'app" in a.subject for a in alerts)


def test_msal_refresh_token_rotation_is_stored(tmp_path, monkeypatch, idp, tls_cert):
    db_url = f"sqlite:///{tmp_path}/db.sqlite"
    configured = idp.new_grant(OAUTH_MAILBOX)
    table = oauth_table("imap", idp, provider="microsoft", ca_file=str(tls_cert[0]))
    path = configure(tmp_path, monkeypatch, idp, db_url, table=table, TEST_RT=configured)
    token_source(load_config(path), "imap").token()
    token_source(load_config(path), "imap").token()    # after a restart: the stored token works
    (row,) = stored_rows(db_url)
    assert Fernet(TOKEN_KEY).decrypt(row.refresh_token).decode() == idp.current_refresh_token(OAUTH_MAILBOX)
    assert idp.refreshes == 2


def test_google_refresh_and_revocation(tmp_path, monkeypatch, idp):
    db_url = f"sqlite:///{tmp_path}/db.sqlite"
    table = oauth_table("imap", idp, provider="google")
    path = configure(tmp_path, monkeypatch, idp, db_url, table=table, TEST_RT=idp.new_grant(OAUTH_MAILBOX))
    token = token_source(load_config(path), "imap").token()
    assert token.provider == "google" and idp.username_for(token.value) == OAUTH_MAILBOX
    assert token_source(load_config(path), "imap").token().value != token.value   # stored rotation used
    idp.revoke()
    with pytest.raises(GrantRevoked, match="google: .*revoked"):
        token_source(load_config(path), "imap").token()
    assert len(queued_alerts(db_url)) == len(ADMINS)


def test_a_second_key_decrypts_what_the_old_key_stored(tmp_path, monkeypatch, idp):
    db_url = f"sqlite:///{tmp_path}/db.sqlite"
    path = configure(tmp_path, monkeypatch, idp, db_url, TEST_RT=idp.new_grant(OAUTH_MAILBOX))
    token_source(load_config(path), "imap").token()
    new_key = Fernet.generate_key().decode()
    monkeypatch.setenv("TEST_TOKEN_KEY", f"{new_key},{TOKEN_KEY}")   # key change: new first, old after
    token_source(load_config(path), "imap").token()
    (row,) = stored_rows(db_url)
    assert Fernet(new_key).decrypt(row.refresh_token).decode() == idp.current_refresh_token(OAUTH_MAILBOX)
