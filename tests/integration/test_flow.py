"""The whole product over HTTP, for both face API versions: login → key → face check → lookup
→ repeat lookup → latest → erasure."""

from __future__ import annotations

import time
import uuid

import pytest

from tests.support.people import ALICE, BOB
from tests.support.stack import RunningStack

pytestmark = pytest.mark.integration

LOOKUP = {1: "/cityservice/face/identify/getinfo", 2: "/cityservice/face/identify/queryverifyinfo"}
ISSUE = {1: "/cityservice/face/identify/getuseridkey", 2: "/cityservice/face/identify/getverifyid"}


def user() -> str:
    return f"o-{uuid.uuid4().hex[:12]}"


def test_login_issues_a_session_and_never_the_session_key(stack: RunningStack) -> None:
    code = stack.sim_control("/sim/login", {"openid": user()})["code"]
    resp = stack.http.post("/v1/session", json={"code": code})
    assert resp.status_code == 200
    body = resp.json()
    assert set(body) == {"token", "expires_in"}
    assert body["expires_in"] == 3600
    assert resp.headers["cache-control"] == "no-store"


def test_full_flow(stack: RunningStack) -> None:
    openid = user()
    token = stack.login(openid)
    key_resp = stack.issue_key(token, ALICE)
    assert key_resp.status_code == 200
    key_body = key_resp.json()
    assert key_body["api_version"] == stack.version
    assert key_body["expires_in"] == 3600
    key = key_body["verify_id" if stack.version == 2 else "user_id_key"]

    ref = stack.verify_on_phone(openid, key)
    first = stack.lookup(token, ref)
    assert first.status_code == 200, first.text
    result = first.json()
    assert result["passed"] is True
    assert result["identity_matched"] is True
    assert result["result_code"] == (10000 if stack.version == 2 else 0)
    assert result["api_version"] == stack.version
    assert result["message"] and result["message_zh"]
    assert isinstance(result["verified_at"], int)
    assert (result["validate_data"] is None) is (stack.version == 2)
    # The identity was typed in the mini-program: the user's, not an order of the business.
    assert (result["identity_source"], result["order_id"]) == ("user", None)

    # A repeated lookup answers from DynamoDB: no second WeChat call.
    before = stack.calls_to(LOOKUP[stack.version])
    again = stack.lookup(token, ref)
    assert again.json() == result
    assert stack.calls_to(LOOKUP[stack.version]) == before == 1
    assert stack.calls_to(ISSUE[stack.version]) == 1

    latest = stack.call("GET", "/v1/face/results/latest", token)
    assert latest.status_code == 200
    assert latest.json() == result

    erased = stack.call("DELETE", "/v1/me", token)
    assert erased.status_code == 204
    assert erased.content == b""
    # The erasure ended every session issued before it, on every container of every function.
    assert stack.call("GET", "/v1/face/results/latest", token).status_code == 401
    assert stack.call("DELETE", "/v1/me", token).status_code == 401
    assert stack.lookup(token, ref).status_code == 401
    assert stack.issue_key(token, ALICE).status_code == 401
    new_token = stack.login(openid)  # at once: in the erasure's own second, most likely
    assert stack.call("GET", "/v1/face/results/latest", new_token).status_code == 404
    assert stack.call("DELETE", "/v1/me", new_token).status_code == 204  # idempotent


def test_a_login_sent_after_the_erasure_answered_works_even_in_the_same_second(stack: RunningStack) -> None:
    """The erasure moves the user's erasure epoch on; a login reads it, so a session issued after
    the 204 is never refused for it, whatever second the containers' clocks say. Several rounds,
    each logging in straight after the 204 (most land in the erasure's own second)."""
    openid = user()
    token = stack.login(openid)
    for _ in range(3):
        assert stack.call("DELETE", "/v1/me", token).status_code == 204
        old, token = token, stack.login(openid)
        assert stack.call("GET", "/v1/face/results/latest", token).status_code == 404  # not 401
        assert stack.issue_key(token, ALICE).status_code == 200
        assert stack.call("GET", "/v1/face/results/latest", old).status_code == 401


def test_a_failed_face_check_is_a_200_that_did_not_pass(stack: RunningStack) -> None:
    openid = user()
    token = stack.login(openid)
    ref = stack.verify_on_phone(openid, stack.key_of(token, BOB), result_code=10004)
    resp = stack.lookup(token, ref)
    assert resp.status_code == 200
    body = resp.json()
    assert (body["passed"], body["result_code"]) == (False, 10004)
    assert "不匹配" in body["message_zh"]


def test_latest_is_the_newest_of_several(stack: RunningStack) -> None:
    openid = user()
    token = stack.login(openid)
    assert stack.call("GET", "/v1/face/results/latest", token).status_code == 404
    first = stack.verify_on_phone(openid, stack.key_of(token, ALICE), result_code=10004)
    stack.lookup(token, first)
    time.sleep(1.1)  # verified_at has second resolution
    second = stack.verify_on_phone(openid, stack.key_of(token, ALICE))
    newest = stack.lookup(token, second).json()
    assert newest["passed"] is True
    assert stack.call("GET", "/v1/face/results/latest", token).json() == newest


def test_erasure_removes_keys_and_results_from_the_table(stack: RunningStack) -> None:
    openid = user()
    token = stack.login(openid)
    ref = stack.verify_on_phone(openid, stack.key_of(token, ALICE))
    assert stack.lookup(token, ref).status_code == 200
    table = stack.aws_client("dynamodb")
    name = table.list_tables()["TableNames"][0]

    def records() -> int:  # keys, results and index items (not counters, the audit trail or events)
        items = table.scan(TableName=name)["Items"]
        return sum(1 for i in items if not i["pk"]["S"].startswith(("RATE#", "AUDIT#", "LIMITS#", "OUTBOX#")))

    before = records()
    assert stack.call("DELETE", "/v1/me", token).status_code == 204
    assert before - records() >= 4  # key, result and the user's two index items
    if stack.version == 2:
        assert stack.lookup(stack.login(openid), ref).status_code == 404  # the key record is gone too


def test_no_function_pays_for_a_cold_start_metric_lambda_already_reports(stack: RunningStack) -> None:
    """Each custom metric is billed every month, and Lambda's REPORT line already carries every
    cold start's Init Duration (the runbook's query): Powertools' ColdStart metric (one per
    function, with a function_name dimension) is not emitted."""
    token = stack.login(user())
    stack.call("GET", "/v1/face/results/latest", token)
    stack.issue_key(token, ALICE)
    log = stack.log_text()
    functions = ("TokenRefresherFunction", "SessionFunction", "FaceKeysFunction", "FaceResultsFunction")
    for function in functions:
        mine = [line for line in log.splitlines() if line.startswith(f"[{function}]")]
        assert any('"_aws"' in line for line in mine), function  # its metrics are flushed
        assert not any('"ColdStart"' in line for line in mine), function


def test_the_business_reference_travels_with_the_key_to_its_result(stack: RunningStack) -> None:
    openid = user()
    token = stack.login(openid)
    body = {"name": ALICE[0], "id_card_number": ALICE[1], "biz_ref": "order:A-1.2_3"}
    key = stack.call("POST", "/v1/face/keys", token, body).json()
    ref = stack.verify_on_phone(openid, key["verify_id" if stack.version == 2 else "user_id_key"])
    result = stack.lookup(token, ref).json()
    assert result["biz_ref"] == "order:A-1.2_3"
    assert stack.call("GET", "/v1/face/results/latest", token).json()["biz_ref"] == "order:A-1.2_3"
    other = stack.login(user())
    plain = stack.verify_on_phone(openid, stack.key_of(token, BOB))
    assert stack.lookup(token, plain).json()["biz_ref"] is None  # none given: null
    assert stack.call("GET", "/v1/face/results/latest", other).status_code == 404
