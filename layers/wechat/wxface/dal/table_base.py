"""What every kind of item shares: the client, transactions conditioned on the user's erasure
epoch, the order changes a result's transaction carries, and the items' keys."""

from __future__ import annotations

import contextlib
import random
import time
import uuid
from typing import TYPE_CHECKING, Any

from ..ports.records import (
    DEFAULT_SHARDS,
    SHARD_COUNTS,
    AuditEntry,
    OrderChange,
    OrderRecord,
    UserErased,
    shard_of,
)
from . import items
from .aws import AwsClients
from .items import Item, values_of

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef, TransactWriteItemTypeDef


def _s(value: str) -> AttributeValueTypeDef:
    return {"S": value}


def _n(value: int | float) -> AttributeValueTypeDef:
    return {"N": str(int(value))}


def _outbox_key(entry_id: str, shard: int) -> Item:
    return {"pk": _s(f"OUTBOX#{shard}"), "sk": _s(entry_id)}


def _pending_key(ref: str, shard: int) -> Item:
    return {"pk": _s(f"PENDING#{shard}"), "sk": _s(ref)}


def _order_key(order_id: str, part: str = "ORDER") -> Item:
    return {"pk": _s(f"ORDER#{order_id}"), "sk": _s(part)}


def _user_key(owner: str) -> Item:
    return {"pk": _s(f"LIMITS#{owner}"), "sk": _s("LIMITS")}


# The user's erasure epoch (in ``LIMITS#<owner>``): an erasure adds one; a session carries the
# epoch read at login, a 2.0 pending check the one its key was issued under. Every write made for
# the user is conditioned on it not having moved past the writer's.
EPOCH = "erasure_epoch"
_EPOCH_HOLDS = "(attribute_not_exists(#ep) OR #ep <= :ep)"


# A transaction cancelled because another one was touching the same item is retried, as DynamoDB's
# documentation advises; a few attempts with jittered backoff, under one ClientRequestToken so that
# a retry of a transaction that did commit changes nothing (DynamoDB keeps the token 10 minutes).
TRANSACTION_ATTEMPTS = 4
TRANSACTION_BACKOFF_S = 0.05


# A single write to an item a transaction is holding fails with TransactionConflictException,
# which botocore's standard retry mode does not retry: the user's own item is read by every
# write's erasure check, so its updates are retried here.
CONFLICT_ATTEMPTS = 5
CONFLICT_BACKOFF_S = 0.02


def cancellation_reasons(err: Exception) -> list[str]:
    """The per-item ``Code`` of a ``TransactionCanceledException`` ("None" where an item was fine)."""
    reasons = getattr(err, "response", {}).get("CancellationReasons") or []
    return [str(r.get("Code", "None")) for r in reasons]


class TableBase:
    """The table by name, its client, and the writes every kind of item makes."""

    def __init__(
        self, name: str, clients: AwsClients | None = None, *, queue_shards: int = DEFAULT_SHARDS
    ) -> None:
        if queue_shards not in SHARD_COUNTS:
            raise ValueError(f"queue_shards must be one of {SHARD_COUNTS}")
        self.name = name
        self._clients = clients or AwsClients()
        self.queue_shards = queue_shards  # QueueShards: the partitions new queue items go to

    def _shard(self, item_id: str, known: int | None = None) -> int:
        """The partition of a queue item: the one it was read from, else the current count's."""
        return shard_of(item_id, self.queue_shards) if known is None else known

    @property
    def client(self) -> DynamoDBClient:
        return self._clients.dynamodb()

    def _transact_for_user(self, owner: str, epoch: int, items: list[TransactWriteItemTypeDef]) -> None:
        """:meth:`_transact` of writes made for ``owner``, with the check (last, a write) that no
        erasure of the user began after ``epoch``: :class:`UserErased` if one did, nothing
        written. Any other cancellation is raised as it came."""
        check: TransactWriteItemTypeDef = {
            "ConditionCheck": {
                "TableName": self.name,
                "Key": _user_key(owner),
                "ConditionExpression": _EPOCH_HOLDS,
                "ExpressionAttributeNames": {"#ep": EPOCH},
                "ExpressionAttributeValues": {":ep": _n(epoch)},
            }
        }
        client = self.client
        try:
            self._transact([*items, check])
        except client.exceptions.TransactionCanceledException as err:
            if cancellation_reasons(err)[-1:] == ["ConditionalCheckFailed"]:
                raise UserErased from None
            raise

    def _audit(self, audit: AuditEntry | None) -> list[TransactWriteItemTypeDef]:
        return self._put_if(items.audit_item(audit) if audit else None)

    def _put_if(self, item: Item | None) -> list[TransactWriteItemTypeDef]:
        """A transaction's Put of ``item``, if there is one."""
        return [{"Put": {"TableName": self.name, "Item": item}}] if item else []

    def _delete_if(self, key: Item | None) -> list[TransactWriteItemTypeDef]:
        return [{"Delete": {"TableName": self.name, "Key": key}}] if key else []

    def _transact(self, items: list[TransactWriteItemTypeDef]) -> None:
        """TransactWriteItems, retried while it is cancelled only by conflicts with other
        transactions. Any other cancellation (a failed condition) is raised at once."""
        client = self.client
        token = uuid.uuid4().hex
        for attempt in range(1, TRANSACTION_ATTEMPTS + 1):
            try:
                client.transact_write_items(TransactItems=items, ClientRequestToken=token)
                return
            except client.exceptions.TransactionCanceledException as err:
                reasons = cancellation_reasons(err)
                conflict_only = "TransactionConflict" in reasons and all(
                    r in ("None", "TransactionConflict") for r in reasons
                )
                if not conflict_only or attempt == TRANSACTION_ATTEMPTS:
                    raise
            time.sleep(random.uniform(0, TRANSACTION_BACKOFF_S * 2**attempt))  # noqa: S311 - jitter, not a secret

    @staticmethod
    def _order_identity(record: OrderRecord, identity: str) -> Item:
        return {
            **_order_key(record.order_id, "IDENTITY"),
            "sealed": _s(identity),
            "ttl": _n(record.expires_at),
        }

    @staticmethod
    def _order_index(record: OrderRecord) -> Item:
        return {
            "pk": _s(f"USER#{record.owner}"),
            "sk": _s(record.index_sk()),
            "target": _s(f"ORDER#{record.order_id}"),
            "ttl": _n(record.ttl),
        }

    def _order_change(self, change: OrderChange | None) -> list[TransactWriteItemTypeDef]:
        """The writes of ``change``: the order's update first (conditioned on its revision), its
        index entry's TTL, the photo ticket put and the identity dropped where asked."""
        if change is None:
            return []
        record = change.record
        values: dict[str, str | int] = {
            "status": record.status,
            "rev": record.rev,
            "ttl": record.ttl,
            "results_until": record.results_until,
        }
        if record.latest_ref:
            values["latest_ref"] = record.latest_ref
        if record.passed_ref:
            values["passed_ref"] = record.passed_ref
        names = {f"#{k}": k for k in values}
        attr: dict[str, AttributeValueTypeDef] = {
            f":{k}": (_n(v) if isinstance(v, int) else _s(v)) for k, v in values.items()
        }
        attr[":seen"] = _n(change.rev)
        writes: list[TransactWriteItemTypeDef] = [
            {
                "Update": {
                    "TableName": self.name,
                    "Key": _order_key(record.order_id),
                    "UpdateExpression": "SET " + ", ".join(f"#{k} = :{k}" for k in values),
                    "ConditionExpression": "#rev = :seen",
                    "ExpressionAttributeNames": names,
                    "ExpressionAttributeValues": attr,
                }
            },
            {"Put": {"TableName": self.name, "Item": self._order_index(record)}},
        ]
        if change.photo is not None:
            photo: Item = {
                **_order_key(record.order_id, "PHOTO"),
                "ticket": _s(change.photo.ticket),
                "ttl": _n(change.photo.ttl),
            }
            writes.append({"Put": {"TableName": self.name, "Item": photo}})
        if change.drop_identity:
            writes.append(
                {"Delete": {"TableName": self.name, "Key": _order_key(record.order_id, "IDENTITY")}}
            )
        return [*writes, *self._audit(change.audit)]

    def _index_targets(self, owner: str, prefix: str) -> list[str]:
        paginator = self.client.get_paginator("query")
        targets: list[str] = []
        for page in paginator.paginate(
            TableName=self.name,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues={":pk": _s(f"USER#{owner}"), ":prefix": _s(prefix)},
            ProjectionExpression="target",
            ConsistentRead=True,
        ):
            targets += [str(values_of(item)["target"]) for item in page.get("Items", [])]
        return targets

    def _decrement(self, pk: str, sk: str, attribute: str) -> None:
        """Take one off a count that is above zero (never below: an undo cannot go negative)."""
        client = self.client
        with contextlib.suppress(client.exceptions.ConditionalCheckFailedException):
            self._update_user(
                TableName=self.name,
                Key={"pk": _s(pk), "sk": _s(sk)},
                UpdateExpression="ADD #n :minus",
                ConditionExpression="attribute_exists(#n) AND #n > :zero",
                ExpressionAttributeNames={"#n": attribute},
                ExpressionAttributeValues={":minus": _n(-1), ":zero": _n(0)},
            )

    def _update_user(self, **request: Any) -> Any:
        """UpdateItem on an item the erasure checks of other requests' transactions read (the
        user's own item): retried while such a transaction holds it."""
        client = self.client
        for attempt in range(1, CONFLICT_ATTEMPTS + 1):
            try:
                return client.update_item(**request)
            except client.exceptions.TransactionConflictException:
                if attempt == CONFLICT_ATTEMPTS:
                    raise
            time.sleep(random.uniform(0, CONFLICT_BACKOFF_S * 2**attempt))  # noqa: S311 - jitter, not a secret
        raise AssertionError("unreachable")  # pragma: no cover
