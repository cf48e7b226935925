"""API Gateway's route throttles in the local stack, as the template sets them: a token bucket per
route (its burst at once, refilled at its rate), POST /v1/face/results with its own."""

from __future__ import annotations

from devstack.api_gateway import TokenBucket
from devstack.template import load
from tests.support.tools import ROOT


def test_a_bucket_lets_its_burst_through_then_its_rate() -> None:
    now = [0.0]
    bucket = TokenBucket(2.0, 3, clock=lambda: now[0])
    assert [bucket.take() for _ in range(4)] == [True, True, True, False]
    now[0] = 0.5  # half a second at 2 a second: one more
    assert [bucket.take(), bucket.take()] == [True, False]
    now[0] = 100.0  # refilled, never above the burst
    assert sum(bucket.take() for _ in range(10)) == 3


def test_each_route_gets_the_stages_throttle_the_results_route_its_own() -> None:
    stack = load(
        ROOT / "template.yaml", stack_name="unit", overrides={"RouteRateLimit": "7", "RouteBurstLimit": "9"}
    )
    throttles = {route.route_key: route.throttle for route in stack.routes}
    assert throttles["POST /v1/face/keys"] == (7.0, 9)
    assert throttles["POST /v1/session"] == (7.0, 9)
    assert throttles["POST /v1/face/results"] == (200.0, 400)  # ResultsRouteRateLimit / BurstLimit
