"""Past a route's throttle the local stack answers as API Gateway does (429 `{"message": "Too Many
Requests"}`, before any function runs), per route, with the limits the template's parameters set."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.stack import RunningStack, start_stack

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def throttled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    where: Path = tmp_path_factory.mktemp("throttle")
    stack = start_stack(
        2, where / "stack.log", None, "--parameter-overrides", "RouteRateLimit=1", "RouteBurstLimit=2"
    )
    yield stack
    stack.stop()


def test_past_its_burst_a_route_is_refused_by_the_gateway_and_the_others_are_not(
    throttled: RunningStack,
) -> None:
    answers = [throttled.http.post("/v1/session", json={"code": 5}) for _ in range(4)]
    statuses = [a.status_code for a in answers]
    assert statuses[:2] == [400, 400]  # the function's own answer: a malformed body
    assert 429 in statuses[2:]
    refused = next(a for a in answers if a.status_code == 429)
    assert refused.json() == {"message": "Too Many Requests"}
    # POST /v1/face/results has its own bucket (ResultsRouteRateLimit): not drained by the logins.
    assert throttled.http.post("/v1/face/results", json={}).status_code == 401
