"""A controllable clock: the local cloud's 'now', moved forward by tests and the demo."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta


class ControllableClock:
    def __init__(self, start: datetime | None = None) -> None:
        self._offset = timedelta(0)
        self._frozen = start
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            base = self._frozen if self._frozen is not None else datetime.now(UTC)
            return base + self._offset

    def advance(self, delta: timedelta) -> None:
        with self._lock:
            self._offset += delta
