"""The shared token: one writer, cached readers, the coordinated refresh on a token error."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest

from tests.support.aws import Deployment, clients
from tests.support.container import container
from tests.support.simulator import APPID, RunningSim
from tests.support.wechat import ClientConfig, wechat_calls
from wxface.dal.params import SsmParams
from wxface.dal.table import Table
from wxface.domain.stack_keys import sha256_hex
from wxface.domain.tokens import LEASE_NAME, SharedTokenReader, StoredToken, refresh_token
from wxface.ports.params import Refresher as RefresherPort
from wxface.runtime import Container
from wxface.wechat.errors import WeChatUnavailable


class Refresher:
    """Stands in for the Lambda invoke: runs the real refresh_token in-process and counts."""

    def __init__(self, dep: Deployment, sim: RunningSim) -> None:
        self.dep = dep
        self.client = wechat_calls(ClientConfig.of(base_url=sim.url, fallback_base_url=None))
        self.payloads: list[dict[str, Any]] = []
        self.params = SsmParams()  # the refresher's own container, its own cache

    def run_now(self, payload: dict[str, Any]) -> dict[str, Any]:
        self.payloads.append(payload)
        return refresh_token(
            self.client,
            self.params,
            APPID,
            self.dep.secret_param,
            f"{self.dep.path}/access-token",
            refused_token_sha256=payload.get("refused_token_sha256"),
        )


def ssm_calls(of: Container) -> list[str]:
    seen: list[str] = []
    of.aws.ssm().meta.events.register("before-call.ssm.*", lambda model, **_: seen.append(model.name))
    return seen


def reader(
    dep: Deployment, refresher: RefresherPort, cache_s: int = 60, *, of: Container | None = None
) -> SharedTokenReader:
    """A token reader as an API function's container has one (``of``: that container; by
    default a new one)."""
    c = of or container()
    return SharedTokenReader(
        c.params, f"{dep.path}/access-token", Table(dep.table, c.aws), refresher, cache_s=cache_s
    )


def stored(dep: Deployment) -> StoredToken:
    value = clients(dep.endpoint)["ssm"].get_parameter(Name=f"{dep.path}/access-token", WithDecryption=True)
    return StoredToken.loads(value["Parameter"]["Value"])


def test_refresher_writes_only_when_the_token_changed(deployment: Deployment, fresh_sim: RunningSim) -> None:
    fresh_sim.control("/sim/expire-tokens")
    refresher = Refresher(deployment, fresh_sim)
    first = refresher.run_now({})
    assert first["changed"] is True and first["forced"] is False
    ssm = clients(deployment.endpoint)["ssm"]
    version = ssm.get_parameter(Name=f"{deployment.path}/access-token")["Parameter"]["Version"]
    assert refresher.run_now({})["changed"] is False
    assert ssm.get_parameter(Name=f"{deployment.path}/access-token")["Parameter"]["Version"] == version
    param = ssm.describe_parameters(
        ParameterFilters=[{"Key": "Name", "Values": [f"{deployment.path}/access-token"]}]
    )
    assert param["Parameters"][0]["Type"] == "SecureString"
    # In the last 5 minutes WeChat hands out the next token: the refresher writes it.
    fresh_sim.control("/sim/clock", {"advance_s": 7200 - 299})
    assert refresher.run_now({})["changed"] is True
    assert stored(deployment).expires_at > time.time() + 7000


def test_first_reader_on_a_new_deployment_triggers_the_refresh(
    deployment: Deployment, fresh_sim: RunningSim
) -> None:
    refresher = Refresher(deployment, fresh_sim)
    token = reader(deployment, refresher).get()
    assert token == stored(deployment).access_token
    assert len(refresher.payloads) == 1
    assert refresher.payloads[0]["refused_token_sha256"] is None


def test_warm_reads_make_no_ssm_call(deployment: Deployment, fresh_sim: RunningSim) -> None:
    refresher = Refresher(deployment, fresh_sim)
    refresher.run_now({})
    c = container()
    r = reader(deployment, refresher, of=c)
    r.get()
    calls = ssm_calls(c)
    for _ in range(20):
        r.get()
    assert calls == []


def test_stale_with_a_newer_token_in_ssm_just_rereads(deployment: Deployment, fresh_sim: RunningSim) -> None:
    refresher = Refresher(deployment, fresh_sim)
    refresher.run_now({})
    r = reader(deployment, refresher)
    old = r.get()
    fresh_sim.control("/sim/expire-tokens")
    refresher.run_now({})  # the schedule got there first
    r.stale(old)
    assert r.get() != old
    assert len(refresher.payloads) == 2  # only the two direct runs above


def test_stale_with_the_same_token_in_ssm_asks_the_refresher_once(
    deployment: Deployment, fresh_sim: RunningSim
) -> None:
    refresher = Refresher(deployment, fresh_sim)
    refresher.run_now({})
    r = reader(deployment, refresher)
    old = r.get()
    fresh_sim.control("/sim/expire-tokens")
    r.stale(old)
    new = r.get()
    assert new != old
    assert refresher.payloads[-1]["refused_token_sha256"] == sha256_hex(old)
    assert len(refresher.payloads) == 2


def test_refused_token_that_wechat_still_hands_out_is_force_refreshed(
    deployment: Deployment, fresh_sim: RunningSim
) -> None:
    refresher = Refresher(deployment, fresh_sim)
    refresher.run_now({})
    current = stored(deployment).access_token
    answer = refresher.run_now({"refused_token_sha256": sha256_hex(current)})
    assert answer["forced"] is True and answer["changed"] is True
    assert stored(deployment).access_token != current


def test_other_containers_wait_for_the_refresh_instead_of_invoking(
    deployment: Deployment, fresh_sim: RunningSim
) -> None:
    refresher = Refresher(deployment, fresh_sim)
    refresher.run_now({})
    r = reader(deployment, refresher)
    old = r.get()
    table = Table(deployment.table)
    assert table.acquire_lease(LEASE_NAME, "another-container", time.time(), 20)
    fresh_sim.control("/sim/expire-tokens")

    def the_lease_holder() -> None:
        time.sleep(0.5)
        refresher.run_now({})
        table.release_lease(LEASE_NAME, "another-container")

    holder = threading.Thread(target=the_lease_holder)
    holder.start()
    r.stale(old)
    holder.join()
    assert r.get() != old
    assert len(refresher.payloads) == 2  # the reader itself never invoked


def test_a_failed_refresh_is_unavailable_not_a_crash(deployment: Deployment, fresh_sim: RunningSim) -> None:
    class Failing:
        def run_now(self, payload: dict[str, Any]) -> dict[str, Any]:
            return {"ok": False}

    r = reader(deployment, Failing())
    with pytest.raises(WeChatUnavailable):
        r.get()
    # The lease was released: the next reader can try again.
    assert Table(deployment.table).acquire_lease(LEASE_NAME, "next", time.time(), 20)


def test_stored_token_never_shows_in_repr() -> None:
    token = StoredToken("SECRET-TOKEN-VALUE", 123)
    assert "SECRET-TOKEN-VALUE" not in repr(token)
    assert json.loads(token.dumps())["access_token"] == "SECRET-TOKEN-VALUE"


def test_prefetch_never_overwrites_a_token_refreshed_after_a_refusal(
    deployment: Deployment, fresh_sim: RunningSim
) -> None:
    refresher = Refresher(deployment, fresh_sim)
    refresher.run_now({})
    c = container()
    prefetch = c.edge_for_keys.prefetch
    assert prefetch is not None
    prefetch()  # a first request: the token (and keys, if any) cached
    r = reader(deployment, refresher, of=c)  # the same container's reader, the same cache
    old = r.get()
    fresh_sim.control("/sim/expire-tokens")
    r.stale(old)  # re-read after the refresher ran: the cache now holds the new token
    new = r.get()
    assert new != old
    prefetch()  # the next request's prefetch
    assert r.get() == new


def test_a_new_app_secret_in_ssm_is_used_once_the_cache_age_has_passed(
    deployment: Deployment, fresh_sim: RunningSim, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The operator resets the AppSecret in WeChat's console and puts the new one into SSM: the
    refresher uses it after SECRET_CACHE_SECONDS without meeting a single 40125."""
    from tests.support.aws import fresh_container
    from tests.support.handlers import refresh

    monkeypatch.setenv("SECRET_CACHE_SECONDS", "1")
    fresh_container()
    assert refresh(deployment)["ok"] is True  # the current secret is cached now
    try:
        fresh_sim.control("/sim/app-secret", {"secret": "operator-new-secret"})
        clients(deployment.endpoint)["ssm"].put_parameter(
            Name=deployment.secret_param, Value="operator-new-secret", Type="SecureString", Overwrite=True
        )
        time.sleep(1.1)
        fresh_sim.control("/sim/reset")
        assert refresh(deployment)["ok"] is True
        assert fresh_sim.calls().get("/cgi-bin/stable_token") == 1  # no 40125 first: read anew
    finally:
        fresh_sim.control("/sim/app-secret", {"secret": "sim-app-secret"})
