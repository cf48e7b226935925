"""The keys issued here and their results."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..ports.records import (
    AuditEntry,
    KeyRecord,
    OrderChange,
    OrderChanged,
    OrderClosed,
    OutboxEntry,
    PendingCheck,
    StoredResult,
)
from . import items
from .batches import batch_get
from .items import Item, values_of
from .table_base import TableBase, _n, _order_key, _pending_key, _s, cancellation_reasons

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef


class FaceItems(TableBase):
    """The keys issued here and their results."""

    def put_key(
        self,
        ref: str,
        record: KeyRecord,
        issued_ms: int,
        audit: AuditEntry | None = None,
        pending: PendingCheck | None = None,
        *,
        epoch: int,
        order_id: str | None = None,
        now: int = 0,
    ) -> None:
        """The key record and the user's index entry (and the audit record, and the sweep's
        pending check) in one transaction, under the user's erasure epoch (:class:`UserErased`).
        A key from an order counts in the order's ``attempts``, on condition that the order is
        still open at ``now`` (:class:`OrderClosed` otherwise; nothing written)."""
        index: Item = {
            "pk": _s(f"USER#{record.owner}"),
            "sk": _s(f"KEY#{issued_ms:015d}#{ref}"),
            "target": _s(f"KEY#{ref}"),
            "ttl": _n(record.ttl),
        }
        counted: list[TransactWriteItemTypeDef] = []
        if order_id is not None:
            counted.append(
                {
                    "Update": {
                        "TableName": self.name,
                        "Key": _order_key(order_id),
                        "UpdateExpression": "ADD #attempts :one",
                        "ConditionExpression": "#status = :open AND #expires > :now",
                        "ExpressionAttributeNames": {
                            "#attempts": "attempts",
                            "#status": "status",
                            "#expires": "expires_at",
                        },
                        "ExpressionAttributeValues": {":one": _n(1), ":open": _s("open"), ":now": _n(now)},
                    }
                }
            )
        client = self.client
        try:
            self._transact_for_user(
                record.owner,
                epoch,
                [
                    *counted,
                    {"Put": {"TableName": self.name, "Item": items.key_item(record, ref)}},
                    {"Put": {"TableName": self.name, "Item": index}},
                    *self._audit(audit),
                    *self._put_if(items.pending_item(pending, self._shard(pending.ref)) if pending else None),
                ],
            )
        except client.exceptions.TransactionCanceledException as err:
            if counted and cancellation_reasons(err)[:1] == ["ConditionalCheckFailed"]:
                raise OrderClosed from None
            raise

    def count_key_lookup(self, ref: str) -> int | None:
        """Count one WeChat lookup of the key ``ref`` in its own record (one UpdateItem); the
        count so far, or None if the record is gone (erased, expired)."""
        client = self.client
        try:
            resp = client.update_item(
                TableName=self.name,
                Key={"pk": _s(f"KEY#{ref}"), "sk": _s("KEY")},
                UpdateExpression="ADD #n :one",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeNames={"#n": "wechat_lookups"},
                ExpressionAttributeValues={":one": _n(1)},
                ReturnValues="UPDATED_NEW",
            )
        except client.exceptions.ConditionalCheckFailedException:
            return None
        return int(values_of(resp["Attributes"])["wechat_lookups"])

    def get_key(self, ref: str) -> KeyRecord | None:
        resp = self.client.get_item(
            TableName=self.name, Key={"pk": _s(f"KEY#{ref}"), "sk": _s("KEY")}, ConsistentRead=True
        )
        return items.key_record(resp["Item"]) if "Item" in resp else None

    def get_result_and_key(self, ref: str) -> tuple[StoredResult | None, KeyRecord | None]:
        """The stored result and the key record of one reference, in one read."""
        wanted = [{"pk": _s(f"RESULT#{ref}"), "sk": _s("RESULT")}, {"pk": _s(f"KEY#{ref}"), "sk": _s("KEY")}]
        result: StoredResult | None = None
        key: KeyRecord | None = None
        for item in batch_get(self.client, self.name, wanted):
            if item["sk"] == _s("RESULT"):
                result = items.stored_result(item)
            else:
                key = items.key_record(item)
        return result, key

    def get_result(self, ref: str) -> StoredResult | None:
        resp = self.client.get_item(
            TableName=self.name, Key={"pk": _s(f"RESULT#{ref}"), "sk": _s("RESULT")}, ConsistentRead=True
        )
        return items.stored_result(resp["Item"]) if "Item" in resp else None

    def put_result(
        self,
        ref: str,
        result: StoredResult,
        verified_at: int,
        audit: AuditEntry | None = None,
        outbox: OutboxEntry | None = None,
        settles: str | None = None,
        *,
        epoch: int,
        order: OrderChange | None = None,
    ) -> bool:
        """Store a final result once, with the event that reports it (``outbox``) and without the
        pending check it settles (``settles``: a 2.0 key's reference), all or nothing, under the
        user's erasure epoch (:class:`UserErased`). False if a result is already stored under
        ``ref`` (then nothing is written). ``order``: what the result changes in its key's order
        (:class:`OrderChanged` if the order moved on since it was read; nothing written)."""
        owner, body, ttl = result.owner, result.body, result.ttl
        index: Item = {
            "pk": _s(f"USER#{owner}"),
            "sk": _s(f"RESULT#{verified_at:012d}#{ref}"),
            "target": _s(f"RESULT#{ref}"),
            "data": _s(body),
            "ttl": _n(ttl),
        }
        client = self.client
        try:
            self._transact_for_user(
                owner,
                epoch,
                [
                    {
                        "Put": {
                            "TableName": self.name,
                            "Item": items.result_item(result, ref),
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                    *self._order_change(order),
                    {"Put": {"TableName": self.name, "Item": index}},
                    *self._audit(audit),
                    *self._put_if(items.outbox_item(outbox, self._shard(outbox.id)) if outbox else None),
                    # Written under the current count; a check written under another (QueueShards
                    # changed since) stays for the sweep, which finds the result and deletes it.
                    *self._delete_if(_pending_key(settles, self._shard(settles)) if settles else None),
                ],
            )
        except client.exceptions.TransactionCanceledException as err:
            # Only the result's own condition failing means "stored first"; anything else (a
            # conflict that outlasted the retries, throttling) is raised: nothing was stored.
            reasons = cancellation_reasons(err)
            if reasons[:1] == ["ConditionalCheckFailed"]:
                return False
            if order is not None and reasons[1:2] == ["ConditionalCheckFailed"]:
                raise OrderChanged from None
            raise
        return True

    def latest_result(self, owner: str, now: int) -> str | None:
        """The newest unexpired result in the user's index (TTL deletes late, so filter), as the
        answer's JSON."""
        paginator = self.client.get_paginator("query")
        for page in paginator.paginate(
            TableName=self.name,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            FilterExpression="#ttl > :now",
            ExpressionAttributeNames={"#ttl": "ttl"},
            ExpressionAttributeValues={":pk": _s(f"USER#{owner}"), ":prefix": _s("RESULT#"), ":now": _n(now)},
            ScanIndexForward=False,
            ConsistentRead=True,
            PaginationConfig={"PageSize": 25},
        ):
            for item in page.get("Items", []):
                body: str = values_of(item)["data"]
                return body
        return None
