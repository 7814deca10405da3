"""Tells systemd how the service is (Type=notify in deploy/mailbot.service): READY=1 once `run`
has started, WATCHDOG=1 after each loop round (systemd restarts a daemon that has been silent
for WatchdogSec, e.g. one stuck on a dead connection), STOPPING=1 on the way out.

Outside systemd (NOTIFY_SOCKET unset: a terminal, a container, the tests) it does nothing.
"""

from __future__ import annotations

import os
from typing import Mapping

import sdnotify


class ServiceNotifier:
    def __init__(self, environ: Mapping[str, str] = os.environ):
        self._notifier = sdnotify.SystemdNotifier() if environ.get("NOTIFY_SOCKET") else None

    @property
    def active(self) -> bool:
        return self._notifier is not None

    def ready(self) -> None:
        self._send("READY=1")

    def alive(self) -> None:
        self._send("WATCHDOG=1")

    def stopping(self) -> None:
        self._send("STOPPING=1")

    def _send(self, state: str) -> None:
        if self._notifier is not None:
            self._notifier.notify(state)  # sdnotify never raises: a lost datagram must not stop mail
