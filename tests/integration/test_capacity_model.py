"""The capacity model checked where this machine can check it (docs/capacity.md, "Evidence"):
what a verification uses on the running stack is what bench/usage.json (the planner's input) says,
and a load run, a new user each verification, puts no more on any partition than its share."""

from __future__ import annotations

import concurrent.futures
import uuid

import pytest

from bench import usage
from tests.support.people import ALICE
from tests.support.stack import RunningStack
from wxface.ports.records import DEFAULT_SHARDS

pytestmark = pytest.mark.integration

VERIFICATIONS = 20
WORKERS = 4  # the machine has two cores: the local stack's own pace, not AWS's


def test_a_verification_uses_what_the_planners_input_says(stack: RunningStack) -> None:
    recorded = usage.load(stack.version)
    measured = usage.measure(stack, runs=2)
    assert measured["write_units"] == pytest.approx(recorded["write_units"], abs=2)
    assert measured["read_units"] == pytest.approx(recorded["read_units"], abs=2)
    assert measured["shared_write_units"] == pytest.approx(recorded["shared_write_units"], abs=1)
    assert measured["put_events"] == recorded["put_events"] and measured["ssm_calls"] == 0
    assert measured["wechat_calls"] == recorded["wechat_calls"]


def test_a_load_run_puts_no_more_on_any_partition_than_its_share(stack: RunningStack) -> None:
    stack.aws_control("POST", "/_devstack/calls")

    def verify(i: int) -> None:
        openid = f"o-load-{uuid.uuid4().hex[:8]}-{i}"
        token = stack.login(openid)
        ref = stack.verify_on_phone(openid, stack.key_of(token, ALICE))
        assert stack.lookup(token, ref).status_code == 200
        assert stack.lookup(token, ref).status_code == 200

    with concurrent.futures.ThreadPoolExecutor(WORKERS) as pool:
        list(pool.map(verify, range(VERIFICATIONS)))
    capacity = stack.aws_control("GET", "/_devstack/calls")["dynamodb_capacity"]
    per_verification = capacity["write_units"] / VERIFICATIONS
    recorded = usage.load(stack.version)
    assert per_verification == pytest.approx(recorded["write_units"], rel=0.25)
    for p in capacity["hot_partitions"]:
        share = p["write_units"] / VERIFICATIONS
        kind = usage.kind_of(p["partition"])
        if kind in ("OUTBOX", "PENDING"):
            # Spread over the partitions: none takes much more than an even share of its kind.
            even = recorded["shared_write_units"][kind] / DEFAULT_SHARDS
            assert share <= 3 * even + 0.5, p
        elif kind == "RATE#quota":
            # One write per block of calls, never one per call.
            assert p["writes"] < VERIFICATIONS, p
        else:
            # A user's own items: written by that user's one verification only.
            assert p["write_units"] <= recorded["write_units"], p
