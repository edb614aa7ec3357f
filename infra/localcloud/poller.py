"""One way the simulated outside world (banks, the payment channel) pulls its SQS queue."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from typing import Any

import boto3

log = logging.getLogger("localcloud.poller")


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
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
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
                self._stop.wait(0.05)
            for message in messages:
                if self._handle(json.loads(message["Body"])):
                    sqs.delete_message(QueueUrl=self._url, ReceiptHandle=message["ReceiptHandle"])
