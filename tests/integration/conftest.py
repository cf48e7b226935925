"""One local stack per face API version for the whole test session, started on first use."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.stack import RunningStack, start_stack

pytestmark = pytest.mark.integration


@pytest.fixture(scope="session")
def stack_v1(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    stack = start_stack(1, tmp_path_factory.mktemp("stack-v1") / "stack.log")
    yield stack
    stack.stop()


@pytest.fixture(scope="session")
def stack_v2(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    stack = start_stack(2, tmp_path_factory.mktemp("stack-v2") / "stack.log")
    yield stack
    stack.stop()


@pytest.fixture(params=[1, 2], ids=["face-api-1", "face-api-2"])
def stack(request: pytest.FixtureRequest) -> RunningStack:
    """Both face API versions, each test run once per version."""
    running: RunningStack = request.getfixturevalue(f"stack_v{request.param}")
    running.sim_control("/sim/reset")
    return running
