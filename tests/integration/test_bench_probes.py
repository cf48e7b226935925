"""The first-request baselines ``make bench`` compares the API functions with really make the calls
they stand for, over real sockets: a baseline that skipped its WeChat call or its writes would
flatter nothing but would make the product look slower than it is."""

from __future__ import annotations

import os
import sys
from typing import Any

import pytest

from bench.common import probe
from devstack.iam import OPERATOR_ACCESS_KEY_ID, OPERATOR_SECRET_ACCESS_KEY
from tests.support.stack import RunningStack

SITE = next(p for p in sys.path if p.endswith("site-packages"))


def login_job(stack: RunningStack, table: str) -> dict[str, Any]:
    code = stack.sim_control("/sim/login", {"openid": "o-bench-probe"})["code"]
    params = {"appid": "wx0000000000000001", "secret": "sim-app-secret", "js_code": code}
    return {
        "param": "/wechat-face/app-secret",
        "method": "GET",
        "url": f"{stack.sim}/sns/jscode2session",
        "params": {**params, "grant_type": "authorization_code"},
        "table": table,
        "writes": 2,
    }


@pytest.mark.parametrize("name", ["baseline_first_request", "floor_first_request"])
def test_a_first_request_baseline_makes_the_wechat_call_the_read_and_the_writes(
    stack_v2: RunningStack, name: str
) -> None:
    stack = stack_v2
    table = stack.aws_client("dynamodb").list_tables()["TableNames"][0]
    env = {
        "PATH": os.environ["PATH"],
        "AWS_ENDPOINT_URL": stack.aws,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": OPERATOR_ACCESS_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": OPERATOR_SECRET_ACCESS_KEY,
    }
    before = stack.calls_to("/sns/jscode2session")
    items = stack.aws_client("dynamodb").scan(TableName=table, Select="COUNT")["Count"]

    answer = probe(sys.executable, name, [SITE, SITE], env, login_job(stack, table))

    assert 0 < answer["s"] < 30
    assert answer.get("status", 200) == 200
    assert stack.calls_to("/sns/jscode2session") == before + 1
    assert stack.aws_client("dynamodb").scan(TableName=table, Select="COUNT")["Count"] == items + 2
