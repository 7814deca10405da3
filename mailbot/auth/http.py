"""The HTTP session every provider client uses: a timeout, and a CA file that really applies.

requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE override a Session's `verify`, so a
configured `ca_file` is passed on every request instead (proxies from the environment still work).
"""

from __future__ import annotations

import requests

TIMEOUT_SECONDS = 20


class ProviderSession(requests.Session):
    def __init__(self, ca_file: str = ""):
        super().__init__()
        self.ca_file = ca_file

    def request(self, method, url, **kwargs):
        if self.ca_file:
            kwargs.setdefault("verify", self.ca_file)
        kwargs.setdefault("timeout", TIMEOUT_SECONDS)
        return super().request(method, url, **kwargs)
