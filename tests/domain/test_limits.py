"""Per-user limits: what a script with many requests meets (429 at the edge, with Retry-After)."""

from __future__ import annotations

import time

import pytest

from tests.domain.conftest import Domain
from tests.support.people import ALICE, BOB
from wxface.domain.errors import NotFound, QuotaGuardRefused, RateLimited
from wxface.domain.limits import QuotaGuard, QuotaPolicy
from wxface.wechat.errors import WeChatError

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


def test_a_key_wechat_did_not_issue_does_not_count(domain: Domain) -> None:
    domain.keys_per_hour = 1
    domain.sim.control("/sim/faults", {"path": KEY_ENDPOINT[domain.version], "errcode": 40001, "times": 5})
    with pytest.raises(WeChatError):
        domain.key("alice", ALICE)
    domain.sim.control("/sim/reset")
    domain.key("alice", ALICE)


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
        QuotaPolicy({endpoint: 20}, alarm_percent=50, refuse_percent=90),
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
