"""Access tokens against the simulator: stable_token, /cgi-bin/token, force_refresh, quotas."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.people import ERIN
from tests.support.simulator import APPID, SECRET, RunningSim, SimTokens, fast_config, start_sim
from tests.support.wechat import Calls, wechat_calls
from wxface.wechat.errors import WeChatCredentialsRejected, WeChatQuotaExceeded, WeChatTokenError

pytestmark = pytest.mark.integration


class FixedToken:
    """A TokenSource that always answers one token and never refreshes it."""

    def __init__(self, token: str) -> None:
        self.token = token

    def get(self) -> str:
        return self.token

    def stale(self, token: str) -> None:
        pass


def token_errcode(sim: RunningSim, token: str) -> int:
    """0 if WeChat accepts ``token`` on a face call, else the token errcode it answers."""
    with wechat_calls(fast_config(sim.url), tokens=FixedToken(token)) as c:
        try:
            c.get_user_id_key(*ERIN)
        except WeChatTokenError as err:
            return err.errcode
    return 0


def token_works(sim: RunningSim, token: str) -> bool:
    return token_errcode(sim, token) == 0


def stable(client: Calls, force: bool = False) -> tuple[str, int]:
    answer = client.stable_token(APPID, SECRET, force_refresh=force)
    return answer.access_token.get_secret_value(), answer.expires_in


def test_stable_token_is_the_same_while_valid_and_long_enough(fresh_sim: RunningSim, client: Calls) -> None:
    fresh_sim.control("/sim/expire-tokens")  # start from a fresh token
    first, expires_in = stable(client)
    second, _ = stable(client)
    assert first == second
    assert 300 <= expires_in <= 7200
    assert len(first) >= 100  # WeChat asks for 512 characters of storage; ours are long too


def test_stable_token_renews_five_minutes_before_expiry_and_both_work(
    fresh_sim: RunningSim, client: Calls
) -> None:
    fresh_sim.control("/sim/expire-tokens")
    old, _ = stable(client)
    fresh_sim.control("/sim/clock", {"advance_s": 7200 - 301})
    assert stable(client)[0] == old  # 301 s left: still the same
    fresh_sim.control("/sim/clock", {"advance_s": 2})
    new, expires_in = stable(client)
    assert new != old
    assert expires_in >= 300
    assert token_works(fresh_sim, old) and token_works(fresh_sim, new)
    fresh_sim.control("/sim/clock", {"advance_s": 300})
    assert not token_works(fresh_sim, old)
    assert token_works(fresh_sim, new)


def test_force_refresh_retires_the_old_token_at_once(fresh_sim: RunningSim, client: Calls) -> None:
    old, _ = stable(client)
    new, _ = stable(client, force=True)
    assert new != old
    assert not token_works(fresh_sim, old)
    assert token_works(fresh_sim, new)


def test_force_refresh_within_30_seconds_does_not_refresh(fresh_sim: RunningSim, client: Calls) -> None:
    first, _ = stable(client, force=True)
    assert stable(client, force=True)[0] == first
    fresh_sim.control("/sim/clock", {"advance_s": 30})
    assert stable(client, force=True)[0] != first


def test_force_refresh_is_limited_to_20_a_day(fresh_sim: RunningSim, client: Calls) -> None:
    for _ in range(20):
        stable(client, force=True)
        fresh_sim.control("/sim/clock", {"advance_s": 31})
    with pytest.raises(WeChatQuotaExceeded) as err:
        stable(client, force=True)
    assert err.value.errcode == 45009
    assert err.value.http_status == 429
    stable(client)  # the normal mode still works
    fresh_sim.control("/sim/reset")
    stable(client, force=True)


def test_cgi_bin_token_mints_a_new_token_and_retires_the_previous_after_5_minutes(
    fresh_sim: RunningSim, client: Calls
) -> None:
    first = client.token(APPID, SECRET)
    second = client.token(APPID, SECRET)
    one, two = first.access_token.get_secret_value(), second.access_token.get_secret_value()
    assert one != two
    assert second.expires_in == 7200
    assert token_works(fresh_sim, one) and token_works(fresh_sim, two)
    fresh_sim.control("/sim/clock", {"advance_s": 301})
    assert not token_works(fresh_sim, one)
    assert token_works(fresh_sim, two)


def test_plain_and_stable_tokens_do_not_retire_each_other(fresh_sim: RunningSim, client: Calls) -> None:
    fresh_sim.control("/sim/expire-tokens")
    stable_value, _ = stable(client)
    plain = client.token(APPID, SECRET).access_token.get_secret_value()
    client.token(APPID, SECRET)
    stable(client, force=True)  # retires the stable token, not the plain one
    assert token_works(fresh_sim, plain)
    assert not token_works(fresh_sim, stable_value)
    fresh_sim.control("/sim/expire-tokens")
    stable_value, _ = stable(client)
    client.token(APPID, SECRET)
    fresh_sim.control("/sim/clock", {"advance_s": 301})
    assert token_works(fresh_sim, stable_value)  # /cgi-bin/token's grace applies to its own chain only


def test_tokens_expire_after_7200_seconds(fresh_sim: RunningSim, client: Calls) -> None:
    token = client.token(APPID, SECRET).access_token.get_secret_value()
    fresh_sim.control("/sim/clock", {"advance_s": 7200})
    assert token_errcode(fresh_sim, token) == 42001


def test_expire_tokens_retires_everything_and_stable_token_mints_anew(
    fresh_sim: RunningSim, client: Calls
) -> None:
    old, _ = stable(client)
    plain = client.token(APPID, SECRET).access_token.get_secret_value()
    fresh_sim.control("/sim/expire-tokens")
    assert token_errcode(fresh_sim, old) == 40001
    assert not token_works(fresh_sim, plain)
    new, _ = stable(client)
    assert new != old and token_works(fresh_sim, new)


@pytest.mark.parametrize(
    ("appid", "secret", "errcode"),
    [("wx-wrong", SECRET, 40013), (APPID, "wrong-secret", 40125)],
)
def test_wrong_appid_or_secret(client: Calls, appid: str, secret: str, errcode: int) -> None:
    with pytest.raises(WeChatCredentialsRejected) as err:
        client.stable_token(appid, secret)
    assert err.value.errcode == errcode
    assert err.value.http_status == 502
    with pytest.raises(WeChatCredentialsRejected) as err:
        client.token(appid, secret)
    assert err.value.errcode == errcode


def test_a_stale_token_is_refreshed_once_through_the_hook(fresh_sim: RunningSim) -> None:
    tokens = SimTokens(fresh_sim.url)
    with wechat_calls(fast_config(fresh_sim.url), tokens=tokens) as c:
        c.get_user_id_key(*ERIN)
        fresh_sim.control("/sim/expire-tokens")
        c.get_user_id_key(*ERIN)  # 40001, stale hook, fresh stable_token, retry: works
    assert tokens.stale_calls == 1


@pytest.fixture(scope="module")
def small_quota_sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSim]:
    quotas = {"/cgi-bin/token": 2, "/cityservice/face/identify/getuseridkey": 1}
    running = start_sim(
        tmp_path_factory.mktemp("quota") / "sim.log",
        {
            "WECHAT_SIM_DAILY_QUOTAS": json.dumps(quotas),
            "WECHAT_SIM_MINUTE_QUOTAS": json.dumps({"/cgi-bin/stable_token": 3}),
        },
    )
    yield running
    running.stop()


def test_daily_quota_answers_45009_until_reset(small_quota_sim: RunningSim) -> None:
    sim = small_quota_sim
    sim.control("/sim/reset")
    with wechat_calls(fast_config(sim.url), tokens=SimTokens(sim.url)) as c:
        c.token(APPID, SECRET)
        c.token(APPID, SECRET)
        with pytest.raises(WeChatQuotaExceeded) as err:
            c.token(APPID, SECRET)
        assert err.value.errcode == 45009
        c.get_user_id_key(*ERIN)
        with pytest.raises(WeChatQuotaExceeded):
            c.get_user_id_key(*ERIN)
        sim.control("/sim/reset")
        c.token(APPID, SECRET)
        c.get_user_id_key(*ERIN)


def test_per_minute_limit_answers_45011_and_lifts_next_minute(small_quota_sim: RunningSim) -> None:
    sim = small_quota_sim
    sim.control("/sim/reset")
    with wechat_calls(fast_config(sim.url)) as c:
        sim.control("/sim/clock", {"advance_s": 60})
        for _ in range(3):
            c.stable_token(APPID, SECRET)
        with pytest.raises(WeChatQuotaExceeded) as err:
            c.stable_token(APPID, SECRET)
        assert err.value.errcode == 45011
        sim.control("/sim/clock", {"advance_s": 60})
        c.stable_token(APPID, SECRET)


def test_simulator_refuses_a_bad_quota_setting(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="WECHAT_SIM_DAILY_QUOTAS"):
        start_sim(tmp_path / "bad.log", {"WECHAT_SIM_DAILY_QUOTAS": "[1, 2]"})


def test_success_answers_of_token_and_login_carry_no_errcode(fresh_sim: RunningSim) -> None:
    """As WeChat sends them: errcode / errmsg only on a failure (the client must not need them)."""
    plain = httpx.get(
        f"{fresh_sim.url}/cgi-bin/token",
        params={"grant_type": "client_credential", "appid": APPID, "secret": SECRET},
    ).json()
    stable = httpx.post(
        f"{fresh_sim.url}/cgi-bin/stable_token",
        json={"grant_type": "client_credential", "appid": APPID, "secret": SECRET},
    ).json()
    code = fresh_sim.control("/sim/login", {"openid": "o-bare"})["code"]
    login = httpx.get(
        f"{fresh_sim.url}/sns/jscode2session",
        params={"appid": APPID, "secret": SECRET, "js_code": code, "grant_type": "authorization_code"},
    ).json()
    assert set(plain) == set(stable) == {"access_token", "expires_in"}
    assert set(login) == {"openid", "session_key"}
