"""A tiny OAuth2 identity provider on 127.0.0.1 for login tests: token, introspection, discovery.

One `IdentityProvider` holds the state (grants, issued access tokens) and serves it on a plain
http listener (Dovecot and the SMTP sink introspect there; google-auth and the generic client
fetch tokens there) and, optionally, on an https listener with a self-signed certificate
(msal refuses http authorities). It behaves like the real ones where mailbot cares:
- access tokens are short-lived (`lifetime` seconds), so a test run sees them expire;
- every refresh-token grant rotates the refresh token and voids the old one (like Microsoft);
- a revoked grant or an unknown refresh token answers 400 {"error": "invalid_grant"};
- a wrong client secret answers 401 {"error": "invalid_client"};
- POST /introspect answers {"active": true, "username": ...} for a live token (RFC 7662, the
  way Dovecot's oauth2 passdb asks), {"active": false} otherwise, and 503 when `down` is set.
Paths: /token (generic, google), /<tenant>/oauth2/v2.0/token and
/<tenant>/v2.0/.well-known/openid-configuration (msal), /introspect.
"""

from __future__ import annotations

import json
import secrets
import ssl
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

from . import free_port


@dataclass
class Grant:
    username: str
    client_id: str
    refresh_token: str
    revoked: bool = False


@dataclass
class Issued:
    username: str
    expires: float           # time.monotonic() deadline
    grant: Grant | None      # None for client-credentials tokens


@dataclass
class IdentityProvider:
    client_id: str = "mailbot-client"
    client_secret: str = "client-s3cret"
    lifetime: float = 3.0           # seconds an access token lives
    rotate: bool = True             # hand out a new refresh token on every refresh
    app_username: str = ""          # whom a client-credentials token acts for (a shared mailbox)
    down: bool = False              # introspection answers 503 (the identity provider is in trouble)
    grants: list[Grant] = field(default_factory=list)
    tokens: dict[str, Issued] = field(default_factory=dict)
    refreshes: int = 0              # refresh-token grants answered with a token
    client_grants: int = 0          # client-credentials grants answered with a token
    introspections: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self):
        self._issued_order: list[str] = []   # each grant's first refresh token
        self.port = free_port()
        self._servers: list[ThreadingHTTPServer] = []
        self.https_port: int | None = None

    # -- life cycle ---------------------------------------------------------------------------

    def start(self, tls_cert: tuple[Path, Path] | None = None) -> "IdentityProvider":
        self._serve(self.port, None)
        if tls_cert is not None:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(str(tls_cert[0]), str(tls_cert[1]))
            self.https_port = free_port()
            self._serve(self.https_port, context)
        return self

    def _serve(self, port: int, context: ssl.SSLContext | None) -> None:
        server = ThreadingHTTPServer(("127.0.0.1", port), _handler_for(self, port, context is not None))
        server.daemon_threads = True
        if context is not None:
            server.socket = context.wrap_socket(server.socket, server_side=True)
        threading.Thread(target=server.serve_forever, name=f"idp-{port}", daemon=True).start()
        self._servers.append(server)

    def stop(self) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()
        self._servers.clear()

    # -- addresses ------------------------------------------------------------------------------

    @property
    def token_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/token"

    @property
    def introspection_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/introspect"

    @property
    def authority(self) -> str:
        """The https base an msal config names as `authority` (the tenant is appended)."""
        assert self.https_port is not None, "start(tls_cert=...) for msal"
        return f"https://127.0.0.1:{self.https_port}"

    # -- what a test does to it -------------------------------------------------------------------

    def reset(self, *, lifetime: float = 3.0, rotate: bool = True, app_username: str = "") -> None:
        """Forget every grant and token (the session-wide instance, between tests)."""
        with self.lock:
            self.grants, self.tokens, self._issued_order = [], {}, []
            self.lifetime, self.rotate, self.app_username, self.down = lifetime, rotate, app_username, False
            self.refreshes = self.client_grants = self.introspections = 0

    def new_grant(self, username: str) -> str:
        """A user consented: returns the refresh token mailbot is configured with."""
        with self.lock:
            grant = Grant(username, self.client_id, "rt-" + secrets.token_urlsafe(16))
            self.grants.append(grant)
            self._issued_order.append(grant.refresh_token)
            return grant.refresh_token

    def revoke(self, username: str | None = None) -> None:
        """A password reset / admin revocation: every grant (of `username`) dies, with its tokens."""
        with self.lock:
            for grant in self.grants:
                if username is None or grant.username == username:
                    grant.revoked = True
            self.tokens = {t: i for t, i in self.tokens.items() if i.grant is None or not i.grant.revoked}

    def revoke_grant(self, refresh_token: str) -> None:
        """Revoke the one grant new_grant() answered with `refresh_token` (however often it rotated)."""
        with self.lock:
            grant = self.grants[self._issued_order.index(refresh_token)]
            grant.revoked = True
            self.tokens = {t: i for t, i in self.tokens.items() if i.grant is not grant}

    def forget_access_tokens(self) -> None:
        """Every access token issued so far stops working at once (before its stated expiry)."""
        with self.lock:
            self.tokens.clear()

    def current_refresh_token(self, username: str) -> str:
        with self.lock:
            return next(g.refresh_token for g in reversed(self.grants)
                        if g.username == username and not g.revoked)

    # -- protocol -----------------------------------------------------------------------------------

    def _issue(self, username: str, grant: Grant | None) -> dict:
        token = "at-" + secrets.token_urlsafe(24)
        self.tokens[token] = Issued(username, time.monotonic() + self.lifetime, grant)
        answer = {"access_token": token, "token_type": "Bearer", "expires_in": self.lifetime,
                  "scope": "imap smtp"}
        if grant is not None:
            answer["refresh_token"] = grant.refresh_token
        return answer

    def token_request(self, form: dict[str, str]) -> tuple[int, dict]:
        with self.lock:
            if form.get("client_id") not in ("", None, self.client_id):
                return 400, {"error": "unauthorized_client", "error_description": "unknown client"}
            grant_type = form.get("grant_type")
            if grant_type == "client_credentials":
                if form.get("client_secret") != self.client_secret:
                    return 401, {"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret"}
                self.client_grants += 1
                return 200, self._issue(self.app_username, None)
            if grant_type != "refresh_token":
                return 400, {"error": "unsupported_grant_type"}
            if "client_secret" in form and form["client_secret"] != self.client_secret:
                return 401, {"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret"}
            grant = next((g for g in self.grants if g.refresh_token == form.get("refresh_token")), None)
            if grant is None or grant.revoked:
                return 400, {"error": "invalid_grant",
                             "error_description": "AADSTS50173: The provided grant has expired due to it being revoked"}
            if self.rotate:
                grant.refresh_token = "rt-" + secrets.token_urlsafe(16)
            self.refreshes += 1
            return 200, self._issue(grant.username, grant)

    def introspect(self, token: str) -> tuple[int, dict]:
        with self.lock:
            self.introspections += 1
            if self.down:
                return 503, {"error": "temporarily_unavailable"}
            issued = self.tokens.get(token)
            if issued is None or issued.expires < time.monotonic():
                return 200, {"active": False}
            return 200, {"active": True, "username": issued.username, "scope": "imap smtp"}

    def username_for(self, token: str) -> str | None:
        """What the SMTP sink uses: the token's user, None when not active (or 'down' raises)."""
        status, answer = self.introspect(token)
        if status != 200:
            raise ConnectionError("identity provider unavailable")
        return answer["username"] if answer.get("active") else None


def _handler_for(idp: IdentityProvider, port: int, tls: bool):
    base = f"{'https' if tls else 'http'}://127.0.0.1:{port}"

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_args):  # keep test output quiet
            pass

        def _answer(self, status: int, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            # msal's discovery: /<tenant>/v2.0/.well-known/openid-configuration
            if self.path.endswith("/v2.0/.well-known/openid-configuration"):
                tenant = self.path.strip("/").split("/")[0]
                return self._answer(200, {
                    "issuer": f"{base}/{tenant}/v2.0",
                    "token_endpoint": f"{base}/{tenant}/oauth2/v2.0/token",
                    "authorization_endpoint": f"{base}/{tenant}/oauth2/v2.0/authorize",
                    "device_authorization_endpoint": f"{base}/{tenant}/oauth2/v2.0/devicecode",
                })
            self._answer(404, {"error": "not_found"})

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            if self.path == "/introspect":
                return self._answer(*idp.introspect(form.get("token", "")))
            if self.path == "/token" or self.path.endswith("/oauth2/v2.0/token"):
                if "client_id" not in form:   # HTTP Basic client authentication
                    form.update(_basic_auth(self.headers.get("Authorization", "")))
                return self._answer(*idp.token_request(form))
            self._answer(404, {"error": "not_found"})

    return Handler


def _basic_auth(header: str) -> dict[str, str]:
    import base64

    if not header.startswith("Basic "):
        return {}
    user, _, password = base64.b64decode(header[6:]).decode().partition(":")
    return {"client_id": user, "client_secret": password}
