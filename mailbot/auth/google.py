"""Google Workspace: google-auth's user Credentials, refreshed with the refresh token an admin
got when the mailbox consented to the scope https://mail.google.com/."""

from __future__ import annotations

from datetime import datetime, timezone

from google.auth.exceptions import RefreshError, TransportError
from google.auth.transport.requests import Request
from google.oauth2.credentials import Credentials

from mailbot.auth.base import Grant, TokenError, error_for
from mailbot.auth.http import ProviderSession

GOOGLE_TOKEN_URL = "https://oauth2.googleapis.com/token"


class GoogleProvider:
    name = "google"

    def __init__(self, client_id: str, client_secret: str, where: str, token_url: str = "",
                 ca_file: str = ""):
        self.client_id, self.client_secret, self.where = client_id, client_secret, where
        self.token_url = token_url or GOOGLE_TOKEN_URL
        self.request = Request(session=ProviderSession(ca_file))

    def fetch(self, refresh_token: str | None) -> Grant:
        if not refresh_token:
            raise TokenError("google: a refresh token is needed (refresh_token_env)", provider=self.name)
        # No scopes here: the refresh token carries the ones granted at consent.
        credentials = Credentials(token=None, refresh_token=refresh_token, token_uri=self.token_url,
                                  client_id=self.client_id, client_secret=self.client_secret)
        try:
            credentials.refresh(self.request)
        except RefreshError as exc:
            data = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], dict) else {}
            error = str(data.get("error") or (str(exc.args[0]).split(":", 1)[0] if exc.args else "error"))
            if getattr(exc, "retryable", False):
                error = "temporarily_unavailable"
            raise error_for(self.name, error, str(data.get("error_description", "")), self.where) from None
        except TransportError as exc:
            raise TokenError(f"google: token endpoint unreachable for {self.where} "
                             f"({type(exc).__name__}); will retry later", provider=self.name) from None
        expiry = credentials.expiry   # naive UTC
        seconds = ((expiry.replace(tzinfo=timezone.utc) - datetime.now(timezone.utc)).total_seconds()
                   if expiry else 3600.0)
        rotated = credentials.refresh_token if credentials.refresh_token != refresh_token else None
        return Grant(credentials.token, seconds, rotated)
