"""The product's one DynamoDB table (on-demand, TTL on ``ttl``).

Items (``pk`` / ``sk``); no name, ID number or openid is stored in clear:

- ``KEY#<sha256 of user_id_key or verify_id>`` / ``KEY``: what a lookup needs to bind a result
  (``owner``: HMAC of the openid; 1.0: HMACs of WeChat's MD5s; 2.0: ``out_seq_no``, ``cert_hash``).
- ``RESULT#<sha256 of verify_result or verify_id>`` / ``RESULT``: a final result, no identity.
- ``USER#<owner>`` / ``KEY#…`` and ``RESULT#…``: the user's index, for ``latest`` and erasure.
- ``RATE#<limit>#<subject>#<window>`` / ``RATE``: rate-limit counters (the subject an HMAC);
  ``RATE#quota#<endpoint>#<day>``: this stack's WeChat calls per endpoint per WeChat day.
- ``LOCK#<name>`` / ``LOCK``: short leases (the coordinated token refresh).
- ``AUDIT#<owner>`` / ``<ms>#<route>#<nonce>``: what happened, never to whom in clear
  (route, outcome, result code, time), kept ``AUDIT_RETENTION_DAYS``.
- ``IDEMPOTENCY#<owner>`` / ``<hash>``: Powertools Idempotency records of ``POST /v1/face/keys``
  (10 minutes; the key and the body enter only as HMACs).
- ``OUTBOX#<shard>`` / ``R#<ref>`` or ``E#<owner>#<ms>``: events EventBridge has not taken yet,
  their detail sealed (written with the result they report; deleted once sent).
- ``PENDING#<shard>`` / ``<ref>``: 2.0 keys without a result yet, for the sweep (the openid and
  verify_id sealed; deleted with the result's write, or with the key record's TTL).
- ``ORDER#<order_id>`` / ``ORDER``: an order of the business's servers (status, attempts, its
  results' references; the openid sealed); ``/ IDENTITY``: its name and ID number sealed under the
  order-sealing key, only while a key can be issued from it (TTL: the order's expiry; deleted when
  it passes or is cancelled); ``/ PHOTO``: what ``getimage`` needs for a passed order, sealed,
  until the passing key expires. ``USER#<owner>`` / ``ORDER#…`` indexes it for erasure.
"""

from __future__ import annotations

import contextlib
import random
import time
import uuid
from typing import TYPE_CHECKING, Any

from ..ports.records import (
    AuditEntry,
    KeyRecord,
    OrderChange,
    OrderChanged,
    OrderClosed,
    OrderPhoto,
    OrderRecord,
    OutboxEntry,
    PendingCheck,
    StoredResult,
    UserCount,
    UserErased,
    shard_of,
)
from . import aws, items
from .items import Item, values_of

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef, TransactWriteItemTypeDef


def _s(value: str) -> AttributeValueTypeDef:
    return {"S": value}


def _n(value: int | float) -> AttributeValueTypeDef:
    return {"N": str(int(value))}


def _outbox_key(entry_id: str) -> Item:
    return {"pk": _s(f"OUTBOX#{shard_of(entry_id)}"), "sk": _s(entry_id)}


def _pending_key(ref: str) -> Item:
    return {"pk": _s(f"PENDING#{shard_of(ref)}"), "sk": _s(ref)}


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


class Table:
    def __init__(self, name: str, client: DynamoDBClient | None = None) -> None:
        self.name = name
        self._client = client

    @property
    def client(self) -> DynamoDBClient:
        if self._client is None:
            self._client = aws.dynamodb()
        return self._client

    # --- keys -------------------------------------------------------------------------------

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
                    *self._put_if(items.pending_item(pending) if pending else None),
                ],
            )
        except client.exceptions.TransactionCanceledException as err:
            if counted and cancellation_reasons(err)[:1] == ["ConditionalCheckFailed"]:
                raise OrderClosed from None
            raise

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

    # --- results ----------------------------------------------------------------------------
    def get_result_and_key(self, ref: str) -> tuple[StoredResult | None, KeyRecord | None]:
        """The stored result and the key record of one reference, in one read."""
        wanted = [{"pk": _s(f"RESULT#{ref}"), "sk": _s("RESULT")}, {"pk": _s(f"KEY#{ref}"), "sk": _s("KEY")}]
        result: StoredResult | None = None
        key: KeyRecord | None = None
        pending: Any = {self.name: {"Keys": wanted, "ConsistentRead": True}}
        while pending:
            resp = self.client.batch_get_item(RequestItems=pending)
            for item in resp.get("Responses", {}).get(self.name, []):
                if item["sk"] == _s("RESULT"):
                    result = items.stored_result(item)
                else:
                    key = items.key_record(item)
            pending = resp.get("UnprocessedKeys") or None
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
                    *self._put_if(items.outbox_item(outbox) if outbox else None),
                    *self._delete_if(_pending_key(settles) if settles else None),
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

    # --- orders -----------------------------------------------------------------------------

    def put_order(
        self, record: OrderRecord, identity: str, audit: AuditEntry | None = None, *, epoch: int
    ) -> None:
        """A new order, its sealed identity (kept until the order expires) and the user's index
        entry, in one transaction under the user's erasure epoch (:class:`UserErased`)."""
        self._transact_for_user(
            record.owner,
            epoch,
            [
                {
                    "Put": {
                        "TableName": self.name,
                        "Item": items.order_item(record),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
                {"Put": {"TableName": self.name, "Item": self._order_identity(record, identity)}},
                {"Put": {"TableName": self.name, "Item": self._order_index(record)}},
                *self._audit(audit),
            ],
        )

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

    def get_order(self, order_id: str, *, identity: bool = False) -> tuple[OrderRecord | None, str | None]:
        """The order (None: unknown or erased) and, with ``identity``, its sealed identity (None
        once dropped; TTL deletes it late after the order's expiry, which readers check on the
        order), in one consistent read."""
        if not identity:
            one = self.client.get_item(TableName=self.name, Key=_order_key(order_id), ConsistentRead=True)
            return (items.order_record(one["Item"]) if "Item" in one else None), None
        order: OrderRecord | None = None
        sealed: str | None = None
        wanted = [_order_key(order_id), _order_key(order_id, "IDENTITY")]
        pending: Any = {self.name: {"Keys": wanted, "ConsistentRead": True}}
        while pending:
            resp = self.client.batch_get_item(RequestItems=pending)
            for item in resp.get("Responses", {}).get(self.name, []):
                if item["sk"] == _s("ORDER"):
                    order = items.order_record(item)
                else:
                    sealed = str(values_of(item)["sealed"])
            pending = resp.get("UnprocessedKeys") or None
        return order, sealed

    def get_order_photo(self, order_id: str) -> OrderPhoto | None:
        resp = self.client.get_item(
            TableName=self.name, Key=_order_key(order_id, "PHOTO"), ConsistentRead=True
        )
        if "Item" not in resp:
            return None
        v = values_of(resp["Item"])
        return OrderPhoto(ticket=v["ticket"], ttl=v["ttl"])

    def change_order(self, change: OrderChange) -> None:
        """An order's change of state made by the business (a cancellation), on condition that
        it is still at the revision read (:class:`OrderChanged`; nothing written)."""
        client = self.client
        try:
            self._transact(self._order_change(change))
        except client.exceptions.TransactionCanceledException as err:
            if cancellation_reasons(err)[:1] == ["ConditionalCheckFailed"]:
                raise OrderChanged from None
            raise

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

    def count_photo(self, order_id: str, below: int) -> bool:
        """Count one photo fetch of the order unless it already reached ``below``."""
        client = self.client
        try:
            client.update_item(
                TableName=self.name,
                Key=_order_key(order_id),
                UpdateExpression="ADD #n :one",
                ConditionExpression="attribute_exists(pk) AND (attribute_not_exists(#n) OR #n < :below)",
                ExpressionAttributeNames={"#n": "photos"},
                ExpressionAttributeValues={":one": _n(1), ":below": _n(below)},
            )
        except client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def record_audit(self, audit: AuditEntry) -> None:
        """An audit record on its own (what changed nothing else, e.g. a photo fetched)."""
        self.client.put_item(TableName=self.name, Item=items.audit_item(audit))

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

    # --- erasure ----------------------------------------------------------------------------

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
                else:
                    extra.append(
                        _outbox_key(OutboxEntry.result_id(ref)) if kind == "RESULT" else _pending_key(ref)
                    )
        writes: list[Any] = [{"DeleteRequest": {"Key": k}} for k in [*first, *keys, *extra]]
        if audit is not None:
            writes.insert(0, {"PutRequest": {"Item": items.audit_item(audit)}})
        for start in range(0, len(writes), 25):
            pending: Any = {self.name: writes[start : start + 25]}
            while pending:
                resp = self.client.batch_write_item(RequestItems=pending)
                pending = resp.get("UnprocessedItems") or None
        return len(keys) // 2

    def user_outbox(self, owner: str) -> list[OutboxEntry]:
        """The events of ``owner``'s results that EventBridge has not taken yet."""
        refs = [t.split("#", 1)[1] for t in self._index_targets(owner, "RESULT#")]
        found: list[OutboxEntry] = []
        for start in range(0, len(refs), 100):
            wanted = [_outbox_key(OutboxEntry.result_id(r)) for r in refs[start : start + 100]]
            pending: Any = {self.name: {"Keys": wanted, "ConsistentRead": True}}
            while pending:
                resp = self.client.batch_get_item(RequestItems=pending)
                found += [items.outbox_entry(i) for i in resp.get("Responses", {}).get(self.name, [])]
                pending = resp.get("UnprocessedKeys") or None
        return found

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

    # --- the outbox and the pending checks ----------------------------------------------------

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

    # --- the user's own item ------------------------------------------------------------------

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

    # --- rate limits ------------------------------------------------------------------------

    def take(self, counter: str, limit: int, ttl: int) -> bool:
        """Count one against ``counter`` unless it already reached ``limit``."""
        return self.reserve(counter, 1, below=limit, ttl=ttl) is not None

    def reserve(self, counter: str, amount: int, *, below: int | None, ttl: int) -> int | None:
        """Add ``amount`` to ``counter`` and answer its new total; with ``below``, only while the
        total is still below it (None when refused)."""
        client = self.client
        condition = (
            {} if below is None else {"ConditionExpression": "attribute_not_exists(#n) OR #n < :below"}
        )
        values: dict[str, AttributeValueTypeDef] = {":add": _n(amount), ":ttl": _n(ttl)}
        if below is not None:
            values[":below"] = _n(below)
        try:
            resp = client.update_item(
                TableName=self.name,
                Key={"pk": _s(f"RATE#{counter}"), "sk": _s("RATE")},
                UpdateExpression="ADD #n :add SET #ttl = :ttl",
                ExpressionAttributeNames={"#n": "n", "#ttl": "ttl"},
                ExpressionAttributeValues=values,
                ReturnValues="UPDATED_NEW",
                **condition,  # type: ignore[arg-type]
            )
        except client.exceptions.ConditionalCheckFailedException:
            return None
        total: int = values_of(resp["Attributes"])["n"]
        return total

    def give_back(self, counter: str) -> None:
        """Undo one :meth:`take` (the request it counted did not go through)."""
        self._decrement(f"RATE#{counter}", "RATE", "n")

    def counters(self, counters: list[str]) -> list[int]:
        """The counts of ``counters`` (0 where none), in one consistent read."""
        wanted = [{"pk": _s(f"RATE#{c}"), "sk": _s("RATE")} for c in dict.fromkeys(counters)]
        found: dict[str, int] = {}
        pending: Any = {self.name: {"Keys": wanted, "ConsistentRead": True, "ProjectionExpression": "pk, n"}}
        while pending:
            resp = self.client.batch_get_item(RequestItems=pending)
            for item in resp.get("Responses", {}).get(self.name, []):
                v = values_of(item)
                found[str(v["pk"]).removeprefix("RATE#")] = int(v.get("n", 0))
            pending = resp.get("UnprocessedKeys") or None
        return [found.get(c, 0) for c in counters]

    # --- leases -----------------------------------------------------------------------------

    def acquire_lease(self, name: str, holder: str, now: float, lease_s: float) -> bool:
        client = self.client
        try:
            client.put_item(
                TableName=self.name,
                Item={
                    "pk": _s(f"LOCK#{name}"),
                    "sk": _s("LOCK"),
                    "holder": _s(holder),
                    "until": _n(now + lease_s),
                    "ttl": _n(now + 3600),
                },
                ConditionExpression="attribute_not_exists(pk) OR #until < :now",
                ExpressionAttributeNames={"#until": "until"},
                ExpressionAttributeValues={":now": _n(now)},
            )
        except client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def release_lease(self, name: str, holder: str) -> None:
        client = self.client
        # If the lease ran out and someone else holds it now, leave theirs alone.
        with contextlib.suppress(client.exceptions.ConditionalCheckFailedException):
            client.delete_item(
                TableName=self.name,
                Key={"pk": _s(f"LOCK#{name}"), "sk": _s("LOCK")},
                ConditionExpression="holder = :holder",
                ExpressionAttributeValues={":holder": _s(holder)},
            )
