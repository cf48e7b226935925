"""The user's own item (per-user limits, the erasure epoch) and erasure."""

from __future__ import annotations

from typing import Any

from ..ports.records import (
    AuditEntry,
    OutboxEntry,
    UserCount,
    shards_ever,
)
from . import items
from .batches import batch_get, batch_write
from .items import Item, values_of
from .table_base import (
    _EPOCH_HOLDS,
    EPOCH,
    TableBase,
    _n,
    _order_key,
    _outbox_key,
    _pending_key,
    _s,
    _user_key,
)


class UserItems(TableBase):
    """The user's own item (per-user limits, the erasure epoch) and erasure."""

    def erase_user(self, owner: str, audit: AuditEntry | None = None) -> int:
        """Delete every key record and result of ``owner``, and the user's index (idempotent); the
        audit record, if any, is written in the same batch."""
        keys: list[Item] = []
        first: list[Item] = []  # the orders' sealed identities: gone before anything else
        extra: list[Item] = []
        paginator = self.client.get_paginator("query")
        for page in paginator.paginate(
            TableName=self.name,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": _s(f"USER#{owner}")},
            ProjectionExpression="pk, sk, target",
            ConsistentRead=True,
        ):
            for item in page.get("Items", []):
                keys.append({"pk": item["pk"], "sk": item["sk"]})
                target: str = values_of(item)["target"]
                kind, ref = target.split("#", 1)
                keys.append({"pk": _s(target), "sk": _s(kind)})
                # What else names the user's key, result or order: its event not sent yet (the
                # openid, sealed), a 2.0 key's pending check (the openid and verify_id, sealed),
                # an order's sealed identity and photo ticket.
                if kind == "ORDER":
                    first.append(_order_key(ref, "IDENTITY"))
                    extra.append(_order_key(ref, "PHOTO"))
                elif kind == "RESULT":  # under every partition count it may have been written with
                    rid = OutboxEntry.result_id(ref)
                    extra += [_outbox_key(rid, shard) for shard in shards_ever(rid)]
                else:
                    extra += [_pending_key(ref, shard) for shard in shards_ever(ref)]
        writes: list[Any] = [{"DeleteRequest": {"Key": k}} for k in [*first, *keys, *extra]]
        if audit is not None:
            writes.insert(0, {"PutRequest": {"Item": items.audit_item(audit)}})
        batch_write(self.client, self.name, writes)
        return len(keys) // 2

    def user_outbox(self, owner: str) -> list[OutboxEntry]:
        """The events of ``owner``'s results that EventBridge has not taken yet."""
        refs = [t.split("#", 1)[1] for t in self._index_targets(owner, "RESULT#")]
        ids = [OutboxEntry.result_id(r) for r in refs]
        # Under every partition count the entry may have been written with (QueueShards changed).
        keys = [_outbox_key(i, shard) for i in ids for shard in shards_ever(i)]
        return [items.outbox_entry(i) for i in batch_get(self.client, self.name, keys)]

    def count_user(
        self, owner: str, scope: str, window: int, *, below: int, issued_at: int, epoch: int, ttl: int
    ) -> UserCount:
        """Count one request of ``owner`` in ``scope``'s current window, unless it already
        reached ``below`` or the caller's session (of erasure epoch ``epoch``) was ended by an
        erasure; the window before last is dropped in the same write. One UpdateItem: the
        session check costs no read of its own. (``issued_at`` serves the mark erasures wrote
        before the epoch existed, ``sessions_after``, which no erasure writes any more.)"""
        client = self.client
        current, previous = f"{scope}#{window}", f"{scope}#{window - 1}"
        names = {
            "#cur": current,
            "#old": f"{scope}#{window - 2}",
            "#after": "sessions_after",
            "#ep": EPOCH,
            "#ttl": "ttl",
        }
        try:
            resp = self._update_user(
                TableName=self.name,
                Key=_user_key(owner),
                UpdateExpression="ADD #cur :one SET #ttl = :ttl REMOVE #old",
                ConditionExpression=f"{_EPOCH_HOLDS} AND (attribute_not_exists(#after) OR #after < :iat) "
                "AND (attribute_not_exists(#cur) OR #cur < :below)",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues={
                    ":one": _n(1),
                    ":ttl": _n(ttl),
                    ":ep": _n(epoch),
                    ":iat": _n(issued_at),
                    ":below": _n(below),
                },
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except client.exceptions.ConditionalCheckFailedException as err:
            old = getattr(err, "response", {}).get("Item")
            if old is None:  # not returned: read what refused it
                old = client.get_item(TableName=self.name, Key=_user_key(owner), ConsistentRead=True).get(
                    "Item", {}
                )
            state = values_of(old)
            ended = int(state.get(EPOCH, 0)) > epoch or int(state.get("sessions_after", -1)) >= issued_at
            return UserCount(counted=False, sessions_ended=ended)
        state = values_of(resp["Attributes"])
        return UserCount(
            counted=True,
            sessions_ended=False,
            current=int(state.get(current, 0)),
            previous=int(state.get(previous, 0)),
            recent_keys=int(state.get(f"keys#{window}", 0)) + int(state.get(f"keys#{window - 1}", 0)),
        )

    def uncount_user(self, owner: str, scope: str, window: int) -> None:
        """Undo one :meth:`count_user` (refused after all, or not reaching WeChat)."""
        self._decrement(f"LIMITS#{owner}", "LIMITS", f"{scope}#{window}")

    def end_sessions(self, owner: str, at: int, ttl: int) -> None:
        """Every session of ``owner`` issued so far ends (erasure): the erasure epoch moves on,
        so every write carrying an earlier one is refused from now on, and a login from now on
        reads the new one. ``at``: when (kept with the mark)."""
        self._update_user(
            TableName=self.name,
            Key=_user_key(owner),
            UpdateExpression="ADD #ep :one SET #at = :at, #ttl = :ttl REMOVE #after",
            ExpressionAttributeNames={
                "#ep": EPOCH,
                "#at": "erased_at",
                "#after": "sessions_after",
                "#ttl": "ttl",
            },
            ExpressionAttributeValues={":one": _n(1), ":at": _n(at), ":ttl": _n(ttl)},
        )

    def erasure_epoch(self, owner: str) -> int:
        """The user's erasure epoch now (0 before any erasure): a login carries it in the token.
        A consistent read, so a login sent after an erasure answered always sees it."""
        item = self.client.get_item(
            TableName=self.name,
            Key=_user_key(owner),
            ConsistentRead=True,
            ProjectionExpression="#ep",
            ExpressionAttributeNames={"#ep": EPOCH},
        ).get("Item", {})
        return int(values_of(item).get(EPOCH, 0))
