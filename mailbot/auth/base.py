"""The token Protocol, the value it returns, what a provider answers, and the errors.

Errors are sorted by what a person must do: a `TokenError` is temporary (the identity provider
is unreachable or in trouble: retry later); an `AdminActionNeeded` is not (a revoked grant, a
rejected client secret): retrying cannot help until an admin acts, so the admins are told once.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from mailbot.errors import MailbotError


@dataclass(frozen=True)
class AccessToken:
    value: str
    expires_at: datetime          # aware UTC, as the provider stated it
    provider: str                 # "microsoft" | "google" | "generic": for messages

    @property
    def identity(self) -> str:
        """Whom the token is for, when it says so (Microsoft's tokens are JWTs); else ''."""
        return jwt_identity(self.value)


class TokenSource(Protocol):
    provider: str

    def token(self, force_refresh: bool = False) -> AccessToken:
        """A token valid for a while yet; `force_refresh` after the server refused the last one.
        Raises TokenError (temporary) or AdminActionNeeded (an admin must act)."""


@dataclass(frozen=True)
class Grant:
    """One answer of a token endpoint."""

    access_token: str
    expires_in: float                    # seconds
    refresh_token: str | None = None     # a new (rotated) refresh token, when the provider sent one


class Provider(Protocol):
    """One provider's token request: `fetch(refresh_token)` -> Grant (refresh_token None means
    client credentials). Raises TokenError / GrantRevoked / ClientRejected."""

    name: str

    def fetch(self, refresh_token: str | None) -> Grant: ...


class TokenError(MailbotError):
    """No token now (the identity provider is unreachable or answered an error); retry later."""

    def __init__(self, message: str, *, provider: str = ""):
        super().__init__(message)
        self.provider = provider


class AdminActionNeeded(TokenError):
    """The provider refuses us for good until an admin acts; `reason` names the OAuth error."""

    reason = ""


class GrantRevoked(AdminActionNeeded):
    """invalid_grant: the consent was revoked (a password reset, an admin, an expired token)."""

    reason = "invalid_grant"


class ClientRejected(AdminActionNeeded):
    """invalid_client / unauthorized_client: the app's secret expired or the app was removed."""

    reason = "invalid_client"


def error_for(provider: str, error: str, description: str, where: str) -> TokenError:
    """The error an OAuth error code means, with what to do in its message."""
    said = f"{error}: {description}".strip(": ") if description else error
    if error == "invalid_grant":
        return GrantRevoked(
            f"{provider}: the refresh token for {where} was refused ({_short(said)}): the grant was "
            "revoked or has expired (a password reset does this). Sign in again as the mailbox "
            "(re-consent), put the new refresh token in the variable named by refresh_token_env, "
            "and restart mailbot.", provider=provider)
    if error in ("invalid_client", "unauthorized_client"):
        return ClientRejected(
            f"{provider}: the app (client_id) was refused for {where} ({_short(said)}): the client "
            "secret has expired or is wrong, or the app was removed. Create a new client secret, "
            "put it in the variable named by client_secret_env, and restart mailbot.",
            provider=provider)
    return TokenError(f"{provider}: no access token for {where} ({_short(said)}); will retry later",
                      provider=provider)


def _short(text: str, limit: int = 200) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit] + "..."


def jwt_identity(token: str) -> str:
    """The user or app a JWT access token names (unverified: for display only), else ''."""
    parts = token.split(".")
    if len(parts) != 3:
        return ""
    try:
        payload = parts[1] + "=" * (-len(parts[1]) % 4)
        claims = json.loads(base64.urlsafe_b64decode(payload))
    except (ValueError, TypeError):
        return ""
    if not isinstance(claims, dict):
        return ""
    for key in ("upn", "preferred_username", "unique_name", "email"):
        if claims.get(key):
            return str(claims[key])
    app = claims.get("app_displayname") or claims.get("appid") or claims.get("azp")
    return f"app {app}" if app else ""
