"""The outbox (events not sent yet) and the 2.0 pending checks, ``QueueShards`` partitions each."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

from ..ports.records import (
    SHARD_COUNTS,
    OutboxEntry,
    PendingCheck,
)
from . import items
from .batches import batch_write
from .items import Item
from .table_base import TableBase, _n, _outbox_key, _pending_key, _s

MAX_SHARDS = SHARD_COUNTS[-1]


class QueueItems(TableBase):
    """The outbox (events not sent yet) and the 2.0 pending checks, ``QueueShards`` partitions each."""

    def queue_shards_to_read(self, turn: int) -> list[int]:
        """The partitions a run of the emitter or the sweep reads: every one of the current count
        and, in turn (``turn``: the run's minute), one of those a larger count would have used, so
        that what was written before ``QueueShards`` was lowered is still sent and swept (each
        such partition once every ``64 - QueueShards`` runs)."""
        shards = list(range(self.queue_shards))
        beyond = MAX_SHARDS - self.queue_shards
        return [*shards, self.queue_shards + turn % beyond] if beyond else shards

    def put_outbox(self, entry: OutboxEntry) -> None:
        self.client.put_item(TableName=self.name, Item=items.outbox_item(entry, self._shard(entry.id)))

    def outbox_due(self, shard: int, now: int, limit: int) -> list[OutboxEntry]:
        """Up to ``limit`` entries of one shard whose time has come."""
        return [items.outbox_entry(i) for i in self._due(f"OUTBOX#{shard}", "due", now, limit)]

    def outbox_done(self, entries: Sequence[OutboxEntry]) -> None:
        """Delete what EventBridge took: one DeleteItem, or BatchWriteItem by 25."""
        keys = [_outbox_key(e.id, self._shard(e.id, e.shard)) for e in entries]
        if len(keys) == 1:
            self.client.delete_item(TableName=self.name, Key=keys[0])
            return
        batch_write(self.client, self.name, [{"DeleteRequest": {"Key": k}} for k in keys])

    def outbox_later(self, entry: OutboxEntry, due: int, attempts: int) -> None:
        """Try again from ``due`` (unless the entry is gone: sent by another run, or erased)."""
        key = _outbox_key(entry.id, self._shard(entry.id, entry.shard))
        self._later(key, {"due": due, "attempts": attempts})

    def pending_due(self, shard: int, now: int, limit: int) -> list[PendingCheck]:
        return [items.pending_check(i) for i in self._due(f"PENDING#{shard}", "check_at", now, limit)]

    def pending_later(self, check: PendingCheck, check_at: int) -> None:
        self._later(_pending_key(check.ref, self._shard(check.ref, check.shard)), {"check_at": check_at})

    def pending_done(self, check: PendingCheck) -> None:
        key = _pending_key(check.ref, self._shard(check.ref, check.shard))
        self.client.delete_item(TableName=self.name, Key=key)

    def _due(self, pk: str, attribute: str, now: int, limit: int) -> list[dict[str, Any]]:
        paginator = self.client.get_paginator("query")
        out: list[dict[str, Any]] = []
        for page in paginator.paginate(
            TableName=self.name,
            KeyConditionExpression="pk = :pk",
            FilterExpression="#at <= :now AND #ttl > :now",
            ExpressionAttributeNames={"#at": attribute, "#ttl": "ttl"},
            ExpressionAttributeValues={":pk": _s(pk), ":now": _n(now)},
        ):
            out += page.get("Items", [])
            if len(out) >= limit:
                break
        return out[:limit]

    def _later(self, key: Item, values: dict[str, int]) -> None:
        client = self.client
        names = {f"#{k}": k for k in values}
        with contextlib.suppress(client.exceptions.ConditionalCheckFailedException):
            client.update_item(
                TableName=self.name,
                Key=key,
                UpdateExpression="SET " + ", ".join(f"#{k} = :{k}" for k in values),
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues={f":{k}": _n(v) for k, v in values.items()},
            )
