"""IMAP and SMTP logins with OAuth2 tokens against real servers: Dovecot's oauth2 passdb and an
aiosmtpd sink, both checking tokens at the local identity provider's introspection endpoint.
Tokens live 3 s, so refreshes really happen within a test."""

from __future__ import annotations

import time

import pytest

from conftest import OAUTH_MAILBOX
from mailbot.auth.generic import GenericProvider
from mailbot.auth.source import OAuthTokenSource
from mailbot.errors import MailboxError, SendError
from mailbot.mailbox.imap import ImapMailbox
from mailbot.outbox.smtp import SmtpTransport

RAW = (b"From: Second Opinion <office@hospital.example.org>\r\nTo: patient@example.com\r\n"
       b"Subject: test\r\nMessage-ID: <o1@hospital.example.org>\r\n\r\nHello\r\n")


def tokens_for(idp, refresh_token: str | None = None) -> OAuthTokenSource:
    provider = GenericProvider(idp.token_url, idp.client_id, idp.client_secret, [], OAUTH_MAILBOX)
    return OAuthTokenSource(provider, label=OAUTH_MAILBOX,
                            refresh_token=refresh_token or idp.new_grant(OAUTH_MAILBOX))


def oauth2_table(idp, mechanism: str = "xoauth2") -> dict:
    return dict(provider="generic", client_id=idp.client_id, token_url=idp.token_url,
                refresh_token_env="UNUSED_HERE", token_key_env="UNUSED_HERE", mechanism=mechanism)


def imap_box(server, idp, tokens, mechanism="xoauth2") -> ImapMailbox:
    config = server.imap_config("none", password="", auth="oauth2", oauth2=oauth2_table(idp, mechanism))
    return ImapMailbox(config, tokens=tokens)


def smtp_transport(sink, idp, tokens, mechanism="xoauth2") -> SmtpTransport:
    config = sink.smtp_config(username=OAUTH_MAILBOX, password="", auth="oauth2",
                              oauth2=oauth2_table(idp, mechanism))
    return SmtpTransport(config, tokens=tokens)


def send(transport, n: int = 1) -> None:
    transport.send(sender=OAUTH_MAILBOX, recipients=["patient@example.com"],
                   message_id=f"<o{n}@hospital.example.org>", raw=RAW)


# -- IMAP -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("mechanism", ["xoauth2", "oauthbearer"])
def test_imap_login_with_a_token_and_again_after_it_expired(oauth_imap, idp, mechanism):
    oauth_imap.deliver(RAW)
    tokens = tokens_for(idp)
    with imap_box(oauth_imap, idp, tokens, mechanism) as box:
        assert box.check_login() == f"{mechanism.upper()}, token from generic"
        assert [m.raw.replace(b"\r\n", b"\n") for m in box.waiting()] == [RAW.replace(b"\r\n", b"\n")]
        first = tokens.token()
        time.sleep(idp.lifetime + 0.2)                 # the token has expired at the provider too
        assert idp.username_for(first.value) is None
        oauth_imap.kick()                              # the server drops us: we must log in again
        assert len(list(box.waiting())) == 1
    assert idp.refreshes == 2 and tokens.token().value != first.value


def test_imap_refused_token_is_refreshed_once(oauth_imap, idp):
    tokens = tokens_for(idp)
    stale = tokens.token()
    idp.forget_access_tokens()         # revoked at the provider, though not expired by our clock
    with imap_box(oauth_imap, idp, tokens) as box:
        assert list(box.waiting()) == []
    assert idp.refreshes == 2 and tokens.token().value != stale.value


def test_imap_second_refusal_is_a_clear_error(oauth_imap, idp):
    other_user = OAuthTokenSource(GenericProvider(idp.token_url, idp.client_id, idp.client_secret, [], "x"),
                                  label="x", refresh_token=idp.new_grant("someone.else@example.org"))
    with imap_box(oauth_imap, idp, other_user) as box:
        with pytest.raises(MailboxError) as caught:
            list(box.waiting())
    text = str(caught.value)
    assert "refused twice" in text and "generic" in text and "imap.username" in text
    assert idp.refreshes == 2


def test_imap_identity_provider_in_trouble_is_temporary(oauth_imap, idp):
    tokens = tokens_for(idp)
    idp.down = True                     # Dovecot's introspection gets 503: [UNAVAILABLE]
    with imap_box(oauth_imap, idp, tokens) as box:
        with pytest.raises(MailboxError, match="identity provider is in trouble; will retry later"):
            list(box.waiting())
        idp.down = False
        assert list(box.waiting()) == []
    assert idp.refreshes == 1           # [UNAVAILABLE] is not a reason to refresh


# -- SMTP -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("mechanism", ["xoauth2", "oauthbearer"])
def test_smtp_login_with_a_token_and_again_after_it_expired(oauth_sink, idp, mechanism):
    tokens = tokens_for(idp)
    with smtp_transport(oauth_sink, idp, tokens, mechanism) as transport:
        send(transport, 1)
        time.sleep(idp.lifetime + 0.2)
        transport._call(transport._disconnect(polite=False))   # the server closed the idle connection
        send(transport, 2)
    assert len(oauth_sink.messages) == 2
    (user1, mech1, token1), (user2, mech2, token2) = oauth_sink.oauth_logins
    assert user1 == user2 == OAUTH_MAILBOX and mech1 == mech2 == mechanism.upper()
    assert token1 != token2 and idp.refreshes == 2


@pytest.mark.parametrize("mechanism", ["xoauth2", "oauthbearer"])
def test_smtp_refused_token_is_refreshed_once(oauth_sink, idp, mechanism):
    tokens = tokens_for(idp)
    tokens.token()
    idp.forget_access_tokens()
    with smtp_transport(oauth_sink, idp, tokens, mechanism) as transport:
        send(transport)
    assert len(oauth_sink.messages) == 1 and oauth_sink.oauth_refusals == [mechanism.upper()]
    assert idp.refreshes == 2


def test_smtp_second_refusal_and_provider_trouble_are_temporary_errors(oauth_sink, idp):
    other_user = OAuthTokenSource(GenericProvider(idp.token_url, idp.client_id, idp.client_secret, [], "x"),
                                  label="x", refresh_token=idp.new_grant("someone.else@example.org"))
    with smtp_transport(oauth_sink, idp, other_user) as transport:
        with pytest.raises(SendError) as caught:
            send(transport)
    assert caught.value.permanent is False       # the message stays queued until the login is fixed
    assert "refused twice" in str(caught.value) and "generic" in str(caught.value)
    idp.down = True
    with smtp_transport(oauth_sink, idp, tokens_for(idp)) as transport:
        with pytest.raises(SendError, match="cannot check OAuth2 tokens just now") as caught:
            send(transport)
    assert caught.value.permanent is False and oauth_sink.messages == []
