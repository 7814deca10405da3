"""Microsoft 365 (Entra ID) with msal: client credentials for a shared mailbox (the app has
IMAP.AccessAsApp / SMTP.SendAsApp and the mailbox granted to its service principal), or a
delegated refresh token (IMAP.AccessAsUser.All, SMTP.Send, offline_access)."""

from __future__ import annotations

import msal
import requests

from mailbot.auth.base import Grant, TokenError, error_for
from mailbot.auth.http import ProviderSession


class MicrosoftProvider:
    name = "microsoft"

    def __init__(self, client_id: str, client_secret: str, authority: str, tenant: str,
                 scopes: list[str], where: str, ca_file: str = ""):
        self.client_id, self.client_secret, self.scopes, self.where = client_id, client_secret, scopes, where
        self.authority = f"{authority.rstrip('/')}/{tenant}"
        self.session = ProviderSession(ca_file)
        self._app: msal.ClientApplication | None = None

    def _application(self) -> msal.ClientApplication:
        """Built on first use: msal reads the authority's OpenID configuration when created."""
        if self._app is None:
            options = dict(authority=self.authority, http_client=self.session, instance_discovery=False)
            try:
                if self.client_secret:
                    self._app = msal.ConfidentialClientApplication(
                        self.client_id, client_credential=self.client_secret, **options)
                else:
                    self._app = msal.PublicClientApplication(self.client_id, **options)
            except (requests.RequestException, ValueError) as exc:
                raise TokenError(f"microsoft: authority {self.authority} unusable for {self.where} "
                                 f"({type(exc).__name__}: {exc}); will retry later",
                                 provider=self.name) from None
        return self._app

    def fetch(self, refresh_token: str | None) -> Grant:
        app = self._application()
        try:
            if refresh_token:
                result = app.acquire_token_by_refresh_token(refresh_token, scopes=self.scopes)
            else:
                app.remove_tokens_for_client()   # we cache ourselves; a refresh must be a fresh token
                result = app.acquire_token_for_client(scopes=self.scopes)
        except requests.RequestException as exc:
            raise TokenError(f"microsoft: token endpoint unreachable for {self.where} "
                             f"({type(exc).__name__}); will retry later", provider=self.name) from None
        if "access_token" not in result:
            raise error_for(self.name, str(result.get("error") or "error"),
                            str(result.get("error_description") or ""), self.where)
        return Grant(result["access_token"], float(result.get("expires_in") or 3600),
                     result.get("refresh_token") or None)
