"""Shared fixtures: one WeChat simulator process for the whole test session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.simulator import RunningSim, SimTokens, fast_config, start_sim
from wxface.wechat import WeChatClient


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
def client(fresh_sim: RunningSim, tokens: SimTokens) -> Iterator[WeChatClient]:
    with WeChatClient(fast_config(fresh_sim.url), tokens=tokens) as c:
        yield c


@pytest.fixture
def log_dir(tmp_path: Path) -> Path:
    return tmp_path
