"""What the table holds, as typed records, and the interface the domain stores them through.

Items are read with boto3's ``TypeDeserializer`` and written with its ``TypeSerializer``; a
record knows its own attributes, so no caller indexes an item by string. ``Store`` is the
interface the domain depends on: :class:`wxface.dal.table.Table` implements it on DynamoDB, and
the tests' in-memory fake implements it too (and runs the same domain tests, so it can never be
more lenient than DynamoDB).
"""

from __future__ import annotations

import secrets
import zlib
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from typing import TYPE_CHECKING, Any, Literal, Protocol

if TYPE_CHECKING:
    from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

Item = dict[str, "AttributeValueTypeDef"]


@cache
def _codec() -> tuple[TypeSerializer, TypeDeserializer]:
    # Imported on first use: boto3.dynamodb.types imports boto3 itself, which a function whose
    # first request does not need it should not pay for at init (docs/benchmarks.md, init).
    from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

    return TypeSerializer(), TypeDeserializer()


def to_item(values: dict[str, str | int | bool | None]) -> Item:
    """A DynamoDB item from plain values (``None`` values are left out, as DynamoDB has no use
    for an empty attribute)."""
    serializer = _codec()[0]
    return {k: serializer.serialize(v) for k, v in values.items() if v is not None}


def values_of(item: dict[str, Any]) -> dict[str, Any]:
    """Plain values of a DynamoDB item; numbers become ``int`` (the table holds no fractions)."""
    deserializer = _codec()[1]
    out: dict[str, Any] = {}
    for key, value in item.items():
        plain = deserializer.deserialize(value)
        out[key] = int(plain) if isinstance(plain, Decimal) else plain
    return out


@dataclass(frozen=True)
class KeyRecord:
    """``KEY#<ref>``: what a lookup needs to bind a result to the key issued here.

    ``owner`` is the HMAC of the openid. 1.0 keeps HMACs of the MD5s WeChat answers in
    ``getinfo`` (``id_mac``, ``name_mac``); 2.0 keeps what ``queryverifyinfo`` needs back:
    ``out_seq_no``, and ``cert_hash`` sealed (AES-256-GCM under the stack's data key, bound to the
    record's reference), never the brute-forceable hash itself.
    """

    owner: str
    api_version: Literal[1, 2]
    issued_at: int
    expires_at: int  # when WeChat stops accepting the key
    ttl: int  # when the record goes (expires_at + the lookup window)
    id_mac: str | None = None
    name_mac: str | None = None
    out_seq_no: str | None = None
    cert_hash: str | None = None
    biz_ref: str | None = None  # the business's own reference, given with the key (or its order's)
    order_id: str | None = None  # the order it was issued from (the identity came from the business)
    # 2.0, from an order: what getimage needs (verify_id, out_seq_no, cert_hash, openid), sealed
    # under the order-sealing key for the order's photo route; copied to the order if it passes.
    photo_ticket: str | None = None

    def item(self, ref: str) -> Item:
        return to_item(
            {
                "pk": f"KEY#{ref}",
                "sk": "KEY",
                "owner": self.owner,
                "api_version": self.api_version,
                "issued_at": self.issued_at,
                "expires_at": self.expires_at,
                "ttl": self.ttl,
                "id_mac": self.id_mac,
                "name_mac": self.name_mac,
                "out_seq_no": self.out_seq_no,
                "cert_hash": self.cert_hash,
                "biz_ref": self.biz_ref,
                "order_id": self.order_id,
                "photo_ticket": self.photo_ticket,
            }
        )

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> KeyRecord:
        v = values_of(item)
        return cls(
            owner=v["owner"],
            api_version=2 if v.get("api_version") == 2 else 1,
            issued_at=v.get("issued_at", 0),
            expires_at=v.get("expires_at", 0),
            ttl=v["ttl"],
            id_mac=v.get("id_mac"),
            name_mac=v.get("name_mac"),
            out_seq_no=v.get("out_seq_no"),
            cert_hash=v.get("cert_hash"),
            biz_ref=v.get("biz_ref"),
            order_id=v.get("order_id"),
            photo_ticket=v.get("photo_ticket"),
        )

    def live(self, now: float) -> bool:
        """Not yet past its TTL (DynamoDB deletes expired items late, so reads check)."""
        return self.ttl > now


@dataclass(frozen=True)
class StoredResult:
    """``RESULT#<ref>``: a final result (the answer as JSON), whose it is, until when, and the
    reference of the key issued here it was bound to (None: not bound, never ``passed``)."""

    owner: str
    body: str  # the answer, JSON
    ttl: int
    key_ref: str | None = None

    def item(self, ref: str) -> Item:
        return to_item(
            {
                "pk": f"RESULT#{ref}",
                "sk": "RESULT",
                "owner": self.owner,
                "data": self.body,
                "ttl": self.ttl,
                "key_ref": self.key_ref,
            }
        )

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> StoredResult:
        v = values_of(item)
        return cls(owner=v["owner"], body=v["data"], ttl=v["ttl"], key_ref=v.get("key_ref"))

    def live(self, now: float) -> bool:
        return self.ttl > now


@dataclass(frozen=True)
class AuditEntry:
    """One audit record: no personal data (``owner`` is the openid's HMAC)."""

    owner: str
    route: str  # e.g. "POST /v1/face/keys"
    outcome: str  # "issued", "passed", "not_passed", "erased"
    at_ms: int
    ttl: int
    result_code: int | None = None
    order_id: str | None = None  # the order it concerns (random, names no one)

    def item(self) -> Item:
        return to_item(
            {
                "pk": f"AUDIT#{self.owner}",
                "sk": f"{self.at_ms:015d}#{self.route}#{secrets.token_hex(3)}",
                "owner": self.owner,
                "route": self.route,
                "outcome": self.outcome,
                "at": self.at_ms // 1000,
                "ttl": self.ttl,
                "result_code": self.result_code,
                "order_id": self.order_id,
            }
        )


@dataclass(frozen=True)
class BusEvent:
    """An event for EventBridge: its ``DetailType`` and ``Detail`` (JSON); the source and the bus
    are the stack's."""

    detail_type: str
    detail: str


OUTBOX_SHARDS = 4  # partitions of the outbox and of the pending checks (a handful of Queries a run)


def shard_of(item_id: str) -> int:
    """The partition an outbox entry or pending check lives in (spread evenly by a checksum)."""
    return zlib.crc32(item_id.encode()) % OUTBOX_SHARDS


@dataclass(frozen=True)
class OutboxEntry:
    """``OUTBOX#<shard>`` / ``<id>``: an event for EventBridge not yet accepted by it. Written in the
    transaction that stores what it reports (the result), deleted once EventBridge took it.

    ``sealed`` is the event's ``Detail`` (it carries the openid) sealed under the stack's sealing
    key, bound to ``id``. ``id``: ``R#<result ref>`` for a result, ``E#<owner>#<ms>`` for an erasure.
    """

    id: str
    detail_type: str
    sealed: str
    due: int  # not sent before (the emitter's next attempt)
    attempts: int
    ttl: int  # given up with the result it reports (the backlog alarm fires long before)

    def item(self) -> Item:
        return to_item(
            {
                "pk": f"OUTBOX#{shard_of(self.id)}",
                "sk": self.id,
                "detail_type": self.detail_type,
                "sealed": self.sealed,
                "due": self.due,
                "attempts": self.attempts,
                "ttl": self.ttl,
            }
        )

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> OutboxEntry:
        v = values_of(item)
        return cls(
            id=v["sk"],
            detail_type=v["detail_type"],
            sealed=v["sealed"],
            due=v.get("due", 0),
            attempts=v.get("attempts", 0),
            ttl=v["ttl"],
        )

    @staticmethod
    def result_id(ref: str) -> str:
        return f"R#{ref}"


@dataclass(frozen=True)
class PendingCheck:
    """``PENDING#<shard>`` / ``<ref>``: a 2.0 key issued here that has no result yet. If the
    mini-program never looks its result up, the sweep does, before the key's binding data goes.

    ``sealed`` holds what the lookup needs and the table keeps nowhere else in clear (the openid,
    the verify_id), sealed under the stack's sealing key and bound to ``ref``. Deleted in the
    transaction that stores the key's result; goes with the key record (same TTL)."""

    ref: str
    sealed: str
    check_at: int  # the sweep looks it up from then on
    expires_at: int  # the key's own expiry: WeChat stops accepting it, no look after it
    ttl: int
    epoch: int = 0  # the user's erasure epoch when the key was issued: the sweep writes only under it

    def item(self) -> Item:
        return to_item(
            {
                "pk": f"PENDING#{shard_of(self.ref)}",
                "sk": self.ref,
                "sealed": self.sealed,
                "check_at": self.check_at,
                "expires_at": self.expires_at,
                "ttl": self.ttl,
                "epoch": self.epoch,
            }
        )

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> PendingCheck:
        v = values_of(item)
        return cls(
            ref=v["sk"],
            sealed=v["sealed"],
            check_at=v.get("check_at", 0),
            expires_at=v.get("expires_at", 0),
            ttl=v["ttl"],
            epoch=v.get("epoch", 0),
        )


StoredOrderStatus = Literal["open", "cancelled", "passed"]


@dataclass(frozen=True)
class OrderRecord:
    """``ORDER#<order_id>`` / ``ORDER``: an order the business's servers created. No identity
    (that is ``ORDER#<id>`` / ``IDENTITY``, sealed, gone once no key can be issued from the
    order); the openid sealed under the order-sealing key (the business reads it back).

    ``status`` as stored: ``open`` reads as ``expired`` from ``expires_at`` on. ``rev`` moves with
    every change of status or results (a writer conditions on the one it read); ``attempts``
    counts the keys issued from it. ``ttl``: as long as its results, or ``ResultRetentionDays``
    after it expired or was cancelled."""

    order_id: str
    owner: str
    openid_sealed: str
    created_ms: int
    expires_at: int
    ttl: int
    status: StoredOrderStatus = "open"
    attempts: int = 0
    rev: int = 0
    biz_ref: str | None = None
    latest_ref: str | None = None  # the newest stored result of one of its keys
    passed_ref: str | None = None  # the result that passed it
    results_until: int = 0  # the latest TTL of its results (the record lives as long)

    @property
    def created_at(self) -> int:
        return self.created_ms // 1000

    def item(self) -> Item:
        return to_item(
            {
                "pk": f"ORDER#{self.order_id}",
                "sk": "ORDER",
                "owner": self.owner,
                "openid_sealed": self.openid_sealed,
                "created_ms": self.created_ms,
                "expires_at": self.expires_at,
                "ttl": self.ttl,
                "status": self.status,
                "attempts": self.attempts,
                "rev": self.rev,
                "biz_ref": self.biz_ref,
                "latest_ref": self.latest_ref,
                "passed_ref": self.passed_ref,
                "results_until": self.results_until,
            }
        )

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> OrderRecord:
        v = values_of(item)
        status = v.get("status", "open")
        return cls(
            order_id=str(v["pk"]).removeprefix("ORDER#"),
            owner=v["owner"],
            openid_sealed=v["openid_sealed"],
            created_ms=v.get("created_ms", 0),
            expires_at=v.get("expires_at", 0),
            ttl=v["ttl"],
            status=status if status in ("open", "cancelled", "passed") else "open",
            attempts=v.get("attempts", 0),
            rev=v.get("rev", 0),
            biz_ref=v.get("biz_ref"),
            latest_ref=v.get("latest_ref"),
            passed_ref=v.get("passed_ref"),
            results_until=v.get("results_until", 0),
        )

    def live(self, now: float) -> bool:
        return self.ttl > now

    def index_sk(self) -> str:
        """Its entry in the user's index (``USER#<owner>``), for erasure."""
        return f"ORDER#{self.created_ms:015d}#{self.order_id}"


@dataclass(frozen=True)
class OrderPhoto:
    """``ORDER#<id>`` / ``PHOTO``: what ``getimage`` needs for a passed order, sealed (the passing
    key's ticket), kept until that key expires (``ttl``)."""

    ticket: str
    ttl: int


@dataclass(frozen=True)
class OrderChange:
    """What storing a result of one of an order's keys changes in the order, written in the
    result's transaction on condition that the order is still at ``rev`` (:class:`OrderChanged`
    otherwise: read it again). ``record`` is the order as it is to be; ``photo`` is put and the
    sealed identity dropped when the result passes it."""

    record: OrderRecord
    rev: int  # the revision read
    photo: OrderPhoto | None = None
    drop_identity: bool = False
    audit: AuditEntry | None = None  # the change of state, in the audit trail


class OrderChanged(Exception):
    """The order changed since it was read (a result, a cancellation): nothing was written."""


class OrderClosed(Exception):
    """A key for an order that is no longer open (cancelled, passed or expired, or gone): nothing
    was written."""


class UserErased(Exception):
    """A write for a user was refused because an erasure began after the writer's session (or
    key) did: the user's erasure epoch has moved past the one the writer carries. Nothing of the
    write was kept."""


@dataclass(frozen=True)
class UserCount:
    """What counting one request of a user answered (``LIMITS#<owner>``, one item per user: the
    counts of the current and previous window of each limit, and when their sessions ended)."""

    counted: bool  # False: refused, this window's count had already reached the limit
    sessions_ended: bool  # the caller's session began before an erasure ended it (not counted)
    current: int = 0  # this window's count, this request included
    previous: int = 0  # the previous window's count
    recent_keys: int = 0  # keys the user asked for in this window and the previous one


class Store(Protocol):
    """The table as the domain uses it.

    Every write made for a user carries the user's erasure epoch as the writer knows it (from
    the session token, or the pending check of a key) and is refused with :class:`UserErased`,
    writing nothing, once an erasure has moved the epoch on (:meth:`end_sessions`)."""

    # keys and results
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
    ) -> None: ...
    def get_key(self, ref: str) -> KeyRecord | None: ...
    def count_key_lookup(self, ref: str) -> int | None: ...
    def get_result(self, ref: str) -> StoredResult | None: ...
    def get_result_and_key(self, ref: str) -> tuple[StoredResult | None, KeyRecord | None]: ...
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
    ) -> bool: ...
    def latest_result(self, owner: str, now: int) -> str | None: ...
    def erase_user(self, owner: str, audit: AuditEntry | None = None) -> int: ...
    def user_outbox(self, owner: str) -> list[OutboxEntry]: ...

    # orders: the record, its sealed identity while keys can be issued, a passed one's photo ticket
    def put_order(
        self, record: OrderRecord, identity: str, audit: AuditEntry | None = None, *, epoch: int
    ) -> None: ...
    def get_order(
        self, order_id: str, *, identity: bool = False
    ) -> tuple[OrderRecord | None, str | None]: ...
    def get_order_photo(self, order_id: str) -> OrderPhoto | None: ...
    def change_order(self, change: OrderChange) -> None: ...
    def count_photo(self, order_id: str, below: int) -> bool: ...
    def record_audit(self, audit: AuditEntry) -> None: ...

    # events not sent yet, and 2.0 keys whose result nobody looked up yet
    def put_outbox(self, entry: OutboxEntry) -> None: ...
    def outbox_due(self, shard: int, now: int, limit: int) -> list[OutboxEntry]: ...
    def outbox_done(self, entry_id: str) -> None: ...
    def outbox_later(self, entry_id: str, due: int, attempts: int) -> None: ...
    def pending_due(self, shard: int, now: int, limit: int) -> list[PendingCheck]: ...
    def pending_later(self, ref: str, check_at: int) -> None: ...
    def pending_done(self, ref: str) -> None: ...

    # the user's own item: per-user limits over two windows, and the erasure epoch
    def count_user(
        self, owner: str, scope: str, window: int, *, below: int, issued_at: int, epoch: int, ttl: int
    ) -> UserCount: ...
    def uncount_user(self, owner: str, scope: str, window: int) -> None: ...
    def end_sessions(self, owner: str, at: int, ttl: int) -> None: ...
    def erasure_epoch(self, owner: str) -> int: ...

    # counters and leases
    def take(self, counter: str, limit: int, ttl: int) -> bool: ...
    def reserve(self, counter: str, amount: int, *, below: int | None, ttl: int) -> int | None: ...
    def give_back(self, counter: str) -> None: ...
    def counters(self, counters: list[str]) -> list[int]: ...
    def acquire_lease(self, name: str, holder: str, now: float, lease_s: float) -> bool: ...
    def release_lease(self, name: str, holder: str) -> None: ...
