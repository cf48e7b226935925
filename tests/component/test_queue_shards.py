"""The outbox's and the pending checks' partitions (QueueShards) against the local AWS endpoint:
new items spread over the count the setting names, the emitter reads every one of them, and
lowering the count loses nothing (what the dropped partitions hold is still sent, and an erasure
still finds it)."""

from __future__ import annotations

import time
from collections.abc import Sequence

import pytest

from tests.support.aws import Deployment
from tests.support.container import container
from wxface.dal.table import Table
from wxface.domain.events import COMPLETED, Outbox
from wxface.ports.records import BusEvent, OutboxEntry

LATER = 3600  # every entry below is due by then


class Bus:
    """The domain's EventBus port: takes every event and remembers it."""

    def __init__(self) -> None:
        self.events: list[BusEvent] = []

    def publish(self, events: Sequence[BusEvent]) -> list[bool]:
        self.events += events
        return [True] * len(events)


def outbox(shards: int, monkeypatch: pytest.MonkeyPatch, bus: Bus) -> tuple[Outbox, Table]:
    """A container deployed with ``QueueShards=shards``: its table, and an outbox over it."""
    monkeypatch.setenv("QUEUE_SHARDS", str(shards))
    c = container()
    box = Outbox(c.table, bus, c.keys.sealing_key, retention_s=86400)
    return box, c.table


def partitions(table: Table) -> dict[str, int]:
    """Outbox items in the table, by partition key."""
    found: dict[str, int] = {}
    for page in table.client.get_paginator("scan").paginate(TableName=table.name):
        for item in page.get("Items", []):
            pk = item["pk"]["S"]
            if pk.startswith("OUTBOX#"):
                found[pk] = found.get(pk, 0) + 1
    return found


def write(box: Outbox, table: Table, ids: list[str], now: float) -> None:
    for entry_id in ids:
        table.put_outbox(box.entry(entry_id, COMPLETED, {"result_id": entry_id}, now, due=int(now)))


def test_entries_spread_over_the_partitions_named_and_one_emitter_run_sends_them_all(
    deployment: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    bus = Bus()
    box, table = outbox(16, monkeypatch, bus)
    now = time.time()
    ids = [OutboxEntry.result_id(f"spread-{i}") for i in range(240)]
    write(box, table, ids, now)
    spread = partitions(table)
    assert set(spread) <= {f"OUTBOX#{n}" for n in range(16)}
    assert len(spread) == 16 and max(spread.values()) < 3 * 240 / 16  # no partition takes the lot
    # One run, more than a page in several partitions (page=10 here): the run reads on until every
    # partition is empty, not a fixed number of entries.
    report = box.drain(now + 1, page=10)
    assert report.sent == 240
    assert sorted(e.detail for e in bus.events) == sorted(f'{{"result_id": "{i}"}}' for i in ids)
    assert partitions(table) == {}


def test_lowering_the_count_still_sends_what_the_dropped_partitions_hold(
    deployment: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    bus = Bus()
    wide, table = outbox(64, monkeypatch, bus)
    now = time.time()
    ids = [OutboxEntry.result_id(f"lowered-{i}") for i in range(30)]
    write(wide, table, ids, now)
    assert any(int(pk.split("#")[1]) >= 4 for pk in partitions(table))
    narrow, table = outbox(4, monkeypatch, bus)
    sent = narrow.drain(now + 1).sent
    assert 0 < sent < 30  # the current four partitions at once (and one beyond them a run) ...
    # ... the rest within the 60 runs (minutes) that visit each partition a larger count used.
    for run in range(1, 61):
        sent += narrow.drain(now + 60 * run).sent
    assert sent == 30 and partitions(table) == {}


def test_an_erasure_finds_the_users_unsent_entries_whatever_count_wrote_them(
    deployment: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    bus = Bus()
    wide, table = outbox(64, monkeypatch, bus)
    now = time.time()
    owner = "owner-of-shards"
    refs = [f"erased-ref-{i}" for i in range(6)]
    for i, ref in enumerate(refs):  # the user's index names each result
        table.client.put_item(TableName=table.name, Item={
            "pk": {"S": f"USER#{owner}"}, "sk": {"S": f"RESULT#{i:012d}#{ref}"},
            "target": {"S": f"RESULT#{ref}"}, "ttl": {"N": str(int(now) + 3600)}})  # fmt: skip
    write(wide, table, [OutboxEntry.result_id(r) for r in refs], now)
    _, narrow = outbox(2, monkeypatch, bus)
    found = narrow.user_outbox(owner)
    assert sorted(e.id for e in found) == sorted(OutboxEntry.result_id(r) for r in refs)
    narrow.erase_user(owner)
    assert partitions(table) == {}
