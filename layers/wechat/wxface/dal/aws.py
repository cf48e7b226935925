"""boto3 clients, created once per container on first use (never at import time).

They honour ``AWS_ENDPOINT_URL`` (and ``AWS_ENDPOINT_URL_<SERVICE>``), which is how the local
stack points them at its own endpoint.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_ssm import SSMClient


def _config(read_timeout: float = 5.0, *, validate: bool = True) -> Any:
    from botocore.config import Config

    return Config(
        connect_timeout=2,
        read_timeout=read_timeout,
        retries={"mode": "standard", "max_attempts": 3},
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
