"""A real local AWS endpoint (moto's server mode) for tests that run functions in-process, and a
way to give each test a fresh "container" (settings, clients and caches created anew)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import boto3

REGION = "us-east-1"
ROOT = Path(__file__).resolve().parents[2]


def clients(endpoint: str) -> dict[str, Any]:
    common: dict[str, Any] = {
        "endpoint_url": endpoint,
        "region_name": REGION,
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",
    }
    return {"ssm": boto3.client("ssm", **common), "dynamodb": boto3.client("dynamodb", **common)}


def create_table(dynamodb: Any, name: str) -> None:
    """The stack's table, with the schema template.yaml gives it (as the local stack creates it)."""
    props = _table_properties()
    dynamodb.create_table(
        TableName=name,
        AttributeDefinitions=props["AttributeDefinitions"],
        KeySchema=props["KeySchema"],
        BillingMode=props.get("BillingMode", "PAY_PER_REQUEST"),
    )


@cache
def _table_properties() -> dict[str, Any]:
    from devstack.template import load

    return load(ROOT / "template.yaml", stack_name="unit").table_properties


def fresh_container() -> None:
    """Forget every per-container singleton, as a new Lambda container would."""
    from tests.support.container import new_container

    new_container()


@dataclass
class Deployment:
    """One stack's worth of names: its table and SSM path, unique per test."""

    endpoint: str
    table: str
    path: str
    secret_param: str

    @classmethod
    def new(cls, endpoint: str) -> Deployment:
        tag = uuid.uuid4().hex[:10]
        return cls(endpoint, f"unit-{tag}", f"/unit-{tag}", f"/unit-{tag}-secret/app-secret")

    def env(self, sim_url: str, version: int = 2) -> dict[str, str]:
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "WECHAT_APP_ID": "wx0000000000000001",
            "WECHAT_APP_SECRET_PARAM": self.secret_param,
            "WECHAT_BASE_URL": sim_url,
            "WECHAT_FALLBACK_BASE_URL": "none",
            "FACE_API_VERSION": str(version),
            "PARAM_PATH": self.path,
            "TABLE_NAME": self.table,
            "REFRESHER_FUNCTION": "unit-token-refresher",
            "POWERTOOLS_METRICS_NAMESPACE": "UnitTests",
            "POWERTOOLS_SERVICE_NAME": "unit",
        }
