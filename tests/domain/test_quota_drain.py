"""A script with many WeChat accounts tries to drain the stack's WeChat quota: per-user limits
scale with the number of accounts, so the hourly budget across all users must stop it, long
before WeChat's own 45009 would stop every user until Beijing midnight; and a face check bound
to a key issued here still finishes."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from dataclasses import replace

import pytest

from tests.domain.conftest import Domain
from tests.support.people import ALICE, CAROL
from tests.support.simulator import RunningSim, SimTokens, fast_config, start_sim
from tests.support.wechat import wechat_calls
from wxface.domain.errors import QuotaGuardRefused
from wxface.domain.limits import BOUND_LOOKUPS_PER_KEY, QuotaGuard, QuotaPolicy
from wxface.wechat.errors import WeChatNotFound, WeChatQuotaExceeded

GETINFO = "/cityservice/face/identify/getinfo"
GETUSERIDKEY = "/cityservice/face/identify/getuseridkey"
DAILY = 48  # per endpoint: an hourly budget of 3 x 48 / 24 = 6 calls


@pytest.fixture(scope="module")
def small_quota_sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSim]:
    quotas = json.dumps({GETINFO: DAILY, GETUSERIDKEY: DAILY})
    running = start_sim(tmp_path_factory.mktemp("drain") / "sim.log", {"WECHAT_SIM_DAILY_QUOTAS": quotas})
    yield running
    running.stop()


def test_many_accounts_cannot_drain_the_quota_and_bound_lookups_still_finish(
    v1: Domain, small_quota_sim: RunningSim
) -> None:
    now = time.time()
    hour_start = now - now % 3600 + 1  # one hour throughout, whenever the test runs
    reports: list[tuple[str, float, bool]] = []
    guard = QuotaGuard(
        v1.backend.store,
        QuotaPolicy({GETINFO: DAILY, GETUSERIDKEY: DAILY}),
        report=lambda *r: reports.append(r),
        clock=lambda: hour_start,
    )
    sim = small_quota_sim
    sim.control("/sim/reset")
    client = wechat_calls(fast_config(sim.url), tokens=SimTokens(sim.url), guard=guard)
    domain = replace(v1, wechat=client, sim=sim, lookups_per_hour=60)
    waits: list[int | None] = []
    with client:
        # 20 accounts, each with two face checks it did without any key issued here.
        for account in range(20):
            openid = f"drain-{account}"
            for _ in range(2):
                ref = sim.control(
                    "/sim/verify", {"openid": openid, "name": CAROL[0], "id_card_number": CAROL[1]}
                )
                try:
                    domain.look_up(openid, str(ref["verify_result"]))
                except QuotaGuardRefused as err:
                    waits.append(err.retry_after)
        assert len(waits) == 35  # the drain was stopped early...
        assert sim.calls()[GETINFO] == 5  # ...at 80 % of the hourly budget: no key here, refused first
        assert all(w is not None and 0 < w <= 3600 for w in waits)  # until the hour ends
        # A user who asked for a key here finishes the face check they started.
        verify_result = domain.face_check("honest", domain.key("honest", ALICE))
        assert domain.look_up("honest", verify_result).passed
    assert sim.calls()[GETINFO] == 6 < DAILY  # WeChat's own 45009 was never near
    with pytest.raises(WeChatQuotaExceeded):  # what a drain without the guard runs into
        drain_unguarded(sim)


def drain_unguarded(sim: RunningSim) -> None:
    with wechat_calls(fast_config(sim.url), tokens=SimTokens(sim.url)) as unguarded:
        for _ in range(DAILY):
            with contextlib.suppress(WeChatNotFound):
                unguarded.get_info("vr_" + "0" * 48)


def test_1_0_lookup_credits_bind_a_few_lookups_per_key_not_all_of_a_users(v1: Domain) -> None:
    """1.0 names a lookup's key only in WeChat's answer, so a user's WeChat lookups of the last
    two hours are bound within BOUND_LOOKUPS_PER_KEY per key they asked for; past that (here a
    script looking up face checks it did without keys) they are refused first."""
    now = time.time()
    hour_start = now - now % 3600 + 1
    guard = QuotaGuard(
        v1.backend.store, QuotaPolicy({GETINFO: 240}), report=lambda *r: None, clock=lambda: hour_start
    )  # an hourly budget of 30: lookups nobody is bound to refused from 24 (80 %)
    v1.backend.store.reserve(
        f"quota#{GETINFO}#h{int(hour_start // 3600)}", 24, below=None, ttl=int(now) + 7200
    )
    with wechat_calls(fast_config(v1.sim.url), tokens=SimTokens(v1.sim.url), guard=guard) as guarded:
        domain = replace(v1, wechat=guarded, lookups_per_hour=60)
        domain.key("credits", ALICE)  # one key: five bound lookups
        outcomes = []
        for _ in range(7):
            ref = domain.sim.control(
                "/sim/verify", {"openid": "credits", "name": CAROL[0], "id_card_number": CAROL[1]}
            )
            try:
                domain.look_up("credits", str(ref["verify_result"]))
                outcomes.append("admitted")
            except QuotaGuardRefused as err:
                outcomes.append(f"refused {err.what}")
    assert outcomes == ["admitted"] * BOUND_LOOKUPS_PER_KEY + ["refused lookups"] * 2
