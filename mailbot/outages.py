"""Which services are down right now, said once in the log when one goes and once when it is back.

The daemon's loop, its scheduler thread and the CLI's `once` report every infrastructure fault
here (see faults.py for what counts as one) and every success; the log gets a line only when the
state of a service changes, and `backoff()` says how long the loop should wait before trying
again: doubling from one second up to a cap.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from mailbot.faults import describe

log = logging.getLogger(__name__)


@dataclass
class _Down:
    since: float
    failures: int
    why: str


class Outages:
    """Thread-safe: the scheduler's jobs and the mail loop share one."""

    def __init__(self, *, max_backoff_seconds: float = 120.0, places: dict[str, str] | None = None):
        self.max_backoff = max(1.0, float(max_backoff_seconds))
        self.places = dict(places or {})    # service -> where it is, for the log ("database sqlite:///...")
        self._down: dict[str, _Down] = {}
        self._lock = threading.Lock()

    def failed(self, service: str, exc: BaseException | str) -> None:
        """`service` just failed with an infrastructure fault (or a one-line reason)."""
        why = exc if isinstance(exc, str) else describe(exc)
        with self._lock:
            state = self._down.get(service)
            if state is not None:
                state.failures += 1
                state.why = why
                return
            self._down[service] = _Down(time.monotonic(), 1, why)
        log.error("%s unavailable: %s; nothing is lost, retrying until it is back", self._name(service), why)

    def ok(self, service: str) -> bool:
        """`service` just worked; True when it had been down (so the caller can catch up)."""
        with self._lock:
            state = self._down.pop(service, None)
        if state is None:
            return False
        log.warning("%s available again after %.0f s (%d failed attempts)", self._name(service),
                    time.monotonic() - state.since, state.failures)
        return True

    def is_down(self, service: str) -> bool:
        with self._lock:
            return service in self._down

    def down(self) -> list[str]:
        with self._lock:
            return sorted(self._down)

    def backoff(self, services: tuple[str, ...] | None = None) -> float:
        """Seconds to wait before the next try: 1, 2, 4... up to the cap, by the worst of
        `services` (all when None) that is down; 0 when none is."""
        with self._lock:
            worst = max((s.failures for name, s in self._down.items()
                         if services is None or name in services), default=0)
        if worst == 0:
            return 0.0
        return min(self.max_backoff, 2.0 ** min(worst - 1, 20))

    def _name(self, service: str) -> str:
        place = self.places.get(service)
        return f"{service} ({place})" if place else service
