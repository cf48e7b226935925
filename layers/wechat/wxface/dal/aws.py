"""boto3 clients, created once per container on first use (never at import time), by the
wiring's :class:`AwsClients`.

They honour ``AWS_ENDPOINT_URL`` (and ``AWS_ENDPOINT_URL_<SERVICE>``), which is how the local
stack points them at its own endpoint.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_ssm import SSMClient


# Retries: botocore's "standard" mode, chosen over "adaptive" and "legacy". It retries throttling
# (ThrottlingException, ProvisionedThroughputExceededException, ...), 5xx and transient network
# errors with exponential backoff and full jitter (a random wait in [0, 2^(attempt-1)] s), and its
# per-client retry quota stops a failing dependency from being hammered by retries. "adaptive"
# adds a client-side rate limiter, but a limiter per container cannot see the other containers
# that share an account's limit (SSM's 40/s), and it makes the caller sleep inside the request;
# "legacy" retries fewer errors and without a quota.
#
# Attempts are bounded so that retries fit in the function's time budget (Timeout 15 s): 3
# attempts in all (the first and two retries) wait at most 1 + 2 = 3 s in backoff. A failure that
# outlasts them answers 503 with Retry-After (api/resolver.py).
TOTAL_ATTEMPTS = 3

# Hears every AWS call's latency (service, operation, milliseconds, retries included): the
# function's latency metrics, handed over by the wiring (wxface.runtime). It must not raise.
Timing = Callable[[str, str, float], None]


def _timed(client: Any, timing: Timing) -> Any:
    """Register botocore's before-call / after-call events on ``client``: one measurement per
    API call, its retries included (they happen between the two events)."""
    service = client.meta.service_model.service_name

    def started(model: Any, context: dict[str, Any], **_: Any) -> None:
        context["wxface_call"] = (model.name, time.perf_counter())

    def finished(context: dict[str, Any], **_: Any) -> None:
        # Also on after-call-error (a connection error, a timeout), which carries no model: the
        # operation comes from before-call. Never raises: an error here would replace the call's
        # own exception (and its 503 mapping) or its answer.
        begun = context.pop("wxface_call", None)
        if begun is not None:
            with contextlib.suppress(Exception):
                timing(service, begun[0], (time.perf_counter() - begun[1]) * 1000)

    events, event_id = client.meta.events, client.meta.service_model.service_id.hyphenize()
    events.register(f"before-call.{event_id}", started)
    events.register(f"after-call.{event_id}", finished)
    events.register(f"after-call-error.{event_id}", finished)
    return client


def _config(read_timeout: float = 5.0, *, validate: bool = True) -> Any:
    from botocore.config import Config

    return Config(
        connect_timeout=2,
        read_timeout=read_timeout,
        retries={"mode": "standard", "total_max_attempts": TOTAL_ATTEMPTS},
        tcp_keepalive=True,
        parameter_validation=validate,
    )


class AwsClients:
    """One container's boto3 clients, each created on its first use (never at import time) and
    then kept; every call of them timed by ``timing`` when one is given (the wiring gives the
    function's latency metrics). The adapters take them from here, so nothing about them is
    registered at module level."""

    def __init__(self, timing: Timing | None = None, *, dynamodb: DynamoDBClient | None = None) -> None:
        self._timing = timing
        # A client made elsewhere may be handed over (a test's or a benchmark's own), used as is.
        self._clients: dict[str, Any] = {"dynamodb": dynamodb} if dynamodb is not None else {}

    def _client(self, service: str, **config: Any) -> Any:
        client = self._clients.get(service)
        if client is None:
            import boto3

            client = boto3.client(service, config=_config(**config))  # type: ignore[call-overload]
            if self._timing is not None:
                client = _timed(client, self._timing)
            self._clients[service] = client
        return client

    def ssm(self) -> SSMClient:
        client: SSMClient = self._client("ssm")
        return client

    def dynamodb(self) -> DynamoDBClient:
        # Every request is built by typed code (mypy-boto3 types, mypy --strict) and DynamoDB
        # checks it again on arrival, so botocore's client-side re-validation of each request's
        # shape is skipped: about a tenth of a warm key issuance (docs/benchmarks.md).
        client: DynamoDBClient = self._client("dynamodb", validate=False)
        return client

    def lambda_(self) -> LambdaClient:
        # A synchronous refresh may take the WeChat client's whole budget (10 s) and then some.
        client: LambdaClient = self._client("lambda", read_timeout=14.0)
        return client

    def events(self) -> EventBridgeClient:
        client: EventBridgeClient = self._client("events")
        return client
