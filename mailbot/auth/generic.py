"""Any OAuth2 token endpoint (RFC 6749 §6 refresh, §4.4 client credentials) with a plain POST."""

from __future__ import annotations

import requests

from mailbot.auth.base import Grant, TokenError, error_for
from mailbot.auth.http import ProviderSession


class GenericProvider:
    name = "generic"

    def __init__(self, token_url: str, client_id: str, client_secret: str, scopes: list[str],
                 where: str, ca_file: str = ""):
        self.token_url, self.client_id, self.client_secret = token_url, client_id, client_secret
        self.scopes, self.where = scopes, where
        self.session = ProviderSession(ca_file)

    def fetch(self, refresh_token: str | None) -> Grant:
        form = {"client_id": self.client_id}
        if refresh_token:
            form.update(grant_type="refresh_token", refresh_token=refresh_token)
        else:
            form.update(grant_type="client_credentials")
        if self.client_secret:
            form["client_secret"] = self.client_secret
        if self.scopes:
            form["scope"] = " ".join(self.scopes)
        try:
            response = self.session.post(self.token_url, data=form, headers={"Accept": "application/json"})
        except requests.RequestException as exc:
            raise TokenError(f"generic: token endpoint {self.token_url} unreachable for {self.where} "
                             f"({type(exc).__name__}); will retry later", provider=self.name) from None
        try:
            answer = response.json()
        except ValueError:
            answer = {}
        if not isinstance(answer, dict):
            answer = {}
        if response.status_code >= 400 or "access_token" not in answer:
            error = str(answer.get("error") or f"HTTP {response.status_code}")
            if response.status_code >= 500:
                error = f"HTTP {response.status_code}"   # a server in trouble, whatever its body says
            raise error_for(self.name, error, str(answer.get("error_description", "")), self.where)
        return Grant(str(answer["access_token"]), float(answer.get("expires_in") or 3600),
                     answer.get("refresh_token") or None)
