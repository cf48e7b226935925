"""Nothing personal or secret in the local stack's whole log (functions, API access log, the
simulator) or in DynamoDB. Named to run after the other integration tests, whose traffic is in
the same logs; it also drives its own traffic, so it means something when run alone."""

from __future__ import annotations

import json
import uuid

import pytest

from tests.support.people import PEOPLE
from tests.support.stack import RunningStack
from wxface.identity import CERT_TYPE_IDENTITY_CARD, cert_hash, id_card_number_md5, name_utf8_md5

pytestmark = [pytest.mark.integration, pytest.mark.after_all]  # reads every test's log lines


def drive_everything(stack: RunningStack) -> list[str]:
    """Every route with every test person, good and bad input; returns the secrets seen."""
    seen: list[str] = ["sim-app-secret"]
    for i, (name, number) in enumerate(PEOPLE):
        openid = f"o-privacy-{uuid.uuid4().hex[:8]}-{i}"
        code = stack.sim_control("/sim/login", {"openid": openid})["code"]
        session = stack.http.post("/v1/session", json={"code": code}).json()["token"]
        seen.append(session)
        key = stack.key_of(session, (name, number))
        ref = stack.verify_on_phone(openid, key)
        stack.lookup(session, ref)
        stack.lookup(session, ref)
        stack.issue_key(session, (name, number[:-1] + ("0" if number[-1] != "0" else "1")))  # bad check digit
        stack.issue_key(session, (name + "3", number))  # bad name
        stack.call(
            "POST", "/v1/face/keys", session, content=f'{{"name": "{name}", "id_card_number": {number}}}'
        )
        stack.sim_control("/sim/faults", {"path": "/cityservice/face/identify/getverifyid", "errcode": 40001})
        stack.sim_control(
            "/sim/faults", {"path": "/cityservice/face/identify/getuseridkey", "errcode": 40001}
        )
        stack.issue_key(session, (name, number))
        stack.call("GET", "/v1/face/results/latest", session)
    ssm = stack.aws_client("ssm")
    for param in ssm.describe_parameters()["Parameters"]:
        value = ssm.get_parameter(Name=param["Name"], WithDecryption=True)["Parameter"]["Value"]
        if param["Name"].endswith("/access-token"):
            seen.append(json.loads(value)["access_token"])
        elif param["Name"].endswith(("-key", "app-secret")):
            seen.append(value)
    return seen


@pytest.mark.parametrize("version", [1, 2])
def test_no_personal_data_or_secret_in_logs_or_table(request: pytest.FixtureRequest, version: int) -> None:
    stack: RunningStack = request.getfixturevalue(f"stack_v{version}")
    stack.sim_control("/sim/reset")
    secrets = drive_everything(stack)
    log = stack.log_text()
    assert "[FaceKeysFunction]" in log and "wechat_sim.access" in log and "devstack.api" in log
    for name, number in PEOPLE:
        assert name not in log
        assert number not in log and number.lower() not in log
    for secret in secrets:
        assert secret not in log

    dynamodb = stack.aws_client("dynamodb")
    table = dynamodb.list_tables()["TableNames"][0]
    items = json.dumps(dynamodb.scan(TableName=table)["Items"], ensure_ascii=False)
    assert "KEY#" in items and "RESULT#" in items
    for name, number in PEOPLE:
        assert name not in items and number not in items
        # Nor any brute-forceable hash of them: 2.0's cert_hash is sealed, 1.0's MD5s are HMACs.
        assert cert_hash(CERT_TYPE_IDENTITY_CARD, name, number) not in items
        assert id_card_number_md5(number) not in items and name_utf8_md5(name) not in items
    assert "o-privacy-" not in items  # openids are stored as HMACs
    for secret in secrets:
        assert secret not in items
