"""OAuth2 access tokens for the IMAP and SMTP logins.

One small Protocol, `TokenSource.token(force_refresh=False) -> AccessToken`, with one module per
provider behind it: Microsoft (msal), Google (google-auth) and a generic token endpoint. The
source caches the token and refreshes it before it expires; a refresh token the provider rotates
is stored at once, encrypted, in the database (`oauth_tokens`), so a restart goes on with it.
"""

from mailbot.auth.base import (
    AccessToken,
    AdminActionNeeded,
    ClientRejected,
    GrantRevoked,
    TokenError,
    TokenSource,
)

__all__ = ["AccessToken", "AdminActionNeeded", "ClientRejected", "GrantRevoked", "TokenError",
           "TokenSource"]
