"""Events for the business's own systems, on EventBridge, at least once: one
``FaceVerificationCompleted`` per stored result, one ``FaceDataErased`` per erasure.

The table keeps only an HMAC of the openid, so nothing reading it (a DynamoDB stream, a scan)
could produce the openid an event carries. The event is therefore written as an *outbox entry* in
the same transaction as the result it reports, its detail sealed under the stack's sealing key;
the request sends it at once and deletes the entry, and if EventBridge did not take it, the
emitter (a scheduled function) sends it later, retrying with backoff. A stored result cannot end
without its event, and a consumer drops duplicates by ``result_id`` (docs/architecture.md).
"""

from __future__ import annotations

import functools
import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from ..ports.records import BusEvent, OutboxEntry
from ..ports.store import OutboxStore
from .stack_keys import DataKey, SealBroken, SealingKey
from .turns import in_turns

if TYPE_CHECKING:
    from ..answers import ResultAnswer

logger = logging.getLogger("wxface.events")

__all__ = [
    "COMPLETED",
    "ERASED",
    "ERASED_DELAY_S",
    "SOURCE",
    "BusEvent",
    "EventBus",
    "Outbox",
    "SendReport",
    "result_id",
]

SOURCE = "wechat-face-verify"
COMPLETED = "FaceVerificationCompleted"
ERASED = "FaceDataErased"
PUT_EVENTS_MAX = 10  # entries per PutEvents call (EventBridge's limit)
MAX_BACKOFF_S = 900  # the default longest wait between two of the emitter's attempts
# FaceDataErased goes on the bus no earlier than this after the erasure: longer than any function
# that puts events can run (their Timeout: 15 s, the emitter's 10 s; tests/deploy checks), so a
# FaceVerificationCompleted sent from memory by a request, a sweep or an emitter run begun before
# the erasure is put before it. The emitter (every minute, done within 10 s) puts it within 90 s.
ERASED_DELAY_S = 16
# Within one emitter run, what EventBridge refused (a failed call, or entries a call refused on
# their own) is put again after a short pause, up to RUN_ATTEMPTS attempts in all while the run's
# retry window lasts: a transient refusal does not push an entry to the next run a minute later
# (which would put FaceDataErased past its 90 s).
RUN_ATTEMPTS = 3
RUN_PAUSE_S = 0.25  # doubled per attempt: 0.25 s, then 0.5 s
RUN_RETRY_WINDOW_S = 4.0  # no retry starts later than this into a page's send
DRAIN_PAGE = 100  # entries read from one partition at a time (ten PutEvents, four batch deletes)
DRAIN_DEFAULT_S = 5.0  # a run's length when the caller names no deadline


class EventBus(Protocol):
    """EventBridge as the domain uses it: which of the events it took (never raises: a call that
    failed took none)."""

    def publish(self, events: Sequence[BusEvent]) -> list[bool]: ...


def result_id(data_key: DataKey, ref: str) -> str:
    """The result's stable, opaque reference in events (no WeChat key can be derived from it)."""
    return data_key.mac("result_id", ref)[:32]


def completed_detail(result_ref_id: str, openid: str, answer: ResultAnswer) -> dict[str, object]:
    """The contract's ``FaceVerificationCompleted`` detail: no name, ID number or WeChat key."""
    return {
        "result_id": result_ref_id,
        "openid": openid,
        "api_version": answer.api_version,
        "passed": answer.passed,
        "result_code": answer.result_code,
        "identity_matched": answer.identity_matched,
        "verified_at": answer.verified_at,
        "biz_ref": answer.biz_ref,
        "order_id": answer.order_id,
        "identity_source": answer.identity_source,
    }


@dataclass(frozen=True)
class SendReport:
    sent: int = 0
    deferred: int = 0  # EventBridge did not take them: retried later
    dropped: int = 0  # could not be opened (altered in the table): never sendable

    def plus(self, other: SendReport) -> SendReport:
        return SendReport(
            self.sent + other.sent, self.deferred + other.deferred, self.dropped + other.dropped
        )


@dataclass(frozen=True)
class Outbox:
    """Writes, sends and retries the events. ``retry_s``: how long an entry waits before the
    emitter sends it (the request's own attempt comes first), doubled per failed attempt up to
    ``max_backoff_s`` (15 minutes). ``report(name, n)`` hears ``EventsSent`` /
    ``EventsDeferred`` / ``EventsDropped``."""

    store: OutboxStore
    bus: EventBus
    sealing_key: Callable[[], SealingKey]
    retention_s: int
    retry_s: int = 60
    report: Callable[[str, int], None] = lambda name, n: None
    max_backoff_s: int = MAX_BACKOFF_S
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)
    clock: Callable[[], float] = field(default=time.monotonic, repr=False)  # the run's deadline's

    def entry(
        self,
        entry_id: str,
        detail_type: str,
        detail: dict[str, object],
        now: float,
        *,
        due: int | None = None,
    ) -> OutboxEntry:
        """An entry, sealed; sent by the emitter from ``due`` (default: ``retry_s`` from now, after
        the request's own attempt)."""
        sealed = self.sealing_key().seal(json.dumps(detail, ensure_ascii=False), bound_to=entry_id)
        return OutboxEntry(
            entry_id,
            detail_type,
            sealed,
            due=int(now) + self.retry_s if due is None else due,
            attempts=0,
            ttl=int(now) + self.retention_s,
        )

    def for_result(self, ref: str, rid: str, openid: str, answer: ResultAnswer, now: float) -> OutboxEntry:
        return self.entry(OutboxEntry.result_id(ref), COMPLETED, completed_detail(rid, openid, answer), now)

    def send_now(self, entries: Sequence[OutboxEntry], now: float) -> SendReport:
        """The request's own attempt, after the transaction that wrote ``entries``: whatever goes
        wrong here (EventBridge or the table) leaves them to the emitter, never fails the request."""
        try:
            return self.send(entries, now)
        except Exception as err:  # the result is stored; its entry stays for the emitter
            # The type and AWS's code only: a short line, and nothing of the request in it.
            code = str(getattr(err, "response", {}).get("Error", {}).get("Code", ""))
            logger.warning("events left to the emitter", extra={"error": type(err).__name__, "code": code})
            self.report("EventsDeferred", len(entries))
            return SendReport(deferred=len(entries))

    def send(self, entries: Sequence[OutboxEntry], now: float, *, attempts: int = 1) -> SendReport:
        """Send ``entries`` (in batches of PutEvents' ten); delete each one EventBridge took and
        put the others off with backoff. ``attempts`` > 1 (the emitter's run): what EventBridge
        refused is put again after a short pause, within :data:`RUN_RETRY_WINDOW_S`."""
        opened: list[tuple[OutboxEntry, BusEvent]] = []
        dropped = 0
        for entry in entries:
            try:
                detail = self.sealing_key().open(entry.sealed, bound_to=entry.id)
            except SealBroken:
                logger.error(
                    "an outbox entry does not open: dropped", extra={"detail_type": entry.detail_type}
                )
                self.store.outbox_done([entry])
                dropped += 1
                continue
            opened.append((entry, BusEvent(entry.detail_type, detail)))
        sent = 0
        window_ends = time.monotonic() + RUN_RETRY_WINDOW_S
        for attempt in range(attempts):
            if attempt:
                if time.monotonic() >= window_ends:
                    break
                self.sleep(RUN_PAUSE_S * 2 ** (attempt - 1))
            refused: list[tuple[OutboxEntry, BusEvent]] = []
            for start in range(0, len(opened), PUT_EVENTS_MAX):
                batch = opened[start : start + PUT_EVENTS_MAX]
                taken = self.bus.publish([event for _, event in batch])
                done = [entry for (entry, _), ok in zip(batch, taken, strict=True) if ok]
                refused += [pair for pair, ok in zip(batch, taken, strict=True) if not ok]
                if done:
                    self.store.outbox_done(done)
                    sent += len(done)
            opened = refused
            if not opened:
                break
        for entry, _ in opened:  # refused in every attempt: the next run, after the backoff
            tries = entry.attempts + 1
            backoff = min(self.max_backoff_s, self.retry_s * 2 ** (tries - 1))
            self.store.outbox_later(entry, int(now) + backoff, tries)
        deferred = len(opened)
        for name, n in (("EventsSent", sent), ("EventsDeferred", deferred), ("EventsDropped", dropped)):
            if n:
                self.report(name, n)
        return SendReport(sent, deferred, dropped)

    def drain(self, now: float, *, deadline: float | None = None, page: int = DRAIN_PAGE) -> SendReport:
        """The emitter's run: the entries whose time has come, ``page`` at a time from each
        partition in turn (``queue_shards_to_read``; an erasure's ``E#`` entries sort first in
        each), each page put up to :data:`RUN_ATTEMPTS` times before it waits for its backoff,
        until no partition has a full page left or ``deadline`` (on ``clock``) has passed: the run
        drains as fast as EventBridge and the table answer, not a fixed number a minute."""
        end = self.clock() + DRAIN_DEFAULT_S if deadline is None else deadline
        reports: list[SendReport] = []

        def visit(shard: int) -> bool:
            due = self.store.outbox_due(shard, int(now), page)
            if due:
                reports.append(self.send(due, now, attempts=RUN_ATTEMPTS))
            return len(due) >= page  # more may be due there

        in_turns(self.store.queue_shards_to_read(int(now // 60)), visit, self.clock, end)
        return functools.reduce(SendReport.plus, reports, SendReport())

    def before_erasure(self, owner: str, now: float) -> SendReport:
        """Erasure sends the user's events not sent yet first, once; what EventBridge does not take
        is dropped with the rest of the user's data (the ``FaceDataErased`` event that follows
        tells every consumer to erase what it has of the user anyway)."""
        return self.send_now(self.store.user_outbox(owner), now)

    def erased(self, owner: str, openid: str, now: float, *, erased_at: int | None = None) -> None:
        """``FaceDataErased`` ``{"openid", "erased_at"}``, kept (sealed) for the emitter, which puts
        it :data:`ERASED_DELAY_S` after the erasure: after every event of a result stored before
        the erasure or by a request in flight at it. Consumers erase that openid's data with
        ``verified_at`` <= ``erased_at`` (EventBridge does not promise delivery order);
        ``erased_at``: the erasure's time, or the newest erased result's ``verified_at`` if later."""
        detail: dict[str, object] = {
            "openid": openid,
            "erased_at": int(now) if erased_at is None else erased_at,
        }
        entry_id = f"E#{owner}#{int(now * 1000)}"
        self.store.put_outbox(self.entry(entry_id, ERASED, detail, now, due=int(now) + ERASED_DELAY_S))
