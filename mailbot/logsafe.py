"""Exceptions summarised for logs without their messages: a message deep in a library can quote
a file name or a form value, and logs must never carry patient data."""

from __future__ import annotations

import traceback
from pathlib import Path


def where(exc: BaseException) -> str:
    """'ValueError at mailbot/service.py:212 in _apply' (innermost frame of our own code if any)."""
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if "/mailbot/" in f.filename.replace("\\", "/")]
    frame = (ours or frames or [None])[-1]
    if frame is None:
        return type(exc).__name__
    path = Path(frame.filename)
    short = "/".join(path.parts[-2:])
    return f"{type(exc).__name__} at {short}:{frame.lineno} in {frame.name}"
