"""``Idempotency-Key`` on ``POST /v1/face/keys``: Powertools Idempotency on the stack's table.

The same key from the same user with the same body within 10 minutes answers what the first
request answered, without calling WeChat or counting against any limit again; the same key with
another body is a 409. Only HMACs enter the record's hashes: Powertools hashes what it is
given, and an unkeyed hash of a name and an ID number could be brute-forced.

Records live in the owner's own partition (``IDEMPOTENCY#<owner>``, the openid's HMAC), so an
erasure finds and deletes them (they hold the key answered), and no partition is shared by every
user's key requests.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from .errors import IdempotencyConflict, IdempotencyInProgress, InvalidIdempotencyKey, StoreUnavailable
from .stack_keys import DataKey

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency.persistence.base import BasePersistenceLayer
    from aws_lambda_powertools.utilities.typing import LambdaContext
    from mypy_boto3_dynamodb import DynamoDBClient

HEADER = "idempotency-key"
TTL_S = 600
_VALID = re.compile(r"[\x21-\x7e]{1,128}")
IN_PROGRESS_WAIT_S = 3.0
IN_PROGRESS_POLL_S = 0.2
# Whose request is running (the openid's HMAC): the partition its record goes to.
_OWNER: ContextVar[str] = ContextVar("wxface_idempotency_owner")


def partition(owner: str) -> str:
    return f"IDEMPOTENCY#{owner}"


def current_owner() -> str:
    """The owner of the idempotent call running now (for persistence layers)."""
    return _OWNER.get()


def checked_key(value: str | None) -> str | None:
    """An ``Idempotency-Key`` as sent (None: absent); refused unless 1-128 visible ASCII."""
    if value is not None and not _VALID.fullmatch(value):
        raise InvalidIdempotencyKey
    return value


class IdempotentCalls:
    """Runs ``work()`` at most once per (owner, key) in :data:`TTL_S`, replaying its answer.

    ``store`` is a Powertools persistence layer: :meth:`on_table` gives the stack's DynamoDB
    table (what the functions use); tests may give another layer with the same semantics.
    """

    def __init__(
        self,
        store: BasePersistenceLayer,
        *,
        erase: Callable[[str], None],
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function

        self._config = IdempotencyConfig(
            event_key_jmespath="[owner, key]",
            payload_validation_jmespath="body",
            raise_on_no_idempotency_key=True,
            expires_after_seconds=TTL_S,
        )

        def run(*, request: dict[str, str], work: Callable[[], dict[str, Any]]) -> dict[str, Any]:
            return work()

        self._run = idempotent_function(
            data_keyword_argument="request", persistence_store=store, config=self._config
        )(run)
        self._sleep = sleep
        self._clock = clock
        self.erase = erase  # erase(owner): delete every record of the owner

    @classmethod
    def on_table(
        cls,
        table_name: str,
        client: DynamoDBClient,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> IdempotentCalls:
        """Records in the stack's table, in their owner's partition, expiring through its TTL."""
        from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

        class OwnerPartitioned(DynamoDBPersistenceLayer):
            # Powertools puts every record under one static partition; this layer puts each in
            # its owner's. `_get_key` is private: tests/unit/test_private_apis.py fails on the
            # upgrade that changes it.
            def _get_key(self, idempotency_key: str) -> dict[str, Any]:
                return {"pk": {"S": partition(current_owner())}, "sk": {"S": idempotency_key}}

        store = OwnerPartitioned(
            table_name=table_name,
            key_attr="pk",
            sort_key_attr="sk",
            expiry_attr="ttl",  # the table's TTL attribute: DynamoDB deletes expired records
            boto3_client=client,
        )

        def erase(owner: str) -> None:
            keys: list[dict[str, Any]] = []
            for page in client.get_paginator("query").paginate(
                TableName=table_name,
                KeyConditionExpression="pk = :pk",
                ExpressionAttributeValues={":pk": {"S": partition(owner)}},
                ProjectionExpression="pk, sk",
                ConsistentRead=True,
            ):
                keys.extend({"pk": item["pk"], "sk": item["sk"]} for item in page.get("Items", []))
            for start in range(0, len(keys), 25):
                pending: Any = {table_name: [{"DeleteRequest": {"Key": k}} for k in keys[start : start + 25]]}
                while pending:
                    pending = client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or None

        return cls(store, erase=erase, sleep=sleep, clock=clock)

    def __call__(
        self,
        *,
        owner: str,
        key: str,
        body_mac: str,
        work: Callable[[], dict[str, Any]],
        context: LambdaContext | None = None,
    ) -> dict[str, Any]:
        if context is not None:
            self._config.register_lambda_context(context)  # in-progress records end with the invocation
        running = _OWNER.set(owner)
        try:
            return self._once(owner, key, body_mac, work)
        finally:
            _OWNER.reset(running)

    def _once(
        self, owner: str, key: str, body_mac: str, work: Callable[[], dict[str, Any]]
    ) -> dict[str, Any]:
        from aws_lambda_powertools.utilities.idempotency.exceptions import (
            IdempotencyAlreadyInProgressError,
            IdempotencyPersistenceLayerError,
            IdempotencyValidationError,
        )

        deadline = self._clock() + IN_PROGRESS_WAIT_S
        while True:
            try:
                answer: dict[str, Any] = self._run(
                    request={"owner": owner, "key": key, "body": body_mac}, work=work
                )
                return answer
            except IdempotencyValidationError:
                raise IdempotencyConflict from None
            except IdempotencyPersistenceLayerError:
                raise StoreUnavailable from None
            except IdempotencyAlreadyInProgressError:
                # A double tap: the first request is still running. Wait a little for its answer.
                if self._clock() >= deadline:
                    raise IdempotencyInProgress from None
                self._sleep(IN_PROGRESS_POLL_S)


def at_most_once(
    key: str,
    *,
    openid: str,
    body: Mapping[str, Any],
    data_key: DataKey,
    calls: IdempotentCalls,
    work: Callable[[], dict[str, Any]],
    context: LambdaContext | None = None,
) -> dict[str, Any]:
    """``work()`` through :class:`IdempotentCalls`, keyed by the user and the Idempotency-Key, the
    body compared by its HMAC (never by a plain hash of a name and an ID number)."""
    canonical = json.dumps(dict(body), sort_keys=True, ensure_ascii=False)
    return calls(
        owner=data_key.owner(openid),
        key=key,
        body_mac=data_key.mac("idempotency-body", canonical),
        work=work,
        context=context,
    )
