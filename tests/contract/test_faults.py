"""Injected faults over real sockets: bounded retries, bounded time, host fallback, token retry."""

from __future__ import annotations

import socket
import time

import pytest

from tests.support.people import ALICE
from tests.support.simulator import RunningSim, SimTokens, fast_config
from tests.support.wechat import Calls, ClientConfig, wechat_calls
from wxface.api.errors import from_wechat
from wxface.wechat.errors import WeChatBusy, WeChatQuotaExceeded, WeChatUnavailable

pytestmark = pytest.mark.integration

GETINFO = "/cityservice/face/identify/getinfo"
GETUSERIDKEY = "/cityservice/face/identify/getuseridkey"


def verified(sim: RunningSim, client: Calls) -> str:
    key = client.get_user_id_key(*ALICE)
    return str(
        sim.control("/sim/verify", {"openid": "o-alice", "user_id_key": key.user_id_key})["verify_result"]
    )


def test_busy_twice_then_answer(fresh_sim: RunningSim, client: Calls) -> None:
    verify_result = verified(fresh_sim, client)
    fresh_sim.control("/sim/faults", {"path": GETINFO, "errcode": -1, "times": 2})
    assert client.get_info(verify_result).identify_ret == 0
    assert fresh_sim.calls()[GETINFO] == 3


def test_busy_every_time_stops_after_max_attempts(fresh_sim: RunningSim, client: Calls) -> None:
    verify_result = verified(fresh_sim, client)
    fresh_sim.control("/sim/faults", {"path": GETINFO, "errcode": -1, "times": 100})
    started = time.monotonic()
    with pytest.raises(WeChatBusy) as err:
        client.get_info(verify_result)
    assert time.monotonic() - started < client.policy.total_budget + 0.5
    assert fresh_sim.calls()[GETINFO] == client.policy.max_attempts
    assert from_wechat(err.value).status == 503


def test_upstream_5xx_is_retried(fresh_sim: RunningSim, client: Calls) -> None:
    verify_result = verified(fresh_sim, client)
    fresh_sim.control("/sim/faults", {"path": GETINFO, "http_status": 502})
    assert client.get_info(verify_result).identify_ret == 0
    assert fresh_sim.calls()[GETINFO] == 2


def test_a_slow_wechat_is_cut_off_within_the_budget(fresh_sim: RunningSim, client: Calls) -> None:
    verify_result = verified(fresh_sim, client)
    fresh_sim.control("/sim/faults", {"path": GETINFO, "delay_ms": 3000, "times": 100})
    started = time.monotonic()
    with pytest.raises(WeChatUnavailable) as err:
        client.get_info(verify_result)
    elapsed = time.monotonic() - started
    assert elapsed < client.policy.total_budget + 0.5
    assert 2 <= fresh_sim.calls()[GETINFO] <= client.policy.max_attempts
    assert from_wechat(err.value).status == 503


@pytest.mark.slow
def test_default_settings_answer_within_about_ten_seconds(fresh_sim: RunningSim) -> None:
    """The production settings: 5 s read timeout, 10 s for every attempt together."""
    config = ClientConfig.of(base_url=fresh_sim.url, fallback_base_url=None)
    assert (config.transport.read_timeout, config.policy.total_budget) == (5.0, 10.0)
    with wechat_calls(config, tokens=SimTokens(fresh_sim.url)) as c:
        verify_result = verified(fresh_sim, c)
        fresh_sim.control("/sim/faults", {"path": GETINFO, "delay_ms": 30_000, "times": 100})
        started = time.monotonic()
        with pytest.raises(WeChatUnavailable):
            c.get_info(verify_result)
    assert time.monotonic() - started < 10.5
    assert fresh_sim.calls()[GETINFO] == 2


def test_a_delay_below_the_timeout_is_just_slow(fresh_sim: RunningSim, client: Calls) -> None:
    verify_result = verified(fresh_sim, client)
    fresh_sim.control("/sim/faults", {"path": GETINFO, "delay_ms": 100})
    assert client.get_info(verify_result).identify_ret == 0
    assert fresh_sim.calls()[GETINFO] == 1


def test_an_injected_token_error_uses_the_stale_hook_once(fresh_sim: RunningSim) -> None:
    tokens = SimTokens(fresh_sim.url)
    with wechat_calls(fast_config(fresh_sim.url), tokens=tokens) as c:
        fresh_sim.control("/sim/faults", {"path": GETUSERIDKEY, "errcode": 40001})
        c.get_user_id_key(*ALICE)
    assert tokens.stale_calls == 1
    assert fresh_sim.calls()[GETUSERIDKEY] == 2


def test_quota_errcodes_are_not_retried(fresh_sim: RunningSim, client: Calls) -> None:
    fresh_sim.control("/sim/faults", {"path": GETUSERIDKEY, "errcode": 45011, "times": 5})
    with pytest.raises(WeChatQuotaExceeded):
        client.get_user_id_key(*ALICE)
    assert fresh_sim.calls()[GETUSERIDKEY] == 1


def test_faults_hit_only_their_path_and_only_n_times(fresh_sim: RunningSim, client: Calls) -> None:
    fresh_sim.control("/sim/faults", {"path": GETINFO, "errcode": 45009, "times": 1})
    verify_result = verified(fresh_sim, client)  # getuseridkey unaffected
    with pytest.raises(WeChatQuotaExceeded):
        client.get_info(verify_result)
    assert client.get_info(verify_result).identify_ret == 0


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def test_an_unreachable_primary_host_falls_back(fresh_sim: RunningSim) -> None:
    config = fast_config(f"http://127.0.0.1:{_closed_port()}", fallback_base_url=fresh_sim.url)
    with wechat_calls(config, tokens=SimTokens(fresh_sim.url)) as c:
        assert c.get_user_id_key(*ALICE).user_id_key
    assert fresh_sim.calls()[GETUSERIDKEY] == 1


def test_nothing_listening_at_all_is_unavailable(fresh_sim: RunningSim) -> None:
    config = fast_config(f"http://127.0.0.1:{_closed_port()}")
    with wechat_calls(config, tokens=SimTokens(fresh_sim.url)) as c, pytest.raises(WeChatUnavailable):
        c.get_user_id_key(*ALICE)
