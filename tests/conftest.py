"""Shared fixtures: one WeChat simulator process for the whole test session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.aws import Deployment, clients, create_table, fresh_container
from tests.support.simulator import RunningSim, SimTokens, fast_config, start_sim
from tests.support.wechat import Calls, wechat_calls


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked ``after_all`` read what every other test left behind: they run last."""
    items.sort(key=lambda item: item.get_closest_marker("after_all") is not None)  # stable


@pytest.fixture(scope="session")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSim]:
    running = start_sim(tmp_path_factory.mktemp("sim") / "sim.log")
    yield running
    running.stop()


@pytest.fixture
def fresh_sim(sim: RunningSim) -> RunningSim:
    """The shared simulator with faults, call counts and quotas reset."""
    sim.control("/sim/reset")
    return sim


@pytest.fixture
def tokens(fresh_sim: RunningSim) -> SimTokens:
    return SimTokens(fresh_sim.url)


@pytest.fixture
def client(fresh_sim: RunningSim, tokens: SimTokens) -> Iterator[Calls]:
    with wechat_calls(fast_config(fresh_sim.url), tokens=tokens) as c:
        yield c


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """moto's server mode on a free port: a real AWS endpoint reached over HTTP."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def deployment(
    moto_endpoint: str, fresh_sim: RunningSim, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Deployment]:
    """A fresh table and SSM path on the local AWS endpoint, the AppSecret in place, and this
    process's environment set as the template sets a function's (face API 2.0)."""
    dep = Deployment.new(moto_endpoint)
    aws = clients(moto_endpoint)
    create_table(aws["dynamodb"], dep.table)
    aws["ssm"].put_parameter(Name=dep.secret_param, Value="sim-app-secret", Type="SecureString")
    for key, value in dep.env(fresh_sim.url).items():
        monkeypatch.setenv(key, value)
    fresh_container()
    yield dep
    fresh_container()
