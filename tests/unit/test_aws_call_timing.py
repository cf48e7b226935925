"""Every AWS call is timed for the latency metrics, and timing never changes what the call does:
a call that fails to connect still raises botocore's own error (the API maps it to a 503), and
one that answers is timed with its operation."""

from __future__ import annotations

import pytest
from botocore.exceptions import EndpointConnectionError

from wxface.dal.aws import AwsClients


@pytest.fixture(autouse=True)
def nowhere(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")


def test_a_call_that_cannot_connect_still_raises_its_own_error_and_is_timed() -> None:
    timings: list[tuple[str, str, float]] = []
    clients = AwsClients(timing=lambda service, operation, ms: timings.append((service, operation, ms)))
    with pytest.raises(EndpointConnectionError):
        clients.ssm().get_parameter(Name="/x/y")
    assert [(s, o) for s, o, _ in timings] == [("ssm", "GetParameter")]
    assert timings[0][2] >= 0


def test_a_timing_observer_that_fails_does_not_fail_the_call() -> None:
    def broken(service: str, operation: str, ms: float) -> None:
        raise RuntimeError("metrics are down")

    with pytest.raises(EndpointConnectionError):  # not RuntimeError
        AwsClients(timing=broken).events().put_events(
            Entries=[{"Source": "s", "DetailType": "d", "Detail": "{}"}]
        )


def test_each_client_is_made_once_per_container_and_never_shared_between_two() -> None:
    first, second = AwsClients(), AwsClients()
    assert first.dynamodb() is first.dynamodb() and first.ssm() is first.ssm()
    assert first.dynamodb() is not second.dynamodb()
    timings: list[str] = []
    timed = AwsClients(timing=lambda service, operation, ms: timings.append(operation))
    with pytest.raises(EndpointConnectionError):
        first.ssm().get_parameter(Name="/x/y")  # another container's hook hears nothing of it
    with pytest.raises(EndpointConnectionError):
        timed.ssm().get_parameter(Name="/x/y")
    assert timings == ["GetParameter"]
