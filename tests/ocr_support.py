"""Tesseract for the OCR tests: found, or the test skips saying how to install it (a failure
with MAILBOT_REQUIRE_SERVERS=1, as CI runs, like a missing server)."""

from __future__ import annotations

import pytest

from mailbot.ocr import INSTALL_HINT, find_tesseract
from servers import require_or_skip


@pytest.fixture
def tesseract() -> str:
    binary = find_tesseract()
    if binary is None:
        require_or_skip(f"Tesseract with English and Italian is not installed: {INSTALL_HINT} "
                        "(scripts/test installs it when it can)")
    return binary
