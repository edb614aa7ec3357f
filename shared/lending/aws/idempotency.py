"""Creates a client may repeat: the `Idempotency-Key` header, on Powertools idempotency.

A mini-program that lost the reply to `POST /v1/applications` sends it again with the
same key and gets the same application back, not a second one. The record is keyed by
the caller and the key (one applicant cannot replay another's), holds the reply for a
day, and refuses the same key with another body.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyValidationError,
)

from lending.errors import Conflict

REPLAY_SECONDS = 24 * 3600


class IdempotentCreates:
    def __init__(self, client: Any, table: str) -> None:
        self._store = DynamoDBPersistenceLayer(table_name=table, boto3_client=client)
        self._config = IdempotencyConfig(
            event_key_jmespath="[subject, key]",
            payload_validation_jmespath="body",
            expires_after_seconds=REPLAY_SECONDS,
        )

    def once(
        self,
        subject: str,
        key: str,
        body: dict[str, Any],
        create: Callable[[], dict[str, Any]],
        lambda_context: Any,
    ) -> dict[str, Any]:
        """`create()`'s reply, run once per (subject, key); a repeat gets the first reply."""
        # An in-progress record expires with the invocation (a crashed create may be retried).
        self._config.register_lambda_context(lambda_context)

        @idempotent_function(  # type: ignore[untyped-decorator]
            data_keyword_argument="request", persistence_store=self._store, config=self._config
        )
        def create_once(request: dict[str, Any]) -> dict[str, Any]:
            return create()

        try:
            reply: dict[str, Any] = create_once(
                request={"subject": subject, "key": key, "body": body}
            )
        except IdempotencyValidationError as exc:
            raise Conflict(
                "this Idempotency-Key was already used with another body", "idempotency_key_reused"
            ) from exc
        except IdempotencyAlreadyInProgressError as exc:
            raise Conflict(
                "a request with this Idempotency-Key is still in progress",
                "idempotency_in_progress",
            ) from exc
        return reply
