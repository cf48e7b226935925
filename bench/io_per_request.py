"""4. I/O per request: the WeChat, SSM and DynamoDB calls each route makes on warm containers,
counted by the simulator and the local AWS endpoint."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import httpx

from tests.support.people import ALICE
from tests.support.stack import RunningStack

from .common import row, target

SECTION = "4 I/O per request"


def run(stack: RunningStack) -> None:
    aws = httpx.Client(base_url=stack.aws)
    openid = f"o-io-{uuid.uuid4().hex[:6]}"
    token = stack.login(openid)
    warm = stack.key_of(token, ALICE)  # warm every container on the path: keys, and results too
    stack.verify_on_phone(openid, warm)
    stack.lookup(token, warm)
    stack.call("GET", "/v1/face/results/latest", token)

    def measure(action: Callable[[], Any]) -> dict[str, int]:
        aws.post("/_devstack/calls")
        stack.sim_control("/sim/reset")
        action()
        counts = aws.get("/_devstack/calls").json()["by_service"]
        wechat = sum(v for k, v in stack.calls().items() if k.startswith(("/cityservice", "/sns")))
        return {
            "wechat": wechat,
            "ssm": sum(counts.get("ssm", {}).values()),
            "dynamodb": sum(counts.get("dynamodb", {}).values()),
        }

    key: list[str] = []
    issue = measure(lambda: key.append(stack.key_of(token, ALICE)))
    stack.verify_on_phone(openid, key[0])
    first = measure(lambda: stack.lookup(token, key[0]))
    repeat = measure(lambda: stack.lookup(token, key[0]))
    action = {"Idempotency-Key": uuid.uuid4().hex}
    body = {"name": ALICE[0], "id_card_number": ALICE[1]}
    stack.call("POST", "/v1/face/keys", token, body, headers={"Idempotency-Key": uuid.uuid4().hex})  # warm
    idempotent = measure(lambda: stack.call("POST", "/v1/face/keys", token, body, headers=action))
    replayed = measure(lambda: stack.call("POST", "/v1/face/keys", token, body, headers=action))
    code = stack.sim_control("/sim/login", {"openid": openid})["code"]
    login = measure(lambda: stack.http.post("/v1/session", json={"code": code}))
    for name, got, wechat, most, why in (
        ("key issuance", issue, 1, 3, ""),
        (
            "first lookup (with its event: PutEvents, then the outbox entry's delete)",
            first,
            1,
            5,
            " (3 + the event's outbox entry, deleted once EventBridge took it, + the key's WeChat lookup"
            " count for the quota guard's bound tier; see below)",
        ),
        ("repeated lookup", repeat, 0, 3, ""),
        ("login (jscode2session is the WeChat call)", login, 1, 3, ""),
        (
            "key issuance with an Idempotency-Key (Powertools' record: one put, one update)",
            idempotent,
            1,
            5,
            " (3 + the idempotency record's 2; see below)",
        ),
        (
            "the same request again (same Idempotency-Key and body): the first answer replayed",
            replayed,
            0,
            3,
            "",
        ),
    ):
        ok = got["ssm"] == 0 and got["wechat"] == wechat and got["dynamodb"] <= most
        limit = f"WeChat {wechat}, SSM 0, DynamoDB <= {most}{why}"
        value = f"WeChat {got['wechat']}, SSM {got['ssm']}, DynamoDB {got['dynamodb']}"
        row(SECTION, name, value, target(limit, ok))
