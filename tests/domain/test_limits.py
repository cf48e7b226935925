"""Per-user limits: what a script with many requests meets (429 at the edge, with Retry-After)."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest

from tests.domain.conftest import Backend, Domain
from tests.support.people import ALICE, BOB
from tests.support.simulator import SimTokens, fast_config
from tests.support.wechat import wechat_calls
from wxface.domain.errors import NotFound, QuotaGuardRefused, RateLimited
from wxface.domain.limits import Limit, QuotaGuard, QuotaPolicy, charge
from wxface.wechat.errors import WeChatError, WeChatUnavailable

KEY_ENDPOINT = {1: "/cityservice/face/identify/getuseridkey", 2: "/cityservice/face/identify/getverifyid"}


def test_keys_per_user_per_hour_then_refused_until_the_hour_ends(domain: Domain) -> None:
    domain.keys_per_hour = 2
    domain.key("alice", ALICE)
    domain.key("alice", BOB)
    before = time.time()
    with pytest.raises(RateLimited) as refused:
        domain.key("alice", ALICE)
    assert refused.value.retry_after is not None
    assert 0 < refused.value.retry_after <= 3600 - int(before) % 3600 + 1
    domain.key("bob", BOB)  # another user has their own count
    assert domain.sim.calls()[KEY_ENDPOINT[domain.version]] == 3  # the refused one never reached WeChat


def test_a_key_request_wechat_saw_counts_even_when_it_failed(domain: Domain) -> None:
    """WeChat's quota was used (here it answered 40001 on every attempt): the user's count stays,
    or a script could drain WeChat's quota through failing requests without ever being limited."""
    domain.keys_per_hour = 1
    domain.sim.control("/sim/faults", {"path": KEY_ENDPOINT[domain.version], "errcode": 40001, "times": 5})
    with pytest.raises(WeChatError):
        domain.key("alice", ALICE)
    domain.sim.control("/sim/reset")
    with pytest.raises(RateLimited):
        domain.key("alice", ALICE)


def test_a_key_request_that_never_reached_wechat_gives_its_count_back(domain: Domain) -> None:
    domain.keys_per_hour = 1
    unreachable = wechat_calls(fast_config("http://127.0.0.1:9"), tokens=SimTokens(domain.sim.url))
    with unreachable, pytest.raises(WeChatUnavailable) as err:
        replace(domain, wechat=unreachable).key("alice", ALICE)
    assert err.value.reached is False
    domain.key("alice", ALICE)  # the failed request was not counted


def test_lookups_count_found_or_not_so_probing_costs_too(v2: Domain) -> None:
    v2.lookups_per_hour = 2
    for _ in range(2):
        with pytest.raises(NotFound):
            v2.look_up("prober", "b" * 32)
    with pytest.raises(RateLimited):
        v2.look_up("prober", "b" * 32)


def test_the_quota_guard_refuses_new_keys_past_its_share_of_wechats_daily_quota(domain: Domain) -> None:
    endpoint = KEY_ENDPOINT[domain.version]
    reports: list[tuple[str, float, bool]] = []
    guard = QuotaGuard(
        domain.backend.store,
        QuotaPolicy({endpoint: 20}, alarm_percent=50, refuse_percent=90, hourly_share=0),
        report=lambda *r: reports.append(r),
        clock=time.time,
    )
    for _ in range(18):  # 90 % of 20
        guard.admit(endpoint)
    with pytest.raises(QuotaGuardRefused) as refused:
        guard.admit(endpoint)
    assert refused.value.retry_after is not None
    assert 0 < refused.value.retry_after <= 86400
    assert reports[-1][2] is True and any(r[1] >= 50 and r[2] for r in reports)
    guard.admit("/cityservice/face/identify/getinfo")  # lookups of keys issued are never refused


def test_the_hourly_budget_stops_new_keys_within_the_hour(domain: Domain) -> None:
    endpoint = KEY_ENDPOINT[domain.version]
    now = time.time()
    hour_start = now - now % 3600
    guard = QuotaGuard(
        domain.backend.store,
        QuotaPolicy({endpoint: 240}),
        report=lambda *r: None,
        clock=lambda: hour_start + 60,
    )
    for _ in range(29):  # 95 % of an hourly budget of 3 x 240 / 24 = 30
        guard.admit(endpoint)
    with pytest.raises(QuotaGuardRefused) as refused:
        guard.admit(endpoint)
    assert refused.value.retry_after == 3540  # until the hour ends, not Beijing midnight
    guard.clock = lambda: hour_start + 3600  # the next hour begins: the last one still weighs in full
    with pytest.raises(QuotaGuardRefused):
        guard.admit(endpoint)
    guard.clock = lambda: hour_start + 3600 + 1800  # half of it inside the last 60 minutes
    guard.admit(endpoint)


# --- sliding windows: a script gets an allowance once, not twice, across an hour's edge ---------


def test_a_per_address_limit_slides_across_the_windows_edge(backend: Backend) -> None:
    """Spent at the end of one window, the allowance is not there again at the start of the next:
    the previous window's count still weighs by the share of it inside the last window."""
    limit = Limit("sessions-by-address", 10, window_s=60)
    start = 1_800_000_000 - 1_800_000_000 % 60  # a window's start
    for _ in range(10):
        charge(backend.store, limit, "addr", start + 59)
    with pytest.raises(RateLimited) as refused:  # one second into the next window: 98 % still weighs
        charge(backend.store, limit, "addr", start + 61)
    assert refused.value.scope == "sessions-by-address"
    assert 0 < (refused.value.retry_after or 0) <= 60
    charge(backend.store, limit, "addr", start + 60 + 7)  # 10 x 53/60 = 8.8, 9: room for one again
    charge(backend.store, limit, "other", start + 61)  # another address has its own


def test_the_hourly_wechat_budget_slides_across_the_hours_edge(backend: Backend) -> None:
    endpoint = "/cityservice/face/identify/getverifyid"
    policy = QuotaPolicy({endpoint: 240})  # an hourly budget of 30: new keys refused from 29 (95 %)
    hour = 500_000
    clock = [hour * 3600 + 3599.0]

    def guard() -> QuotaGuard:  # a container's guard (each reads the last hour once)
        return QuotaGuard(backend.store, policy, report=lambda *r: None, clock=lambda: clock[0])

    late = guard()
    for _ in range(28):
        late.admit(endpoint)
    clock[0] = (hour + 1) * 3600 + 60.0  # a minute into the next hour: 28 x 59/60 = 27.5, 28 carried
    fresh = guard()
    fresh.admit(endpoint)  # 29 - 28: one more before the 95 % threshold...
    with pytest.raises(QuotaGuardRefused) as refused:
        fresh.admit(endpoint)  # ...not another 28
    assert refused.value.what == "keys"
    clock[0] = (hour + 1) * 3600 + 1800.0  # half an hour on: half of the last hour still weighs
    for _ in range(13):
        guard().admit(endpoint)
