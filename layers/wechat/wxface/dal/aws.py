"""boto3 clients, created once per container on first use (never at import time).

They honour ``AWS_ENDPOINT_URL`` (and ``AWS_ENDPOINT_URL_<SERVICE>``), which is how the local
stack points them at its own endpoint.
"""

from __future__ import annotations

from functools import cache
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


def _config(read_timeout: float = 5.0, *, validate: bool = True) -> Any:
    from botocore.config import Config

    return Config(
        connect_timeout=2,
        read_timeout=read_timeout,
        retries={"mode": "standard", "total_max_attempts": TOTAL_ATTEMPTS},
        tcp_keepalive=True,
        parameter_validation=validate,
    )


@cache
def ssm() -> SSMClient:
    import boto3

    return boto3.client("ssm", config=_config())


@cache
def dynamodb() -> DynamoDBClient:
    import boto3

    # Every request is built by typed code (mypy-boto3 types, mypy --strict) and DynamoDB checks
    # it again on arrival, so botocore's client-side re-validation of each request's shape is
    # skipped: about a tenth of a warm key issuance (docs/benchmarks.md).
    return boto3.client("dynamodb", config=_config(validate=False))


@cache
def lambda_() -> LambdaClient:
    import boto3

    # A synchronous refresh may take the WeChat client's whole budget (10 s) and then some.
    return boto3.client("lambda", config=_config(read_timeout=14.0))


@cache
def events() -> EventBridgeClient:
    import boto3

    return boto3.client("events", config=_config())
