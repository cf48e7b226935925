"""DynamoDB's batch calls to the end: BatchWriteItem by 25 and BatchGetItem by 100, each batch
again with what DynamoDB left unprocessed (throttled) until it took all of it, after a backoff
(doubling from 50 ms, at most 1 s between tries), as DynamoDB's documentation advises."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

WRITES_PER_BATCH = 25
GETS_PER_BATCH = 100
FIRST_WAIT_S, LONGEST_WAIT_S = 0.05, 1.0


def batch_write(client: DynamoDBClient, table: str, requests: list[Any]) -> None:
    """``PutRequest`` / ``DeleteRequest`` entries of ``table``, every one of them done."""
    for start in range(0, len(requests), WRITES_PER_BATCH):
        pending: Any = {table: requests[start : start + WRITES_PER_BATCH]}
        wait = FIRST_WAIT_S
        while pending:
            pending = client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or None
            if pending:
                time.sleep(wait)
                wait = min(LONGEST_WAIT_S, 2 * wait)


def batch_get(
    client: DynamoDBClient, table: str, keys: list[Any], *, projection: str | None = None
) -> list[dict[str, Any]]:
    """The items of ``keys`` that exist, read consistently (in no particular order)."""
    found: list[dict[str, Any]] = []
    for start in range(0, len(keys), GETS_PER_BATCH):
        request: dict[str, Any] = {"Keys": keys[start : start + GETS_PER_BATCH], "ConsistentRead": True}
        if projection:
            request["ProjectionExpression"] = projection
        pending: Any = {table: request}
        wait = FIRST_WAIT_S
        while pending:
            resp = client.batch_get_item(RequestItems=pending)
            found += resp.get("Responses", {}).get(table, [])
            pending = resp.get("UnprocessedKeys") or None
            if pending:
                time.sleep(wait)
                wait = min(LONGEST_WAIT_S, 2 * wait)
    return found
