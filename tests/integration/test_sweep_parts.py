"""The 2.0 sweep in parts (SweepParts=2): the schedule's run starts the other part at once, a run of its own (an asynchronous invoke its
role allows, as the local stack's IAM checks), and together they look up every abandoned check."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.support.people import ALICE
from tests.support.stack import RunningStack, start_stack

pytestmark = pytest.mark.integration

STACK = "wechat-face-local"
USERS = 12


@pytest.fixture(scope="module")
def wide(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    overrides = {"SweepParts": "2", "ResultSweepAfterSeconds": "0", "SessionLimitPerAddressPerHour": "1000"}
    args = ["--parameter-overrides", *(f"{k}={v}" for k, v in overrides.items())]
    stack = start_stack(2, tmp_path_factory.mktemp("parts") / "stack.log", None, *args)
    yield stack
    stack.stop()


def test_the_schedules_run_starts_the_other_part_and_together_they_sweep_everything(
    wide: RunningStack,
) -> None:
    openids = [f"o-part-{i}" for i in range(USERS)]
    for openid in openids:  # face checks done, never looked up (the app was closed)
        token = wide.login(openid)
        wide.verify_on_phone(openid, wide.key_of(token, ALICE))
    wide.aws_control("POST", "/_devstack/calls")
    ran = wide.aws_control("POST", "/_devstack/schedules", {"functions": ["result-sweeper"]})
    first = ran[f"{STACK}-result-sweeper"]
    assert 0 < first.get("stored", 0) < USERS  # its part; the other part stored the rest
    deadline = time.monotonic() + 60
    waiting = list(openids)
    while waiting and time.monotonic() < deadline:
        waiting = [
            o for o in waiting if wide.signed("GET", f"/v1/users/{o}/face/results/latest").status_code != 200
        ]
        time.sleep(0.5)
    assert waiting == []
    calls = wide.aws_control("GET", "/_devstack/calls")
    assert calls["invocations"]["ResultSweeperFunction"]["invocations"] == 2
    assert calls["denied"] == 0  # the self-invoke is in the sweeper's role
    swept = wide.aws_control("POST", "/_devstack/schedules", {"functions": ["result-sweeper"]})
    assert swept[f"{STACK}-result-sweeper"] == {}  # nothing left
