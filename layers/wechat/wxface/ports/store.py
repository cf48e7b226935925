"""The table as the domain uses it, one narrow protocol per kind of item; ``Store`` is all of them
(what the wiring hands over). :class:`wxface.dal.table.Table` implements them on DynamoDB, and the
tests' in-memory store implements them too (and runs the same domain tests, so it can never be
more lenient than DynamoDB).

Every write made for a user carries the user's erasure epoch as the writer knows it (from the
session token, or the pending check of a key) and is refused with :class:`UserErased`, writing
nothing, once an erasure has moved the epoch on (:meth:`Users.end_sessions`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from .records import (
    AuditEntry,
    KeyRecord,
    OrderChange,
    OrderPhoto,
    OrderRecord,
    OutboxEntry,
    PendingCheck,
    StoredResult,
    UserCount,
)


class Keys(Protocol):
    """The keys issued here (with, for 2.0, the pending check the sweep looks up)."""

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


class Results(Protocol):
    """Final results, each stored with its event, its audit record and its order's change."""

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


class Users(Protocol):
    """The user's own item (per-user limits over two windows, the erasure epoch) and erasure."""

    def count_user(
        self, owner: str, scope: str, window: int, *, below: int, issued_at: int, epoch: int, ttl: int
    ) -> UserCount: ...
    def uncount_user(self, owner: str, scope: str, window: int) -> None: ...
    def end_sessions(self, owner: str, at: int, ttl: int) -> None: ...
    def erasure_epoch(self, owner: str) -> int: ...
    def erase_user(self, owner: str, audit: AuditEntry | None = None) -> int: ...


class OrderRecords(Protocol):
    """Orders: the record, its sealed identity while keys can be issued, a passed one's photo."""

    def put_order(
        self, record: OrderRecord, identity: str, audit: AuditEntry | None = None, *, epoch: int
    ) -> None: ...
    def get_order(
        self, order_id: str, *, identity: bool = False
    ) -> tuple[OrderRecord | None, str | None]: ...
    def get_order_photo(self, order_id: str) -> OrderPhoto | None: ...
    def change_order(self, change: OrderChange) -> None: ...
    def count_photo(self, order_id: str, below: int) -> bool: ...


class Audit(Protocol):
    def record_audit(self, audit: AuditEntry) -> None: ...


class OutboxStore(Protocol):
    """Events EventBridge has not taken yet."""

    def queue_shards_to_read(self, turn: int) -> list[int]: ...
    def put_outbox(self, entry: OutboxEntry) -> None: ...
    def outbox_due(self, shard: int, now: int, limit: int) -> list[OutboxEntry]: ...
    def outbox_done(self, entries: Sequence[OutboxEntry]) -> None: ...
    def outbox_later(self, entry: OutboxEntry, due: int, attempts: int) -> None: ...
    def user_outbox(self, owner: str) -> list[OutboxEntry]: ...


class PendingChecks(Protocol):
    """2.0 keys whose result nobody looked up yet (the sweep's work)."""

    def queue_shards_to_read(self, turn: int) -> list[int]: ...
    def pending_due(self, shard: int, now: int, limit: int) -> list[PendingCheck]: ...
    def pending_later(self, check: PendingCheck, check_at: int) -> None: ...
    def pending_done(self, check: PendingCheck) -> None: ...


class Counters(Protocol):
    """Shared counters (rate limits, the quota guard's blocks)."""

    def take(self, counter: str, limit: int, ttl: int) -> bool: ...
    def reserve(self, counter: str, amount: int, *, below: int | None, ttl: int) -> int | None: ...
    def give_back(self, counter: str) -> None: ...
    def counters(self, counters: list[str]) -> list[int]: ...


class Leases(Protocol):
    """Short leases, so that one container at a time does a thing (the token refresh)."""

    def acquire_lease(self, name: str, holder: str, now: float, lease_s: float) -> bool: ...
    def release_lease(self, name: str, holder: str) -> None: ...


class Store(
    Keys, Results, Users, OrderRecords, Audit, OutboxStore, PendingChecks, Counters, Leases, Protocol
):
    """The whole table, as the wiring hands it to a use case that needs several kinds of item."""
