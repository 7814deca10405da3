"""Shared fixtures: real servers for end-to-end tests (see tests/servers/).

- `dovecot` (session) / `imap_account` (per test, emptied): a private Dovecot IMAP server.
- `smtp_sink` (per test): an aiosmtpd server collecting messages; `smtp_sink_tls`: with STARTTLS+AUTH.
- `db_url` (per test, parametrized sqlite/postgresql): a fresh empty database URL.
- `idp` (per test, reset): a local OAuth2 identity provider (http, and https for msal);
  `oauth_imap`: a second private Dovecot taking XOAUTH2/OAUTHBEARER logins checked against it;
  `oauth_sink`: an SMTP sink requiring AUTH XOAUTH2/OAUTHBEARER checked against it.

A missing server skips its tests, or fails them when MAILBOT_REQUIRE_SERVERS=1 (CI).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:  # `servers` stays importable even if tests/ becomes a package
    sys.path.insert(0, _HERE)

from servers import make_self_signed_cert, require_or_skip  # noqa: E402
from servers.dovecot import INSTALL_HINT, DovecotServer, find_dovecot  # noqa: E402
from servers.identity_provider import IdentityProvider  # noqa: E402
from servers.postgres import UNREACHABLE, PostgresAdmin  # noqa: E402

_IMAP_FIXTURES = {"dovecot", "imap_account", "dovecot_oauth", "oauth_imap"}


def pytest_collection_modifyitems(items):
    """Mark tests by the servers they use, so `-m "not imap"` / `-m "not postgres"` work."""
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        if names & _IMAP_FIXTURES:
            item.add_marker(pytest.mark.imap)
        callspec = getattr(item, "callspec", None)
        if "db_url" in names and callspec is not None and callspec.params.get("db_url") == "postgresql":
            item.add_marker(pytest.mark.postgres)


# -- IMAP ----------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def dovecot():
    """The private Dovecot instance: host, port (plain+STARTTLS), ssl_port, ca_file, username,
    password; deliver(raw, folder), messages(folder), folders(), flags(folder), kick(), reset(),
    imap_config(security, **overrides)."""
    binary = find_dovecot()
    if binary is None:
        require_or_skip(INSTALL_HINT)
    server = DovecotServer(binary)
    try:
        server.start()
    except BaseException:
        server.stop()
        raise
    yield server
    server.stop()


@pytest.fixture
def imap_account(dovecot):
    """The Dovecot test account with every folder emptied (INBOX only)."""
    dovecot.reset()
    return dovecot


# -- OAuth2 ---------------------------------------------------------------------------------------

OAUTH_MAILBOX = "office@hospital.example.org"


@pytest.fixture(scope="session")
def _idp_session(tls_cert):
    server = IdentityProvider().start(tls_cert=tls_cert)
    yield server
    server.stop()


@pytest.fixture
def idp(_idp_session):
    """The local identity provider, emptied: new_grant(user), revoke(), forget_access_tokens(),
    `down`, `lifetime` (3 s), token_url, introspection_url, authority (https, for msal)."""
    _idp_session.reset()
    yield _idp_session
    _idp_session.reset()


@pytest.fixture(scope="session")
def dovecot_oauth(_idp_session):
    """A second private Dovecot whose `oauth2` passdb asks the identity provider about tokens;
    its user (OAUTH_MAILBOX) also has a password, for the test helpers."""
    binary = find_dovecot()
    if binary is None:
        require_or_skip(INSTALL_HINT)
    server = DovecotServer(binary, username=OAUTH_MAILBOX, introspection_url=_idp_session.introspection_url)
    try:
        server.start()
    except BaseException:
        server.stop()
        raise
    yield server
    server.stop()


@pytest.fixture
def oauth_imap(dovecot_oauth, idp):
    """The OAuth2 Dovecot with its mailbox emptied (and the identity provider reset)."""
    dovecot_oauth.reset()
    return dovecot_oauth


@pytest.fixture
def oauth_sink(idp):
    """An SMTP sink on loopback that requires AUTH XOAUTH2/OAUTHBEARER, checked against `idp`:
    oauth_logins [(user, mechanism, token)], oauth_refusals, messages."""
    sink = _sink_class()(introspection_url=idp.introspection_url).start()
    yield sink
    sink.stop()


# -- SMTP ----------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def tls_cert(tmp_path_factory) -> tuple[Path, Path]:
    """A self-signed (cert, key) for localhost/127.0.0.1; the cert is also the CA file."""
    return make_self_signed_cert(tmp_path_factory.mktemp("tls"))


def _sink_class():
    try:
        from servers.smtp_sink import SmtpSink
    except ImportError:
        require_or_skip("aiosmtpd not installed: pip install -e '.[test]' (or pip install aiosmtpd)")
    return SmtpSink


@pytest.fixture
def smtp_sink():
    """Plain SMTP sink: host, port, messages, clear(), fail_next(n, code), refuse_recipient(addr),
    smtp_config(**overrides)."""
    sink = _sink_class()().start()
    yield sink
    sink.stop()


@pytest.fixture
def smtp_sink_tls(tls_cert):
    """Like smtp_sink, but offers STARTTLS and requires AUTH (username/password attributes;
    ca_file trusts its certificate)."""
    sink = _sink_class()(tls_cert=tls_cert, username="robot", password="smtp-secret").start()
    yield sink
    sink.stop()


# -- databases -----------------------------------------------------------------------------------

_pg_admin: list[PostgresAdmin | None] = []  # looked up once per session


@pytest.fixture(params=["sqlite", "postgresql"], ids=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    """A URL for a fresh, empty database: SQLite file, or a scratch PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/mailbot.db"
        return
    if not _pg_admin:
        _pg_admin.append(PostgresAdmin.find())
    admin = _pg_admin[0]
    if admin is None:
        require_or_skip(UNREACHABLE)
    name, url = admin.create_database()
    try:
        yield url
    finally:
        admin.drop_database(name)
