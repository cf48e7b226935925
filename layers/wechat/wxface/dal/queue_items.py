"""The outbox (events not sent yet) and the 2.0 pending checks, four partitions each."""

from __future__ import annotations

import contextlib
from typing import Any

from ..ports.records import (
    OutboxEntry,
    PendingCheck,
)
from . import items
from .items import Item
from .table_base import TableBase, _n, _outbox_key, _pending_key, _s


class QueueItems(TableBase):
    """The outbox (events not sent yet) and the 2.0 pending checks, four partitions each."""

    def put_outbox(self, entry: OutboxEntry) -> None:
        self.client.put_item(TableName=self.name, Item=items.outbox_item(entry))

    def outbox_due(self, shard: int, now: int, limit: int) -> list[OutboxEntry]:
        """Up to ``limit`` entries of one shard whose time has come."""
        return [items.outbox_entry(i) for i in self._due(f"OUTBOX#{shard}", "due", now, limit)]

    def outbox_done(self, entry_id: str) -> None:
        self.client.delete_item(TableName=self.name, Key=_outbox_key(entry_id))

    def outbox_later(self, entry_id: str, due: int, attempts: int) -> None:
        """Try again from ``due`` (unless the entry is gone: sent by another run, or erased)."""
        self._later(_outbox_key(entry_id), {"due": due, "attempts": attempts})

    def pending_due(self, shard: int, now: int, limit: int) -> list[PendingCheck]:
        return [items.pending_check(i) for i in self._due(f"PENDING#{shard}", "check_at", now, limit)]

    def pending_later(self, ref: str, check_at: int) -> None:
        self._later(_pending_key(ref), {"check_at": check_at})

    def pending_done(self, ref: str) -> None:
        self.client.delete_item(TableName=self.name, Key=_pending_key(ref))

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
