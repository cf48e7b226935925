"""In-memory stand-ins for the table, for domain tests that run in milliseconds.

``MemoryStore`` implements :class:`wxface.dal.records.Store` with DynamoDB's semantics as the
product relies on them: transactions all or nothing, conditional writes, expired items still
readable until deleted (TTL deletes late; readers check ``live``). ``MemoryIdempotency`` is a
Powertools persistence layer with the DynamoDB layer's conditions. The domain tests run every
rule against these *and* against the local AWS endpoint, so neither can be more lenient.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyItemAlreadyExistsError,
    IdempotencyItemNotFoundError,
)
from aws_lambda_powertools.utilities.idempotency.persistence.base import BasePersistenceLayer
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import STATUS_CONSTANTS, DataRecord
from msgspec.structs import replace

from wxface.ports.idempotency import RecordErased, current_owner, current_writer
from wxface.ports.records import (
    DEFAULT_SHARDS,
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


@dataclass
class _Counter:
    n: int
    ttl: int


@dataclass
class MemoryStore:
    keys: dict[str, KeyRecord] = field(default_factory=dict)
    results: dict[str, StoredResult] = field(default_factory=dict)
    # the user's index: owner → sort key → (target, the result's body or None, ttl)
    index: dict[str, dict[str, tuple[str, str | None, int]]] = field(default_factory=dict)
    counts: dict[str, _Counter] = field(default_factory=dict)  # RATE#<counter>
    leases: dict[str, tuple[str, float]] = field(default_factory=dict)
    users: dict[str, dict[str, int]] = field(default_factory=dict)  # LIMITS#<owner>
    audit: list[AuditEntry] = field(default_factory=list)
    outbox: dict[str, OutboxEntry] = field(default_factory=dict)
    pending: dict[str, PendingCheck] = field(default_factory=dict)
    key_lookups: dict[str, int] = field(default_factory=dict)  # wechat_lookups of KEY#<ref>
    orders: dict[str, OrderRecord] = field(default_factory=dict)  # ORDER#<id>/ORDER
    order_identities: dict[str, tuple[str, int]] = field(default_factory=dict)  # /IDENTITY: sealed, ttl
    order_photos: dict[str, OrderPhoto] = field(default_factory=dict)  # /PHOTO
    photo_counts: dict[str, int] = field(default_factory=dict)  # photos of ORDER#<id>
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # --- keys and results -------------------------------------------------------------------

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
        with self._lock:
            self._check_epoch(record.owner, epoch)  # the table reads the erasure check's failure first
            if order_id is not None:
                order = self.orders.get(order_id)
                if order is None or order.status != "open" or not order.expires_at > now:
                    raise OrderClosed
            if order_id is not None:
                self.orders[order_id] = replace(
                    self.orders[order_id], attempts=self.orders[order_id].attempts + 1
                )
            self.keys[ref] = record
            if pending is not None:
                self.pending[pending.ref] = pending
            self.index.setdefault(record.owner, {})[f"KEY#{issued_ms:015d}#{ref}"] = (
                f"KEY#{ref}",
                None,
                record.ttl,
            )
            self._audit(audit)

    def get_key(self, ref: str) -> KeyRecord | None:
        return self.keys.get(ref)

    def count_key_lookup(self, ref: str) -> int | None:
        with self._lock:
            if ref not in self.keys:
                return None
            self.key_lookups[ref] = self.key_lookups.get(ref, 0) + 1
            return self.key_lookups[ref]

    def get_result(self, ref: str) -> StoredResult | None:
        return self.results.get(ref)

    def get_result_and_key(self, ref: str) -> tuple[StoredResult | None, KeyRecord | None]:
        with self._lock:
            return self.results.get(ref), self.keys.get(ref)

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
        with self._lock:
            self._check_epoch(result.owner, epoch)  # the table reads the erasure check's failure first
            if ref in self.results:  # attribute_not_exists(pk): even an expired one is still there
                return False
            self._check_order(order)
            self._apply_order(order)
            self.results[ref] = result
            if outbox is not None:
                self.outbox[outbox.id] = replace(outbox, shard=shard_of(outbox.id, self.queue_shards))
            if settles is not None:
                self.pending.pop(settles, None)
            entry = (f"RESULT#{ref}", result.body, result.ttl)
            self.index.setdefault(result.owner, {})[f"RESULT#{verified_at:012d}#{ref}"] = entry
            self._audit(audit)
            return True

    # --- orders -----------------------------------------------------------------------------

    def put_order(
        self, record: OrderRecord, identity: str, audit: AuditEntry | None = None, *, epoch: int
    ) -> None:
        with self._lock:
            self._check_epoch(record.owner, epoch)
            if record.order_id in self.orders:
                raise AssertionError("an order id was issued twice")
            self.orders[record.order_id] = record
            self.order_identities[record.order_id] = (identity, record.expires_at)
            self.index.setdefault(record.owner, {})[record.index_sk()] = (
                f"ORDER#{record.order_id}",
                None,
                record.ttl,
            )
            self._audit(audit)

    def get_order(self, order_id: str, *, identity: bool = False) -> tuple[OrderRecord | None, str | None]:
        with self._lock:
            sealed = self.order_identities.get(order_id) if identity else None
            return self.orders.get(order_id), sealed[0] if sealed is not None else None

    def get_order_photo(self, order_id: str) -> OrderPhoto | None:
        return self.order_photos.get(order_id)

    def change_order(self, change: OrderChange) -> None:
        with self._lock:
            self._check_order(change)
            self._apply_order(change)

    def _check_order(self, change: OrderChange | None) -> None:
        if change is not None:
            current = self.orders.get(change.record.order_id)
            if current is None or current.rev != change.rev:
                raise OrderChanged

    def _apply_order(self, change: OrderChange | None) -> None:
        if change is None:
            return
        new, old = change.record, self.orders[change.record.order_id]
        # The fields the update sets; attempts and photos move only by their own writes.
        self.orders[new.order_id] = replace(
            old,
            status=new.status,
            rev=new.rev,
            ttl=new.ttl,
            results_until=new.results_until,
            latest_ref=new.latest_ref or old.latest_ref,
            passed_ref=new.passed_ref or old.passed_ref,
        )
        self.index.setdefault(new.owner, {})[new.index_sk()] = (f"ORDER#{new.order_id}", None, new.ttl)
        if change.photo is not None:
            self.order_photos[new.order_id] = change.photo
        if change.drop_identity:
            self.order_identities.pop(new.order_id, None)
        self._audit(change.audit)

    def count_photo(self, order_id: str, below: int) -> bool:
        with self._lock:
            if order_id not in self.orders or self.photo_counts.get(order_id, 0) >= below:
                return False
            self.photo_counts[order_id] = self.photo_counts.get(order_id, 0) + 1
            return True

    def record_audit(self, audit: AuditEntry) -> None:
        with self._lock:
            self._audit(audit)

    def latest_result(self, owner: str, now: int) -> str | None:
        with self._lock:
            entries = self.index.get(owner, {})
            newest = sorted(
                (sk for sk, e in entries.items() if sk.startswith("RESULT#") and e[2] > now), reverse=True
            )
            return entries[newest[0]][1] if newest else None

    def erase_user(self, owner: str, audit: AuditEntry | None = None) -> int:
        with self._lock:
            entries = self.index.pop(owner, {})
            for target, _, _ in entries.values():
                kind, ref = target.split("#", 1)
                if kind == "ORDER":
                    self.order_identities.pop(ref, None)  # first, as the table does
                    self.orders.pop(ref, None)
                    self.order_photos.pop(ref, None)
                    self.photo_counts.pop(ref, None)
                    continue
                (self.keys if kind == "KEY" else self.results).pop(ref, None)
                self.key_lookups.pop(ref, None)
                if kind == "RESULT":
                    self.outbox.pop(OutboxEntry.result_id(ref), None)
                else:
                    self.pending.pop(ref, None)
            self._audit(audit)
            return len(entries)

    def user_outbox(self, owner: str) -> list[OutboxEntry]:
        with self._lock:
            refs = [
                t.split("#", 1)[1]
                for t, _, _ in self.index.get(owner, {}).values()
                if t.startswith("RESULT#")
            ]
            return [self.outbox[i] for i in (OutboxEntry.result_id(r) for r in refs) if i in self.outbox]

    # --- the outbox and the pending checks ----------------------------------------------------

    queue_shards = DEFAULT_SHARDS

    def queue_shards_to_read(self, turn: int) -> list[int]:
        return list(range(self.queue_shards))

    def put_outbox(self, entry: OutboxEntry) -> None:
        with self._lock:
            self.outbox[entry.id] = replace(entry, shard=shard_of(entry.id, self.queue_shards))

    def outbox_due(self, shard: int, now: int, limit: int) -> list[OutboxEntry]:
        with self._lock:
            due = [e for e in self.outbox.values() if e.shard == shard and e.due <= now < e.ttl]
            return sorted(due, key=lambda e: e.id)[:limit]

    def outbox_done(self, entries: Sequence[OutboxEntry]) -> None:
        with self._lock:
            for entry in entries:
                self.outbox.pop(entry.id, None)

    def outbox_later(self, entry: OutboxEntry, due: int, attempts: int) -> None:
        with self._lock:
            if entry.id in self.outbox:
                self.outbox[entry.id] = replace(self.outbox[entry.id], due=due, attempts=attempts)

    def pending_due(self, shard: int, now: int, limit: int) -> list[PendingCheck]:
        with self._lock:
            due = [
                c
                for c in self.pending.values()
                if shard_of(c.ref, self.queue_shards) == shard and c.check_at <= now < c.ttl
            ]
            return sorted(due, key=lambda c: c.ref)[:limit]

    def pending_later(self, check: PendingCheck, check_at: int) -> None:
        with self._lock:
            if check.ref in self.pending:
                self.pending[check.ref] = replace(self.pending[check.ref], check_at=check_at)

    def pending_done(self, check: PendingCheck) -> None:
        with self._lock:
            self.pending.pop(check.ref, None)

    def _audit(self, audit: AuditEntry | None) -> None:
        if audit is not None:
            self.audit.append(audit)

    # --- the user's own item ------------------------------------------------------------------

    def _check_epoch(self, owner: str, epoch: int) -> None:
        """The erasure check every write for a user carries (call with the lock held)."""
        if self.users.get(owner, {}).get("erasure_epoch", 0) > epoch:
            raise UserErased

    def count_user(
        self, owner: str, scope: str, window: int, *, below: int, issued_at: int, epoch: int, ttl: int
    ) -> UserCount:
        with self._lock:
            state = self.users.setdefault(owner, {})
            cur = f"{scope}#{window}"
            ended = state.get("erasure_epoch", 0) > epoch or state.get("sessions_after", -1) >= issued_at
            if ended or state.get(cur, 0) >= below:
                return UserCount(counted=False, sessions_ended=ended)
            state[cur] = state.get(cur, 0) + 1
            state.pop(f"{scope}#{window - 2}", None)
            state["ttl"] = ttl
            recent_keys = state.get(f"keys#{window}", 0) + state.get(f"keys#{window - 1}", 0)
            return UserCount(True, False, state[cur], state.get(f"{scope}#{window - 1}", 0), recent_keys)

    def uncount_user(self, owner: str, scope: str, window: int) -> None:
        with self._lock:
            state = self.users.get(owner, {})
            cur = f"{scope}#{window}"
            if state.get(cur, 0) > 0:
                state[cur] -= 1

    def end_sessions(self, owner: str, at: int, ttl: int) -> None:
        with self._lock:
            state = self.users.setdefault(owner, {})
            state.pop("sessions_after", None)
            state.update(erasure_epoch=state.get("erasure_epoch", 0) + 1, erased_at=at, ttl=ttl)

    def erasure_epoch(self, owner: str) -> int:
        with self._lock:
            return self.users.get(owner, {}).get("erasure_epoch", 0)

    # --- counters and leases ----------------------------------------------------------------

    def take(self, counter: str, limit: int, ttl: int) -> bool:
        return self.reserve(counter, 1, below=limit, ttl=ttl) is not None

    def reserve(self, counter: str, amount: int, *, below: int | None, ttl: int) -> int | None:
        with self._lock:
            current = self.counts.get(counter)
            if below is not None and current is not None and current.n >= below:
                return None
            total = (current.n if current else 0) + amount
            self.counts[counter] = _Counter(total, ttl)
            return total

    def counters(self, counters: list[str]) -> list[int]:
        with self._lock:
            return [self.counts[c].n if c in self.counts else 0 for c in counters]

    def give_back(self, counter: str) -> None:
        with self._lock:
            current = self.counts.get(counter)
            if current is not None and current.n > 0:
                self.counts[counter] = _Counter(current.n - 1, current.ttl)

    def acquire_lease(self, name: str, holder: str, now: float, lease_s: float) -> bool:
        with self._lock:
            held = self.leases.get(name)
            if held is not None and not int(held[1]) < int(now):  # the table compares whole seconds
                return False
            self.leases[name] = (holder, now + lease_s)
            return True

    def release_lease(self, name: str, holder: str) -> None:
        with self._lock:
            if self.leases.get(name, ("", 0.0))[0] == holder:
                del self.leases[name]


class MemoryIdempotency(BasePersistenceLayer):
    """Powertools' persistence contract with the product's DynamoDB layer's conditions: a record
    may be written if none exists, it expired, or it is in progress past its in-progress expiry;
    it is completed or deleted only by the request that wrote it (its writer token)."""

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.records: dict[tuple[str, str], DataRecord] = {}  # (owner, key): the owner's partition
        self.writers: dict[tuple[str, str], str] = {}
        self._lock = threading.Lock()

    def store(self) -> MemoryIdempotencyStore:
        """These records as the domain's idempotency port sees them."""
        return MemoryIdempotencyStore(self)

    def erase_owner(self, owner: str) -> None:
        with self._lock:
            self.records = {k: v for k, v in self.records.items() if k[0] != owner}
            self.writers = {k: v for k, v in self.writers.items() if k[0] != owner}

    def _get_record(self, idempotency_key: str) -> DataRecord:
        with self._lock:
            if (current_owner(), idempotency_key) not in self.records:
                raise IdempotencyItemNotFoundError
            return self.records[(current_owner(), idempotency_key)]

    def _put_record(self, data_record: DataRecord) -> None:
        now = time.time()
        with self._lock:
            old = self.records.get((current_owner(), data_record.idempotency_key))
            if old is not None:
                expired = old.expiry_timestamp is not None and old.expiry_timestamp < int(now)
                stale = (
                    old.status == STATUS_CONSTANTS["INPROGRESS"]
                    and old.in_progress_expiry_timestamp is not None
                    and old.in_progress_expiry_timestamp < int(now * 1000)
                )
                if not (expired or stale):
                    # As the DynamoDB layer does with the old item its failed condition returns:
                    # the body is compared first (IdempotencyValidationError → 409).
                    # _validate_payload is the base class's own (private) check; the domain's
                    # conflict test fails on both backends if an upgrade removes or changes it.
                    self._validate_payload(data_payload=data_record, stored_data_record=old)
                    raise IdempotencyItemAlreadyExistsError(old_data_record=old)
            self.records[(current_owner(), data_record.idempotency_key)] = data_record
            self.writers[(current_owner(), data_record.idempotency_key)] = current_writer()

    def _update_record(self, data_record: DataRecord) -> None:
        with self._lock:
            where = (current_owner(), data_record.idempotency_key)
            if where not in self.records or self.writers.get(where) != current_writer():
                raise RecordErased
            self.records[where] = data_record

    def _delete_record(self, data_record: DataRecord) -> None:
        with self._lock:
            where = (current_owner(), data_record.idempotency_key)
            if where in self.records and self.writers.get(where) == current_writer():
                del self.records[where]


@dataclass
class MemoryIdempotencyStore:
    """:class:`wxface.ports.idempotency.IdempotencyStore` over :class:`MemoryIdempotency`."""

    memory: MemoryIdempotency

    def layer(self) -> MemoryIdempotency:
        return self.memory

    def erase(self, owner: str) -> None:
        self.memory.erase_owner(owner)
