"""One way the simulated outside world (banks, the payment channel) pulls its SQS queue.

A real bank long-polls its queue. Here a long poll would hold the lock around moto, so a
puller instead sleeps until a message is sent to its queue (the local cloud wakes it) or
`IDLE_WAIT_SECONDS` pass (a message delayed, or back after its visibility timeout):
no receive call every 50 ms while the queue is empty, and no wait when it is not.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import boto3

log = logging.getLogger("localcloud.poller")
IDLE_WAIT_SECONDS = 0.5
_waiting: defaultdict[str, set[threading.Event]] = defaultdict(set)  # queue name -> pullers
_waiting_lock = threading.Lock()


def _wake_on_send() -> None:
    """Once per process: every message moto accepts wakes the pullers of its queue."""
    from moto.sqs.models import SQSBackend

    send = SQSBackend.send_message
    if getattr(send, "localcloud_wakes", False):
        return

    def send_message(self: Any, queue_name: str, *args: Any, **kwargs: Any) -> Any:
        message = send(self, queue_name, *args, **kwargs)
        with _waiting_lock:
            pullers = list(_waiting.get(queue_name, ()))
        for wake in pullers:
            wake.set()
        return message

    send_message.localcloud_wakes = True  # type: ignore[attr-defined]
    SQSBackend.send_message = send_message  # type: ignore[method-assign]


class QueuePuller:
    """A thread that hands each message's JSON body to `handle` and deletes the message
    when `handle` says it is done; `paused()` holds messages back (for races)."""

    def __init__(
        self,
        name: str,
        queue_url: str,
        region: str,
        handle: Callable[[dict[str, Any]], bool],
        paused: Callable[[], bool],
    ) -> None:
        self._name, self._url, self._region = name, queue_url, region
        self._handle, self._paused = handle, paused
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._queue_name = queue_url.rstrip("/").rsplit("/", 1)[-1]
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        _wake_on_send()
        with _waiting_lock:
            _waiting[self._queue_name].add(self._wake)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        with _waiting_lock:
            _waiting[self._queue_name].discard(self._wake)
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def _run(self) -> None:
        sqs = boto3.client("sqs", region_name=self._region)
        while not self._stop.is_set():
            if self._paused():
                self._stop.wait(0.05)
                continue
            try:
                out = sqs.receive_message(QueueUrl=self._url, MaxNumberOfMessages=10)
            except Exception:  # the cloud may be shutting down
                log.exception("%s could not poll", self._name)
                self._stop.wait(0.2)
                continue
            messages = out.get("Messages", [])
            if not messages:
                self._wake.wait(IDLE_WAIT_SECONDS)
                self._wake.clear()
            for message in messages:
                if self._handle(json.loads(message["Body"])):
                    sqs.delete_message(QueueUrl=self._url, ReceiptHandle=message["ReceiptHandle"])
