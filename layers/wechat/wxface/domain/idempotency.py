"""``Idempotency-Key`` on ``POST /v1/face/keys``: Powertools Idempotency on the stack's table.

The same key from the same user with the same body within 10 minutes answers what the first
request answered, without calling WeChat or counting against any limit again; the same key with
another body is a 409. Only HMACs enter the record's hashes: Powertools hashes what it is
given, and an unkeyed hash of a name and an ID number could be brute-forced.

Records live in the owner's own partition (``IDEMPOTENCY#<owner>``, the openid's HMAC), so an
erasure finds and deletes them (they hold the key answered), and no partition is shared by every
user's key requests.

Erasure wins every race with them (docs/architecture.md, "Erasure wins every race"):

- the session's erasure epoch is part of the record's id, so a session issued after an erasure
  never meets a record of a request begun before it, even with the same ``Idempotency-Key`` (the
  shipped client retries with the same key after logging in again);
- a record is completed, or deleted after a failure, only by the request that wrote it (a writer
  token set with the in-progress record, checked in the same write): Powertools' own layer
  completes with an unconditional ``UpdateItem``, which would re-create a record an erasure
  deleted meanwhile;
- a stored answer is replayed only after the session is checked against the user's erasure epoch.
"""

from __future__ import annotations

import contextlib
import json
import re
import time
import uuid
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from .errors import (
    IdempotencyConflict,
    IdempotencyInProgress,
    InvalidIdempotencyKey,
    SessionEnded,
    StoreUnavailable,
)
from .stack_keys import DataKey

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency.persistence.base import BasePersistenceLayer
    from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord
    from aws_lambda_powertools.utilities.typing import LambdaContext
    from mypy_boto3_dynamodb import DynamoDBClient

HEADER = "idempotency-key"
TTL_S = 600
_VALID = re.compile(r"[\x21-\x7e]{1,128}")
IN_PROGRESS_WAIT_S = 3.0
IN_PROGRESS_POLL_S = 0.2
# Whose request is running (the openid's HMAC): the partition its record goes to.
_OWNER: ContextVar[str] = ContextVar("wxface_idempotency_owner")
# The running request's writer token: written with its in-progress record, required to complete
# or delete it.
_WRITER: ContextVar[str] = ContextVar("wxface_idempotency_writer")
# Checks, before a stored answer is replayed, that the caller's session was not ended since.
_STILL_VALID: ContextVar[Callable[[], None]] = ContextVar("wxface_idempotency_still_valid")
WRITER_ATTR = "writer"


class RecordErased(Exception):
    """The running request's record is gone (an erasure deleted it) or is not its own: it is
    neither completed nor deleted."""


def partition(owner: str) -> str:
    return f"IDEMPOTENCY#{owner}"


def current_owner() -> str:
    """The owner of the idempotent call running now (for persistence layers)."""
    return _OWNER.get()


def current_writer() -> str:
    """The writer token of the idempotent call running now (for persistence layers)."""
    return _WRITER.get()


def _replay(response: Any, idempotent_data: DataRecord) -> Any:
    """Powertools' response hook, called only for a replayed answer: the session first."""
    _STILL_VALID.get()()
    return response


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
            event_key_jmespath="[owner, key, epoch]",
            payload_validation_jmespath="body",
            raise_on_no_idempotency_key=True,
            expires_after_seconds=TTL_S,
            response_hook=_replay,
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
        """Records in the stack's table, in their owner's partition, expiring through its TTL,
        completed or deleted only by the request that wrote them."""
        from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

        class Stamped:
            """The DynamoDB client as the layer uses it: the in-progress record it puts carries
            the running request's writer token."""

            def __init__(self, inner: DynamoDBClient) -> None:
                self._inner = inner

            def put_item(self, **request: Any) -> Any:
                request["Item"] = {**request["Item"], WRITER_ATTR: {"S": current_writer()}}
                return self._inner.put_item(**request)

            def __getattr__(self, name: str) -> Any:
                return getattr(self._inner, name)

        class OwnerPartitioned(DynamoDBPersistenceLayer):
            # Powertools puts every record under one static partition; this layer puts each in
            # its owner's, and completes or deletes a record only under its writer token. The
            # methods overridden are private: tests/unit/test_private_apis.py fails on the
            # upgrade that changes them.
            def _get_key(self, idempotency_key: str) -> dict[str, Any]:
                return {"pk": {"S": partition(current_owner())}, "sk": {"S": idempotency_key}}

            def _update_record(self, data_record: DataRecord) -> None:
                values: dict[str, Any] = {
                    ":response_data": {"S": data_record.response_data},
                    ":expiry": {"N": str(data_record.expiry_timestamp)},
                    ":status": {"S": data_record.status},
                    ":writer": {"S": current_writer()},
                }
                names = {
                    "#response_data": self.data_attr,
                    "#expiry": self.expiry_attr,
                    "#status": self.status_attr,
                    "#writer": WRITER_ATTR,
                }
                update = "SET #response_data = :response_data, #expiry = :expiry, #status = :status"
                if self.payload_validation_enabled:
                    update += ", #validation_key = :validation_key"
                    values[":validation_key"] = {"S": data_record.payload_hash}
                    names["#validation_key"] = self.validation_key_attr
                try:
                    client.update_item(
                        TableName=self.table_name,
                        Key=self._get_key(data_record.idempotency_key),
                        UpdateExpression=update,
                        ConditionExpression="#writer = :writer",
                        ExpressionAttributeNames=names,
                        ExpressionAttributeValues=values,
                    )
                except client.exceptions.ConditionalCheckFailedException:
                    raise RecordErased from None

            def _delete_record(self, data_record: DataRecord) -> None:
                # Gone already (erased), or another request's: then nothing of ours to delete.
                with contextlib.suppress(client.exceptions.ConditionalCheckFailedException):
                    client.delete_item(
                        TableName=self.table_name,
                        Key=self._get_key(data_record.idempotency_key),
                        ConditionExpression="#writer = :writer",
                        ExpressionAttributeNames={"#writer": WRITER_ATTR},
                        ExpressionAttributeValues={":writer": {"S": current_writer()}},
                    )

        store = OwnerPartitioned(
            table_name=table_name,
            key_attr="pk",
            sort_key_attr="sk",
            expiry_attr="ttl",  # the table's TTL attribute: DynamoDB deletes expired records
            boto3_client=client,
        )
        store.client = Stamped(client)  # type: ignore[assignment]

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
        epoch: int,
        body_mac: str,
        work: Callable[[], dict[str, Any]],
        still_valid: Callable[[], None],
        context: LambdaContext | None = None,
    ) -> dict[str, Any]:
        """``work()`` once per (owner, key, erasure epoch); ``still_valid()`` raises if the
        caller's session ended, and runs before any stored answer is replayed."""
        if context is not None:
            self._config.register_lambda_context(context)  # in-progress records end with the invocation
        running = (_OWNER.set(owner), _WRITER.set(uuid.uuid4().hex), _STILL_VALID.set(still_valid))
        try:
            return self._once({"owner": owner, "key": key, "epoch": str(epoch), "body": body_mac}, work)
        finally:
            _STILL_VALID.reset(running[2])
            _WRITER.reset(running[1])
            _OWNER.reset(running[0])

    def _once(self, request: dict[str, str], work: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        from aws_lambda_powertools.utilities.idempotency.exceptions import (
            IdempotencyAlreadyInProgressError,
            IdempotencyPersistenceLayerError,
            IdempotencyValidationError,
        )

        deadline = self._clock() + IN_PROGRESS_WAIT_S
        while True:
            try:
                answer: dict[str, Any] = self._run(request=request, work=work)
                return answer
            except IdempotencyValidationError:
                raise IdempotencyConflict from None
            except IdempotencyPersistenceLayerError as err:
                if isinstance(err.__cause__, RecordErased):
                    raise SessionEnded from None  # erased while it ran: its answer is not kept
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
    epoch: int,
    body: Mapping[str, Any],
    data_key: DataKey,
    calls: IdempotentCalls,
    work: Callable[[], dict[str, Any]],
    still_valid: Callable[[], None],
    context: LambdaContext | None = None,
) -> dict[str, Any]:
    """``work()`` through :class:`IdempotentCalls`, keyed by the user, the Idempotency-Key and
    the session's erasure epoch, the body compared by its HMAC (never by a plain hash of a name
    and an ID number)."""
    canonical = json.dumps(dict(body), sort_keys=True, ensure_ascii=False)
    return calls(
        owner=data_key.owner(openid),
        key=key,
        epoch=epoch,
        body_mac=data_key.mac("idempotency-body", canonical),
        work=work,
        still_valid=still_valid,
        context=context,
    )
