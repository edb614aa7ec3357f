"""moto at the costs of the services it stands for (this process only).

moto's DynamoDB is O(table) where DynamoDB is not, and its SQS O(queue): with a few
thousand applications or loans in a table, the local cloud's own bookkeeping, not the
product, decides how fast it goes. `install` patches moto so a call costs what it
touches; whatever moto decides after that (conditions, order, pages, projections) is its
own, so no answer changes.

* TransactWriteItems: moto deep-copies every table named in the transaction to roll
  back; here only the items it writes are kept (and put back if it fails).
* Query by partition key: moto walks every item of the table; here, the partition.
* Query of a GSI by its partition key: moto walks every item of the table; here, a
  bucket per index key value, built at the index's first query and kept up to date by
  every put, update, delete and rollback.
* SQS SendMessage and ReceiveMessage: moto works out every attribute of the queue, its
  message counts (a walk over every message) among them, on every message sent or
  received; here the counts are not worked out inside those calls (GetQueueAttributes
  still counts).
* Step Functions: moto's interpreter parses the state machine's definition (ANTLR, in
  pure Python) at the start of every execution, and builds a new boto3 client for every
  Lambda task; here a definition's parse tree is kept (each execution still gets its own
  evaluation components, built from it) and the Lambda client is built once per region.
  At 60 applications a minute the two were 28% of the time the process held the GIL.

`LocalCloud.start` installs it unless started with `moto_as_is=True`.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any


def install() -> None:
    """Patch moto once per process (see the module's text)."""
    from moto.dynamodb.models.table import Table

    if getattr(Table.query, "localcloud_fast", False):
        return  # once per process
    _fast_dynamodb()
    _quick_sqs_sends()
    _parse_definitions_once()
    _one_lambda_client()


def _fast_dynamodb() -> None:
    from moto.dynamodb import models
    from moto.dynamodb.models.table import Table

    class KeepTables:
        """`copy` as moto's backend module sees it: a table is not copied."""

        @staticmethod
        def deepcopy(value: Any, memo: Any = None) -> Any:
            return value if isinstance(value, Table) else copy.deepcopy(value, memo)

    backend = models.DynamoDBBackend
    transact, update = backend.transact_write_items, backend.update_item
    put, delete = Table.put_item, Table.delete_item
    query = Table.query

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        undo = []
        for entry in transact_items:
            try:
                _, op = next(iter(entry.items()))
                table = self.tables[op["TableName"]]
                hash_key, range_key = _keys(table, op.get("Key") or op["Item"])
            except (KeyError, StopIteration, TypeError):
                continue  # moto refuses it itself
            undo.append(
                (table, hash_key, range_key, copy.deepcopy(table.get_item(hash_key, range_key)))
            )
        try:
            transact(self, transact_items)
        except Exception:
            for table, hash_key, range_key, before in reversed(undo):
                _restore(table, hash_key, range_key, before)
            raise

    def update_item(self: Any, table_name: str, key: dict[str, Any], *a: Any, **k: Any) -> Any:
        item = update(self, table_name, key, *a, **k)
        table = self.get_table(table_name)
        _reindex(table, *_keys(table, key))
        return item

    def put_item(self: Any, *a: Any, **k: Any) -> Any:
        item = put(self, *a, **k)
        _reindex(self, item.hash_key, item.range_key)
        return item

    def delete_item(self: Any, hash_key: Any, range_key: Any) -> Any:
        item = delete(self, hash_key, range_key)
        _reindex(self, hash_key, range_key)
        return item

    def fast_query(self: Any, hash_key: Any, *a: Any, **k: Any) -> Any:
        candidates = _candidates(self, hash_key, a[6] if len(a) > 6 else k.get("index_name"), k)
        if candidates is None:
            return query(self, hash_key, *a, **k)
        self.all_items = lambda: candidates
        try:
            return query(self, hash_key, *a, **k)
        finally:
            del self.all_items

    models.copy = KeepTables  # type: ignore[attr-defined,assignment]
    backend.transact_write_items = transact_write_items  # type: ignore[method-assign]
    backend.update_item = update_item  # type: ignore[method-assign]
    Table.put_item = put_item  # type: ignore[method-assign]
    Table.delete_item = delete_item  # type: ignore[method-assign]
    Table.query = fast_query  # type: ignore[method-assign]
    fast_query.localcloud_fast = True  # type: ignore[attr-defined]


def _parse_definitions_once() -> None:
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser
    from moto.stepfunctions.parser.asl.parse.preprocessor import Preprocessor
    from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

    trees: dict[str, Any] = {}  # definition -> its parse tree (read-only once built)

    def entrypoint(self: Any) -> Any:
        definition = self._evaluation_details.state_machine_details.definition
        tree = trees.get(definition)
        if tree is None:
            _, tree = AmazonStateLanguageParser.parse(definition)  # raises on a bad one
            if len(trees) >= 256:  # a long-lived cloud redeploying: forget the oldest
                trees.pop(next(iter(trees)))
            trees[definition] = tree
        return Preprocessor().visit(tree)

    ExecutionWorker._get_evaluation_entrypoint = entrypoint  # type: ignore[method-assign]


def _one_lambda_client() -> None:
    import threading

    from moto.stepfunctions.parser.asl.component.state.exec.state_task import (
        lambda_eval_utils,
    )

    build = lambda_eval_utils.boto_client_for  # type: ignore[attr-defined]
    clients: dict[tuple[str, str], Any] = {}
    lock = threading.Lock()

    def client_for(region: str, service: str, state_credentials: Any = None) -> Any:
        # moto's own builder ignores the credentials too; botocore clients are thread-safe
        with lock:
            if (region, service) not in clients:
                clients[region, service] = build(region, service, state_credentials)
            return clients[region, service]

    lambda_eval_utils.boto_client_for = client_for  # type: ignore[attr-defined]


def _quick_sqs_sends() -> None:
    from moto.sqs.models import Queue, SQSBackend

    for name in (
        "approximate_number_of_messages",
        "approximate_number_of_messages_delayed",
        "approximate_number_of_messages_not_visible",
    ):
        count = getattr(Queue, name).fget

        def uncounted(queue: Any, count: Callable[[Any], int] = count) -> int:
            return 0 if queue.__dict__.get("_localcloud_uncounted") else count(queue)

        setattr(Queue, name, property(uncounted))

    def without_counts(call: Callable[..., Any]) -> Callable[..., Any]:
        def wrapped(self: Any, queue_name: str, *a: Any, **k: Any) -> Any:
            queue = self.get_queue(queue_name)
            queue.__dict__["_localcloud_uncounted"] = True
            try:
                return call(self, queue_name, *a, **k)
            finally:
                queue.__dict__.pop("_localcloud_uncounted", None)

        return wrapped

    SQSBackend.send_message = without_counts(SQSBackend.send_message)  # type: ignore[method-assign]
    SQSBackend.receive_message = without_counts(SQSBackend.receive_message)  # type: ignore[method-assign]


def _raw(value: Any) -> Any:
    """A DynamoType as a plain hashable value (None stays None)."""
    return None if value is None else (value.type, json.dumps(value.value, sort_keys=True))


def _keys(table: Any, key: dict[str, Any]) -> tuple[Any, Any]:
    from moto.dynamodb.models.dynamo_type import DynamoType

    range_attr = table.range_key_attr
    return (
        DynamoType(key[table.hash_key_attr]),
        DynamoType(key[range_attr]) if range_attr else None,
    )


def _restore(table: Any, hash_key: Any, range_key: Any, before: Any) -> None:
    """Put an item back as it was before a transaction (None: it was not there)."""
    if range_key is None:
        table.items.pop(hash_key, None)
        if before is not None:
            table.items[hash_key] = before
    else:
        table.items[hash_key].pop(range_key, None)
        if before is not None:
            table.items[hash_key][range_key] = before
        elif not table.items[hash_key]:
            del table.items[hash_key]
    _reindex(table, hash_key, range_key)


def _buckets(table: Any) -> dict[str, dict[Any, dict[Any, Any]]]:
    """GSI hash attribute -> its value -> {item key: item}, for the indexes queried."""
    buckets: dict[str, dict[Any, dict[Any, Any]]]
    buckets = table.__dict__.setdefault("_localcloud_buckets", {})
    return buckets


def _where(table: Any) -> dict[str, dict[Any, Any]]:
    """GSI hash attribute -> {item key: its value} (which bucket an item is in)."""
    found: dict[str, dict[Any, Any]] = table.__dict__.setdefault("_localcloud_where", {})
    return found


def _reindex(table: Any, hash_key: Any, range_key: Any) -> None:
    """Move an item to the buckets its attributes now say (out of all if it is gone)."""
    by_attribute = _buckets(table)
    if not by_attribute:
        return
    key = (_raw(hash_key), _raw(range_key))
    item = table.get_item(hash_key, range_key)
    for attribute, by_value in by_attribute.items():
        old = _where(table)[attribute].pop(key, None)
        if old is not None:
            by_value[old].pop(key, None)
        new = _raw(item.attrs.get(attribute)) if item is not None else None
        if new is not None:
            by_value.setdefault(new, {})[key] = item
            _where(table)[attribute][key] = new


def _bucket(table: Any, attribute: str, value: Any) -> list[Any]:
    by_attribute = _buckets(table)
    if attribute not in by_attribute:  # the first query of this index: walk the table once
        by_value: dict[Any, dict[Any, Any]] = {}
        positions: dict[Any, Any] = {}
        for item in table.all_items():
            found = _raw(item.attrs.get(attribute))
            if found is not None:
                key = (_raw(item.hash_key), _raw(item.range_key))
                by_value.setdefault(found, {})[key] = item
                positions[key] = found
        by_attribute[attribute] = by_value
        _where(table)[attribute] = positions
    return list(by_attribute[attribute].get(_raw(value), {}).values())


def _candidates(
    table: Any, hash_key: Any, index_name: str | None, kwargs: dict[str, Any]
) -> list[Any] | None:
    """The items a query can answer from (None: let moto walk the table)."""
    if not index_name and hash_key is not None:
        partition = table.items.get(hash_key)
        if partition is None:
            return []
        return list(partition.values()) if table.range_key_attr else [partition]
    conditions = kwargs.get("hash_key_conditions") or []
    if index_name and len(conditions) == 1:
        index = table.get_index(index_name)
        hashes = [key["AttributeName"] for key in index.schema if key["KeyType"] == "HASH"]
        if index in table.global_indexes and hashes == [conditions[0][0]]:
            return _bucket(table, hashes[0], conditions[0][1])
    return None
