"""Every AWS call is timed for the latency metrics, and timing never changes what the call does:
a call that fails to connect still raises botocore's own error (the API maps it to a 503), and
one that answers is timed with its operation."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from botocore.exceptions import EndpointConnectionError

from wxface.dal import aws


@pytest.fixture
def timings(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, str, float]]]:
    seen: list[tuple[str, str, float]] = []
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")
    previous = list(aws._timing)
    aws.observe_calls(lambda service, operation, ms: seen.append((service, operation, ms)))
    aws.ssm.cache_clear()
    aws.events.cache_clear()
    yield seen
    aws._timing[:] = previous
    aws.ssm.cache_clear()
    aws.events.cache_clear()


def test_a_call_that_cannot_connect_still_raises_its_own_error_and_is_timed(
    timings: list[tuple[str, str, float]],
) -> None:
    with pytest.raises(EndpointConnectionError):
        aws.ssm().get_parameter(Name="/x/y")
    assert [(s, o) for s, o, _ in timings] == [("ssm", "GetParameter")]
    assert timings[0][2] >= 0


def test_a_timing_observer_that_fails_does_not_fail_the_call(timings: list[tuple[str, str, float]]) -> None:
    def broken(service: str, operation: str, ms: float) -> None:
        raise RuntimeError("metrics are down")

    aws.observe_calls(broken)
    aws.events.cache_clear()
    with pytest.raises(EndpointConnectionError):  # not RuntimeError
        aws.events().put_events(Entries=[{"Source": "s", "DetailType": "d", "Detail": "{}"}])
