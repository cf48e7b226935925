"""The business's events: one FaceVerificationCompleted per stored result, at least once and never
lost once the result is stored (the outbox), FaceDataErased on erasure, and the 2.0 sweep that
reports a face check nobody looked up. On both backends, both face API versions."""

from __future__ import annotations

import json
import time
from dataclasses import replace

import msgspec
import pytest

from tests.domain.conftest import Domain
from tests.support.events import COMPLETED_DETAIL_FIELDS
from tests.support.people import ALICE, BOB
from tests.support.simulator import SimTokens, fast_config
from tests.support.wechat import wechat_calls
from wxface.domain.errors import NoResult, QuotaGuardRefused
from wxface.domain.events import ERASED_DELAY_S, RUN_ATTEMPTS, RUN_PAUSE_S
from wxface.domain.limits import QuotaGuard, QuotaPolicy
from wxface.ports.records import OutboxEntry, PendingCheck
from wxface.ports.store import Store

QUERY = "/cityservice/face/identify/queryverifyinfo"
LATER = 12 * 3600  # every entry is due by then, none past its retention (a day here)


def outbox_of(store: Store) -> list[OutboxEntry]:
    at = int(time.time()) + LATER
    return [e for shard in store.queue_shards_to_read(0) for e in store.outbox_due(shard, at, 1000)]


def pending_of(store: Store) -> list[PendingCheck]:
    """Every pending check: a key lives an hour here, its pending check 15 minutes longer, and
    the last look is 5 minutes before the key's end."""
    at = int(time.time()) + 3400
    return [c for shard in store.queue_shards_to_read(0) for c in store.pending_due(shard, at, 1000)]


def test_a_stored_result_emits_exactly_one_event_with_the_contracts_detail(domain: Domain) -> None:
    ref = domain.face_check("ev-one", domain.key("ev-one", ALICE, biz_ref="order-7"))
    first = domain.look_up("ev-one", ref)
    again = domain.look_up("ev-one", ref)  # answered from the table: nothing new
    assert again == first
    (detail,) = domain.bus.details()
    assert set(detail) == COMPLETED_DETAIL_FIELDS
    assert detail == {
        "result_id": detail["result_id"],
        "openid": "ev-one",
        "api_version": domain.version,
        "passed": True,
        "result_code": first.result_code,
        "identity_matched": True,
        "verified_at": first.verified_at,
        "biz_ref": "order-7",
        "order_id": None,  # a typed identity: no order of the business
        "identity_source": "user",
    }
    assert len(detail["result_id"]) == 32
    text = json.dumps(detail, ensure_ascii=False)
    for secret in (*ALICE, ref):  # no name, ID number, user_id_key / verify_id / verify_result
        assert secret not in text
    assert outbox_of(domain.backend.store) == []  # sent, so deleted


def test_result_ids_are_stable_and_differ_between_results(domain: Domain) -> None:
    ids = []
    for person in (ALICE, BOB):
        ref = domain.face_check("ev-ids", domain.key("ev-ids", person))
        domain.look_up("ev-ids", ref)
        ids.append(domain.bus.details()[-1]["result_id"])
    assert len(set(ids)) == 2


def test_an_event_eventbridge_refused_is_kept_and_sent_by_the_emitter_later(domain: Domain) -> None:
    domain.bus.refuse = 1
    ref = domain.face_check("ev-late", domain.key("ev-late", ALICE))
    answer = domain.look_up("ev-late", ref)  # the user still gets the answer
    assert answer.passed and domain.bus.taken == []
    (entry,) = outbox_of(domain.backend.store)
    assert entry.attempts == 1 and "ev-late" not in entry.sealed  # the openid only sealed
    outbox = domain.outbox()
    assert outbox.drain(time.time()).sent == 0  # not before its retry time
    report = outbox.drain(time.time() + domain.retry_s + 1)
    assert (report.sent, report.deferred) == (1, 0)
    (detail,) = domain.bus.details()
    assert detail["openid"] == "ev-late" and detail["passed"] is True
    assert outbox_of(domain.backend.store) == []
    assert outbox.drain(time.time() + LATER).sent == 0  # exactly once from here


def test_retries_back_off_until_eventbridge_takes_the_event(domain: Domain) -> None:
    domain.bus.refuse = 1 + 2 * RUN_ATTEMPTS  # the request's attempt, then two whole runs
    ref = domain.face_check("ev-backoff", domain.key("ev-backoff", ALICE))
    domain.look_up("ev-backoff", ref)
    outbox, store, now = domain.outbox(), domain.backend.store, time.time()
    dues = []
    for _ in range(2):
        (entry,) = outbox_of(store)
        dues.append(entry.due)
        now = entry.due
        assert outbox.drain(now).deferred == 1
    (entry,) = outbox_of(store)
    assert entry.attempts == 3
    assert entry.due - int(now) == 4 * domain.retry_s  # 1x, 2x, 4x the retry interval
    assert outbox.drain(entry.due).sent == 1
    assert len(domain.bus.details()) == 1


def test_the_backoff_stops_doubling_at_its_cap(v2: Domain) -> None:
    """EventRetryMaxSeconds: a test stack drains in seconds however often EventBridge refused."""
    from dataclasses import replace

    v2.bus.refuse = 1 + 4 * RUN_ATTEMPTS  # the request's attempt, then four whole runs
    v2.look_up("ev-cap", v2.face_check("ev-cap", v2.key("ev-cap", ALICE)))
    outbox, store = replace(v2.outbox(), max_backoff_s=90), v2.backend.store
    waits = []
    for _ in range(4):
        (entry,) = outbox_of(store)
        assert outbox.drain(entry.due).deferred == 1
        (after,) = outbox_of(store)
        waits.append(after.due - entry.due)
    assert waits == [90, 90, 90, 90]  # uncapped: 120, 240, 480, 900 (retry_s 60, doubled)


def test_an_outbox_entry_moved_to_another_id_does_not_open_and_is_dropped(domain: Domain) -> None:
    domain.bus.refuse = 1
    ref = domain.face_check("ev-moved", domain.key("ev-moved", ALICE))
    domain.look_up("ev-moved", ref)
    store = domain.backend.store
    (entry,) = outbox_of(store)
    store.outbox_done([entry])
    store.put_outbox(msgspec.structs.replace(entry, id="R#" + "0" * 64))  # someone with table access moved it
    report = domain.outbox().drain(time.time() + LATER)
    assert (report.sent, report.dropped) == (0, 1)
    assert domain.bus.taken == [] and outbox_of(store) == []


def test_erasure_sends_pending_events_first_then_face_data_erased(domain: Domain) -> None:
    """FaceDataErased waits in the outbox for ERASED_DELAY_S (longer than any function that puts
    events runs), so every event of a result stored before the erasure is put first."""
    domain.bus.refuse = 1
    ref = domain.face_check("ev-erase", domain.key("ev-erase", ALICE))
    domain.look_up("ev-erase", ref)
    assert domain.bus.taken == []
    erased_at = time.time()
    domain.lookup().erase(domain.session("ev-erase"), now=erased_at)
    assert [e.detail_type for e in domain.bus.taken] == ["FaceVerificationCompleted"]
    (waiting,) = outbox_of(domain.backend.store)
    assert waiting.detail_type == "FaceDataErased" and waiting.due == int(erased_at) + ERASED_DELAY_S
    assert "ev-erase" not in waiting.sealed
    assert domain.outbox().drain(erased_at + ERASED_DELAY_S - 1).sent == 0  # not yet
    assert domain.outbox().drain(erased_at + ERASED_DELAY_S).sent == 1
    assert [e.detail_type for e in domain.bus.taken] == ["FaceVerificationCompleted", "FaceDataErased"]
    # erased_at covers every result erased, even one whose verified_at is WeChat's clock (1.0's
    # identify_time: here the shared simulator's, which other tests move forward).
    verified_at = domain.bus.details()[0]["verified_at"]
    assert domain.bus.details("FaceDataErased") == [
        {"openid": "ev-erase", "erased_at": max(int(erased_at), verified_at)}
    ]
    assert outbox_of(domain.backend.store) == [] and pending_of(domain.backend.store) == []


def test_the_emitter_puts_what_eventbridge_refused_again_within_its_run(domain: Domain) -> None:
    """Found by the fault soak: a FaceDataErased that PutEvents refused once at the emitter's run
    waited for the next run a minute later, past the contract's 90 s after the 204. Now the run
    itself tries again after a short pause, so a transient refusal costs a second, not a minute."""
    domain.lookup().erase(domain.session("ev-erase-blip"), now=(erased_at := time.time()))
    domain.bus.refuse = 2  # refused twice, as by a failed call and then on its own: transient
    report = domain.outbox().drain(erased_at + ERASED_DELAY_S)
    assert (report.sent, report.deferred) == (1, 0)
    assert [d["openid"] for d in domain.bus.details("FaceDataErased")] == ["ev-erase-blip"]
    assert domain.pauses == [RUN_PAUSE_S, 2 * RUN_PAUSE_S]  # under a second of the run's 10 s
    assert outbox_of(domain.backend.store) == []


def test_what_every_attempt_of_a_run_refused_waits_for_its_backoff(domain: Domain) -> None:
    domain.lookup().erase(domain.session("ev-erase-out"), now=(erased_at := time.time()))
    domain.bus.refuse = RUN_ATTEMPTS
    report = domain.outbox().drain(erased_at + ERASED_DELAY_S)
    assert (report.sent, report.deferred) == (0, 1) and domain.bus.calls == RUN_ATTEMPTS
    (entry,) = outbox_of(domain.backend.store)
    assert entry.attempts == 1 and entry.due == int(erased_at + ERASED_DELAY_S) + domain.retry_s


def test_erasure_while_eventbridge_refuses_drops_the_users_pending_events_and_keeps_the_erasure(
    domain: Domain,
) -> None:
    """docs/data.md: pending events are sent first, once; what EventBridge does not take then is
    dropped with the user's data, and FaceDataErased waits (sealed) until it can be sent."""
    domain.bus.refuse = 100
    ref = domain.face_check("ev-erase-down", domain.key("ev-erase-down", ALICE))
    domain.look_up("ev-erase-down", ref)
    domain.lookup().erase(domain.session("ev-erase-down"))
    (left,) = outbox_of(domain.backend.store)
    assert left.detail_type == "FaceDataErased" and "ev-erase-down" not in left.sealed
    assert domain.outbox().drain(time.time() + LATER).deferred == 1  # still refused: kept
    domain.bus.refuse = 0
    assert domain.outbox().drain(time.time() + LATER + 3600).sent == 1  # past its backoff
    assert [e.detail_type for e in domain.bus.taken] == ["FaceDataErased"]
    assert [d["openid"] for d in domain.bus.details("FaceDataErased")] == ["ev-erase-down"]


def test_the_business_reads_a_users_newest_result_by_openid(domain: Domain) -> None:
    lookup = domain.lookup()
    with pytest.raises(NoResult):
        lookup.for_business("ev-biz")
    ref = domain.face_check("ev-biz", domain.key("ev-biz", ALICE, biz_ref="acct-9"))
    stored = domain.look_up("ev-biz", ref)
    found, openid = lookup.for_business("ev-biz")
    assert (found, openid) == (stored, "ev-biz")
    assert found.biz_ref == "acct-9"
    with pytest.raises(NoResult):  # another user's openid finds nothing of this user
        lookup.for_business("ev-biz-other")


# --- 2.0: the sweep ----------------------------------------------------------------------------


def test_the_sweep_reports_a_face_check_the_mini_program_never_looked_up(v2: Domain) -> None:
    verify_id = v2.face_check("sw-closed", v2.key("sw-closed", ALICE, biz_ref="order-8"))
    issued = time.time()
    lookup = v2.lookup()
    assert lookup.sweep(issued).as_dict() == {}  # not due: the app may still look it up
    assert v2.sim.calls().get(QUERY, 0) == 0
    assert lookup.sweep(issued + v2.sweep_after_s + 1).as_dict() == {"stored": 1}
    (detail,) = v2.bus.details()
    assert detail["openid"] == "sw-closed" and detail["passed"] is True and detail["biz_ref"] == "order-8"
    assert pending_of(v2.backend.store) == []
    # The app comes back later: the stored result, no second WeChat call, no second event.
    assert v2.look_up("sw-closed", verify_id).passed
    assert v2.sim.calls()[QUERY] == 1 and len(v2.bus.details()) == 1


def test_one_sweep_run_looks_up_every_due_check_page_by_page_with_workers_at_once(v2: Domain) -> None:
    """Not a fixed number a run: the run reads a page from each partition in turn until none has
    a full page left (or its deadline passes), looking the page up with several workers."""
    users = [f"sw-many-{i}" for i in range(30)]
    for user in users:
        v2.face_check(user, v2.key(user, ALICE))
    issued = time.time()
    report = v2.lookup().sweep(issued + v2.sweep_after_s + 1, page=3, workers=4)
    assert report.as_dict() == {"stored": 30}
    assert pending_of(v2.backend.store) == []
    assert sorted(d["openid"] for d in v2.bus.details()) == sorted(users)


def test_sweep_parts_take_disjoint_partitions_and_together_every_one(v2: Domain) -> None:
    users = [f"sw-part-{i}" for i in range(16)]
    for user in users:
        v2.face_check(user, v2.key(user, ALICE))
    at = time.time() + v2.sweep_after_s + 1
    first = v2.lookup().sweep(at, part=0, parts=2).as_dict()
    assert 0 < first["stored"] < 16  # the even partitions only
    second = v2.lookup().sweep(at, part=1, parts=2).as_dict()
    assert first["stored"] + second["stored"] == 16
    assert pending_of(v2.backend.store) == []


def test_a_sweep_run_stops_at_its_deadline(v2: Domain) -> None:
    v2.backend.store.queue_shards = 1  # type: ignore[attr-defined]  # one partition: the first page holds a due check
    for user in ("sw-dl-1", "sw-dl-2", "sw-dl-3"):
        v2.face_check(user, v2.key(user, ALICE))
    ticks = iter(range(100))
    # The clock reads 0 at the start, then past the deadline after the first page.
    report = v2.lookup().sweep(
        time.time() + v2.sweep_after_s + 1, page=1, deadline=0.5, clock=lambda: float(next(ticks))
    )
    assert sum(report.as_dict().values()) == 1
    assert len(pending_of(v2.backend.store)) == 2  # the next run's


def test_a_result_looked_up_by_the_app_is_never_swept(v2: Domain) -> None:
    verify_id = v2.face_check("sw-app", v2.key("sw-app", ALICE))
    v2.look_up("sw-app", verify_id)
    assert pending_of(v2.backend.store) == []  # settled in the result's own write
    assert v2.lookup().sweep(time.time() + 3000).as_dict() == {}
    assert v2.sim.calls()[QUERY] == 1


def test_an_unfinished_face_check_is_looked_at_again_in_its_last_minutes_then_dropped(v2: Domain) -> None:
    v2.key("sw-late", ALICE)  # the user never did the face check
    issued = time.time()
    lookup = v2.lookup()
    assert lookup.sweep(issued + v2.sweep_after_s + 1).as_dict() == {"unfinished": 1}
    (check,) = pending_of(v2.backend.store)
    assert check.check_at == check.expires_at - 300
    assert lookup.sweep(check.check_at - 1).as_dict() == {}
    assert lookup.sweep(check.check_at).as_dict() == {"abandoned": 1}
    assert pending_of(v2.backend.store) == [] and v2.bus.taken == []
    assert v2.sim.calls()[QUERY] == 2


def test_the_sweep_yields_to_users_at_the_quota_guard(v2: Domain) -> None:
    """Counted by the quota guard, as background work: refused from 80 % of the hourly budget,
    while a user's lookup of a face check bound here still goes through."""
    now = time.time()
    hour_start = now - now % 3600 + 1
    guard = QuotaGuard(
        v2.backend.store, QuotaPolicy({QUERY: 100}), report=lambda *r: None, clock=lambda: hour_start
    )
    budget = QuotaPolicy({QUERY: 100}).hourly(QUERY)  # 13 calls this hour
    assert guard.policy.refuse_at(budget, "background", daily=False) == 11
    v2.backend.store.reserve(f"quota#{QUERY}#h{int(hour_start // 3600)}", 11, below=None, ttl=int(now) + 7200)
    with wechat_calls(fast_config(v2.sim.url), tokens=SimTokens(v2.sim.url), guard=guard) as guarded:
        domain = replace(v2, wechat=guarded)
        verify_id = domain.face_check("sw-quota", domain.key("sw-quota", ALICE))
        assert domain.lookup().sweep(now + domain.sweep_after_s + 1).as_dict() == {"refused": 1}
        assert len(pending_of(domain.backend.store)) == 1  # kept for a later run
        assert domain.look_up("sw-quota", verify_id).passed  # the user is not refused
    with pytest.raises(QuotaGuardRefused):
        guard.admit(QUERY, "background")  # now at 12 of 13: background work still refused


def test_face_data_erased_covers_a_result_whose_time_is_wechats_clock_ahead_of_ours(v1: Domain) -> None:
    """1.0's verified_at is WeChat's identify_time: with WeChat's clock ahead, erased_at is that
    result's time, so a consumer erasing up to erased_at erases it too."""
    v1.sim.control("/sim/clock", {"advance_s": 120})
    ref = v1.face_check("ev-skew", v1.key("ev-skew", ALICE))
    stored = v1.look_up("ev-skew", ref)
    at = time.time()
    assert stored.verified_at > at
    v1.lookup().erase(v1.session("ev-skew"), now=at)
    v1.outbox().drain(at + ERASED_DELAY_S)
    (erased,) = v1.bus.details("FaceDataErased")
    assert erased["erased_at"] == stored.verified_at
