"""Encryption of stored refresh tokens: Fernet (AES-128-CBC + HMAC) from `cryptography`.

The key comes from an environment variable, never from the config file or the database. Several
comma-separated keys allow a key change: the first encrypts, every one decrypts.
"""

from __future__ import annotations

import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from mailbot.errors import ConfigError

__all__ = ["InvalidToken", "fingerprint", "token_cipher", "KEY_HINT"]

KEY_HINT = ("make one with: python -c \"from cryptography.fernet import Fernet; "
            "print(Fernet.generate_key().decode())\"")


def token_cipher(keys: str, what: str) -> MultiFernet:
    """A cipher from comma-separated Fernet keys; ConfigError naming `what` if one is malformed."""
    parts = [k.strip() for k in keys.split(",") if k.strip()]
    if not parts:
        raise ConfigError(f"{what} is empty; {KEY_HINT}")
    try:
        return MultiFernet([Fernet(k) for k in parts])
    except ValueError:
        raise ConfigError(f"{what} is not a Fernet key (32 url-safe base64 bytes); {KEY_HINT}") from None


def fingerprint(secret: str) -> str:
    """Which configured refresh token a stored one descends from, without storing it."""
    return hashlib.sha256(secret.encode()).hexdigest()[:32]
