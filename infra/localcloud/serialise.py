"""One lock around moto's backends.

moto's in-memory backends are not thread-safe (a DynamoDB query iterates a dict that
a concurrent put resizes), while the local cloud runs the API, the banks and every
state-machine execution in threads. Each moto request therefore holds one re-entrant
lock; the lock is let go while a Lambda handler runs (see `released`), so a slow
step such as OCR never blocks the rest of the cloud.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from moto.core.botocore_stubber import BotocoreStubber
from moto.moto_server.werkzeug_app import DomainDispatcherApplication

_lock = threading.RLock()
_installed = False


@contextmanager
def released() -> Iterator[None]:
    """Let go of every level of the lock this thread holds, for the duration."""
    depth = 0
    while _lock._is_owned():  # type: ignore[attr-defined]
        _lock.release()
        depth += 1
    try:
        yield
    finally:
        for _ in range(depth):
            _lock.acquire()


def install() -> None:
    global _installed
    if _installed:
        return
    stub_call = BotocoreStubber.__call__
    app_call = DomainDispatcherApplication.__call__

    def locked_stub(self: BotocoreStubber, *args: Any, **kwargs: Any) -> Any:
        with _lock:
            return stub_call(self, *args, **kwargs)

    def locked_app(self: DomainDispatcherApplication, *args: Any, **kwargs: Any) -> Any:
        with _lock:
            return app_call(self, *args, **kwargs)

    BotocoreStubber.__call__ = locked_stub  # type: ignore[method-assign]
    DomainDispatcherApplication.__call__ = locked_app  # type: ignore[method-assign]
    _installed = True
