"""Real servers for end-to-end tests: a private Dovecot, an aiosmtpd sink, a scratch PostgreSQL DB.

Tests never mock IMAP or SMTP. A missing server skips its tests on a developer's machine, but
fails them in CI (MAILBOT_REQUIRE_SERVERS=1), so a broken CI image cannot pass by skipping.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

REQUIRE_ENV = "MAILBOT_REQUIRE_SERVERS"


def require_or_skip(reason: str) -> None:
    """Skip with `reason`, or fail with it when MAILBOT_REQUIRE_SERVERS=1 (CI)."""
    if os.environ.get(REQUIRE_ENV, "").strip() == "1":
        pytest.fail(f"{reason} ({REQUIRE_ENV}=1, so this is an error, not a skip)", pytrace=False)
    pytest.skip(reason)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (good enough for tests)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def make_self_signed_cert(directory: Path, name: str = "server") -> tuple[Path, Path]:
    """(cert, key) for CN=localhost, SAN localhost + 127.0.0.1; the cert doubles as the CA file."""
    if shutil.which("openssl") is None:
        require_or_skip("openssl not installed (needed for test TLS certificates): apt-get install openssl")
    cert, key = directory / f"{name}-cert.pem", directory / f"{name}-key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256", "-days", "3",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
         "-addext", "basicConstraints=critical,CA:TRUE"],
        check=True, capture_output=True,
    )
    os.chmod(key, 0o600)
    os.chmod(cert, 0o644)
    return cert, key
