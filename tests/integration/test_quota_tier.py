"""The quota guard's protected tier is not free to attackers: a lookup counts as bound (refused
only at the hourly budget itself) for the first few WeChat lookups of a key the caller owns, so a
script polling a check it never finishes is refused with the lookups nobody is bound to, and an
honest user's lookup still goes through. Through the local stack, at a small quota."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest

from tests.support.people import ALICE
from tests.support.stack import RunningStack, start_stack
from wxface.domain.limits import BOUND_LOOKUPS_PER_KEY

pytestmark = pytest.mark.integration

QUERY = "/cityservice/face/identify/queryverifyinfo"
DAILY = 48  # an hourly budget of 3 x 48 / 24 = 6 lookups: unbound ones refused from 5 (80 %)


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    overrides = {
        "WeChatDailyQuotas": json.dumps({QUERY: DAILY}),
        "LookupLimitPerHour": "20",
        "SessionLimitPerAddressPerHour": "100",
    }
    args = ["--parameter-overrides", *(f"{k}={v}" for k, v in overrides.items())]
    stack = start_stack(2, tmp_path_factory.mktemp("tier") / "stack.log", None, *args)
    yield stack
    stack.stop()


def within_one_hour() -> None:
    """The budget is per hour: start well inside one, so the whole test counts in it."""
    left = 3600 - time.time() % 3600
    if left < 60:
        time.sleep(left + 1)


def test_polling_a_check_never_finished_cannot_take_the_bound_tier(small: RunningStack) -> None:
    within_one_hour()
    small.sim_control("/sim/reset")
    attacker = small.login("tier-attacker")
    key = small.key_of(attacker, ALICE)  # ... and the face check is never done: 10300 each time
    answers = [small.lookup(attacker, key) for _ in range(8)]
    reached = [a for a in answers if a.status_code == 200]
    assert len(reached) == BOUND_LOOKUPS_PER_KEY  # its first lookups are bound...
    assert all(a.json()["result_code"] == 10300 and a.json()["passed"] is False for a in reached)
    refused = [a for a in answers if a.status_code == 429]
    assert len(refused) == 8 - BOUND_LOOKUPS_PER_KEY  # ...then refused first, past 80 % of the hour
    error = refused[0].json()["error"]
    assert error["code"] == "wechat_quota_guard"
    assert "looking up" in error["message"] and "查询" in error["message_zh"]  # names what it refused
    assert 0 < int(refused[0].headers["Retry-After"]) <= 3600
    assert small.calls_to(QUERY) == BOUND_LOOKUPS_PER_KEY
    # An honest user's lookup is still bound: it finishes the face check it started.
    honest = small.login("tier-honest")
    verify_id = small.key_of(honest, ALICE)
    small.verify_on_phone("tier-honest", verify_id)
    result = small.lookup(honest, verify_id)
    assert result.status_code == 200, result.text
    assert result.json()["passed"] is True
