"""SQS adapter: one FIFO queue per funder."""

from __future__ import annotations

import json
from typing import Any

from lending.errors import InvalidRequest


class SqsFundQueue:
    def __init__(self, client: Any, queue_urls: dict[str, str]) -> None:
        self._sqs = client
        self._urls = queue_urls

    def send(self, funder_id: str, message: dict[str, Any], dedup_id: str) -> None:
        url = self._urls.get(funder_id)
        if url is None:
            raise InvalidRequest("no queue for this funder", "unknown_funder")
        # Same group and dedup id per request: SQS drops a resend within its 5-minute window,
        # and the bank's own idempotency on fund_request_id covers later redeliveries.
        self._sqs.send_message(
            QueueUrl=url,
            MessageBody=json.dumps(message, sort_keys=True),
            MessageGroupId=dedup_id,
            MessageDeduplicationId=dedup_id,
        )
