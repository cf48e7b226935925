"""What the table holds, as typed records (plain values: how they are encoded is ``dal``'s), and
the exceptions a store's writes raise. Below both the domain and ``dal``."""

from __future__ import annotations

import zlib
from typing import Literal

from msgspec import Struct


class KeyRecord(Struct, frozen=True):
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

    def live(self, now: float) -> bool:
        """Not yet past its TTL (DynamoDB deletes expired items late, so reads check)."""
        return self.ttl > now


class StoredResult(Struct, frozen=True):
    """``RESULT#<ref>``: a final result (the answer as JSON), whose it is, until when, and the
    reference of the key issued here it was bound to (None: not bound, never ``passed``)."""

    owner: str
    body: str  # the answer, JSON
    ttl: int
    key_ref: str | None = None

    def live(self, now: float) -> bool:
        return self.ttl > now


class AuditEntry(Struct, frozen=True):
    """One audit record: no personal data (``owner`` is the openid's HMAC)."""

    owner: str
    route: str  # e.g. "POST /v1/face/keys"
    outcome: str  # "issued", "passed", "not_passed", "erased"
    at_ms: int
    ttl: int
    result_code: int | None = None
    order_id: str | None = None  # the order it concerns (random, names no one)


class BusEvent(Struct, frozen=True):
    """An event for EventBridge: its ``DetailType`` and ``Detail`` (JSON); the source and the bus
    are the stack's."""

    detail_type: str
    detail: str


# Partitions of the outbox and of the pending checks (``QueueShards``): one of these counts, so
# that an item's partition under every count the stack may have used is known from its id alone
# (an erasure finds the user's entries written before the count changed).
SHARD_COUNTS = (1, 2, 4, 8, 16, 32, 64)
DEFAULT_SHARDS = 8  # about 1,000 verifications a second (docs/capacity.md); 4 before it was a setting


def shard_of(item_id: str, shards: int = DEFAULT_SHARDS) -> int:
    """The partition an outbox entry or pending check is written to under ``shards`` partitions
    (spread evenly by a checksum)."""
    return zlib.crc32(item_id.encode()) % shards


def shards_ever(item_id: str) -> list[int]:
    """Every partition ``item_id`` may have been written to, under any count of
    :data:`SHARD_COUNTS` (at most seven)."""
    return sorted({shard_of(item_id, n) for n in SHARD_COUNTS})


class OutboxEntry(Struct, frozen=True):
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
    shard: int | None = None  # the partition it was read from (None: not read yet, the current count's)

    @staticmethod
    def result_id(ref: str) -> str:
        return f"R#{ref}"


class PendingCheck(Struct, frozen=True):
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
    shard: int | None = None  # the partition it was read from (None: not read yet, the current count's)


StoredOrderStatus = Literal["open", "cancelled", "passed"]


class OrderRecord(Struct, frozen=True):
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

    def live(self, now: float) -> bool:
        return self.ttl > now

    def index_sk(self) -> str:
        """Its entry in the user's index (``USER#<owner>``), for erasure."""
        return f"ORDER#{self.created_ms:015d}#{self.order_id}"


class OrderPhoto(Struct, frozen=True):
    """``ORDER#<id>`` / ``PHOTO``: what ``getimage`` needs for a passed order, sealed (the passing
    key's ticket), kept until that key expires (``ttl``)."""

    ticket: str
    ttl: int


class OrderChange(Struct, frozen=True):
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


class UserCount(Struct, frozen=True):
    """What counting one request of a user answered (``LIMITS#<owner>``, one item per user: the
    counts of the current and previous window of each limit, and when their sessions ended)."""

    counted: bool  # False: refused, this window's count had already reached the limit
    sessions_ended: bool  # the caller's session began before an erasure ended it (not counted)
    current: int = 0  # this window's count, this request included
    previous: int = 0  # the previous window's count
    recent_keys: int = 0  # keys the user asked for in this window and the previous one
