"""Orders over HTTP, for both face API versions, against the shared local stacks: the business's
servers create an order (SigV4, the local business identity), the mini-program asks for a key by
it, the face check passes or fails, the business reads the order and (2.0) the photo; each refusal
the contract lists, none of them reaching WeChat; cancel and expiry with a key outstanding;
erasure. One more stack (IdentitySource=business) shares its tests of that configuration."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from botocore.credentials import Credentials

from devstack.iam import BUSINESS_ACCESS_KEY_ID, BUSINESS_SECRET_ACCESS_KEY
from tests.support.people import ALICE, BOB, PEOPLE
from tests.support.simulator import start_sim
from tests.support.stack import RunningStack, start_stack

pytestmark = pytest.mark.integration

ISSUE = {1: "/cityservice/face/identify/getuseridkey", 2: "/cityservice/face/identify/getverifyid"}
GETIMAGE = "/cityservice/face/identify/getimage"
FAIL = {1: 90002, 2: 10001}
UNKNOWN = "ord_" + "0" * 32


def user() -> str:
    return f"o-{uuid.uuid4().hex[:12]}"


def key_of(stack: RunningStack, token: str, order_id: str) -> str:
    resp = stack.key_for_order(token, order_id)
    assert resp.status_code == 200, resp.text
    return str(resp.json()["verify_id" if stack.version == 2 else "user_id_key"])


def test_the_order_flow_end_to_end(stack: RunningStack) -> None:
    openid = user()
    order_id = stack.order(openid, ALICE, biz_ref="loan-42")
    read = stack.signed("GET", f"/v1/face/orders/{order_id}")
    assert read.status_code == 200, read.text
    body = read.json()
    assert {k: body[k] for k in ("order_id", "openid", "biz_ref", "status", "attempts", "result")} == {
        "order_id": order_id,
        "openid": openid,
        "biz_ref": "loan-42",
        "status": "open",
        "attempts": 0,
        "result": None,
    }
    assert body["expires_at"] - body["created_at"] == 86400
    token = stack.login(openid)
    ref = stack.verify_on_phone(openid, key_of(stack, token, order_id))
    result = stack.lookup(token, ref).json()
    assert (result["passed"], result["order_id"], result["identity_source"], result["biz_ref"]) == (
        True,
        order_id,
        "business",
        "loan-42",
    )
    passed = stack.signed("GET", f"/v1/face/orders/{order_id}").json()
    assert (passed["status"], passed["attempts"], passed["result"]) == ("passed", 1, result)
    latest = stack.signed("GET", f"/v1/users/{openid}/face/results/latest").json()
    assert (latest["order_id"], latest["identity_source"]) == (order_id, "business")
    # Nothing the mini-program or the business reads carries the identity.
    for text in (json.dumps(result), json.dumps(passed), json.dumps(latest)):
        assert ALICE[0] not in text and ALICE[1] not in text
    # The business cannot cancel a passed order.
    assert stack.signed("DELETE", f"/v1/face/orders/{order_id}").status_code == 409


def test_a_failed_check_is_retried_with_a_new_key_from_the_same_order(stack: RunningStack) -> None:
    openid = user()
    order_id = stack.order(openid, BOB)
    token = stack.login(openid)
    failed = stack.lookup(
        token, stack.verify_on_phone(openid, key_of(stack, token, order_id), FAIL[stack.version])
    )
    assert failed.json()["passed"] is False
    assert stack.signed("GET", f"/v1/face/orders/{order_id}").json()["status"] == "open"
    passed = stack.lookup(token, stack.verify_on_phone(openid, key_of(stack, token, order_id)))
    assert passed.json()["passed"] is True
    order = stack.signed("GET", f"/v1/face/orders/{order_id}").json()
    assert (order["status"], order["attempts"]) == ("passed", 2)


def test_every_refusal_of_a_key_by_order_and_none_reaches_wechat(stack: RunningStack) -> None:
    openid, other = user(), user()
    token = stack.login(openid)
    passed = stack.order(openid, ALICE)
    stack.lookup(token, stack.verify_on_phone(openid, key_of(stack, token, passed)))
    cancelled = stack.order(openid, ALICE)
    assert stack.signed("DELETE", f"/v1/face/orders/{cancelled}").status_code == 204
    foreign = stack.order(other, BOB)
    before = stack.calls_to(ISSUE[stack.version])
    expected = {
        passed: (409, "order_passed"),
        cancelled: (409, "order_cancelled"),
        foreign: (403, "forbidden"),
        UNKNOWN: (404, "not_found"),
        "ord_123": (400, "invalid_request"),
    }
    for order_id, (status, code) in expected.items():
        resp = stack.key_for_order(token, order_id)
        assert (resp.status_code, resp.json()["error"]["code"]) == (status, code), order_id
    both = stack.call("POST", "/v1/face/keys", token, {"order_id": foreign, "name": ALICE[0]})
    assert both.status_code == 400
    with_ref = stack.call("POST", "/v1/face/keys", token, {"order_id": foreign, "biz_ref": "mine"})
    assert with_ref.status_code == 400
    assert stack.calls_to(ISSUE[stack.version]) == before


def test_the_order_routes_answer_only_callers_iam_allows(stack: RunningStack) -> None:
    openid = user()
    order_id = stack.order(openid, ALICE)
    token = stack.login(openid)
    body = {"openid": openid, "name": ALICE[0], "id_card_number": ALICE[1]}
    refused = {
        "unsigned": stack.signed("POST", "/v1/face/orders", body, credentials=None),
        "a bad signature": stack.signed(
            "POST", "/v1/face/orders", body, credentials=Credentials(BUSINESS_ACCESS_KEY_ID, "wrong")
        ),
        "unknown credentials": stack.signed(
            "GET", f"/v1/face/orders/{order_id}", credentials=Credentials("AKIAUNKNOWN000000000", "x")
        ),
        "a user's session token": stack.call("GET", f"/v1/face/orders/{order_id}", token),
        "a session on the photo": stack.call("GET", f"/v1/face/photos/{order_id}", token),
        "a session creating": stack.call("POST", "/v1/face/orders", token, body),
    }
    for why, resp in refused.items():
        assert (resp.status_code, resp.json()) == (403, {"message": "Forbidden"}), why


def test_bad_orders_are_refused_before_anything_is_stored(stack: RunningStack) -> None:
    name, number = ALICE
    wrong_check = number[:-1] + ("0" if number[-1] != "0" else "1")
    cases = {
        "an invalid ID number": (
            {"openid": user(), "name": name, "id_card_number": wrong_check},
            "invalid_id_card_number",
        ),
        "an unusable name": ({"openid": user(), "name": "x", "id_card_number": number}, "invalid_name"),
        "a missing openid": ({"name": name, "id_card_number": number}, "invalid_request"),
        "a malformed openid": ({"openid": "a b", "name": name, "id_card_number": number}, "invalid_request"),
        "a malformed biz_ref": (
            {"openid": user(), "name": name, "id_card_number": number, "biz_ref": "订单"},
            "invalid_request",
        ),
        "an unknown field": (
            {"openid": user(), "name": name, "id_card_number": number, "x": 1},
            "invalid_request",
        ),
    }
    for why, (body, code) in cases.items():
        resp = stack.signed("POST", "/v1/face/orders", body)
        assert (resp.status_code, resp.json()["error"]["code"]) == (400, code), why
        assert name not in resp.text and number not in resp.text, why
    for path in (f"/v1/face/orders/{UNKNOWN}", "/v1/face/orders/nonsense", f"/v1/face/photos/{UNKNOWN}"):
        assert stack.signed("GET", path).status_code == 404, path
    assert stack.signed("DELETE", f"/v1/face/orders/{UNKNOWN}").status_code == 404


def test_an_idempotency_key_makes_a_retried_creation_the_same_order(stack: RunningStack) -> None:
    body = {"openid": user(), "name": ALICE[0], "id_card_number": ALICE[1]}
    first = stack.signed("POST", "/v1/face/orders", body, headers={"Idempotency-Key": "create-1"})
    again = stack.signed("POST", "/v1/face/orders", body, headers={"Idempotency-Key": "create-1"})
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    other = stack.signed("POST", "/v1/face/orders", {**body, "name": BOB[0], "id_card_number": BOB[1]},
                         headers={"Idempotency-Key": "create-1"})  # fmt: skip
    assert other.status_code == 409


def test_cancel_with_a_key_outstanding_stores_the_late_result_without_changing_the_order(
    stack: RunningStack,
) -> None:
    openid = user()
    order_id = stack.order(openid, ALICE)
    token = stack.login(openid)
    ref = stack.verify_on_phone(openid, key_of(stack, token, order_id))
    assert stack.signed("DELETE", f"/v1/face/orders/{order_id}").status_code == 204
    assert stack.signed("DELETE", f"/v1/face/orders/{order_id}").status_code == 204  # already cancelled
    late = stack.lookup(token, ref).json()
    assert late["passed"] is True and late["order_id"] == order_id
    order = stack.signed("GET", f"/v1/face/orders/{order_id}").json()
    assert (order["status"], order["result"]) == ("cancelled", late)
    assert stack.key_for_order(token, order_id).status_code == 409


def test_erasure_erases_the_users_orders(stack: RunningStack) -> None:
    openid = user()
    order_id = stack.order(openid, ALICE)
    token = stack.login(openid)
    stack.lookup(token, stack.verify_on_phone(openid, key_of(stack, token, order_id)))
    waiting = stack.order(openid, BOB)
    assert stack.call("DELETE", "/v1/me", token).status_code == 204
    for gone in (order_id, waiting):
        assert stack.signed("GET", f"/v1/face/orders/{gone}").status_code == 404
        assert stack.signed("DELETE", f"/v1/face/orders/{gone}").status_code == 404
    assert stack.key_for_order(stack.login(openid), waiting).status_code == 404
    table = stack.aws_client("dynamodb")
    name = table.list_tables()["TableNames"][0]
    items = table.scan(TableName=name)["Items"]
    assert not [i for i in items if i["pk"]["S"] in (f"ORDER#{order_id}", f"ORDER#{waiting}")]


def test_the_photo_of_a_passed_order(stack: RunningStack) -> None:
    openid = user()
    order_id = stack.order(openid, ALICE)
    token = stack.login(openid)
    assert stack.signed("GET", f"/v1/face/photos/{order_id}").status_code == 404  # not passed
    stack.lookup(token, stack.verify_on_phone(openid, key_of(stack, token, order_id)))
    before = stack.calls_to(GETIMAGE)
    photo = stack.signed("GET", f"/v1/face/photos/{order_id}")
    if stack.version == 1:
        assert photo.status_code == 404  # 1.0 has no getimage
        assert stack.calls_to(GETIMAGE) == before
        return
    assert photo.status_code == 200, photo.text
    body = photo.json()
    assert body["content_type"] == "image/jpeg" and body["image_base64"]
    assert stack.calls_to(GETIMAGE) == before + 1
    # Never stored, never logged.
    table = stack.aws_client("dynamodb")
    dump = json.dumps(table.scan(TableName=table.list_tables()["TableNames"][0])["Items"])
    assert body["image_base64"] not in dump
    assert body["image_base64"] not in stack.log_text()


def test_nothing_of_an_orders_identity_is_stored_or_logged_in_clear(stack: RunningStack) -> None:
    openid = user()
    order_id = stack.order(openid, ALICE, biz_ref="acct-7")
    token = stack.login(openid)
    stack.lookup(token, stack.verify_on_phone(openid, key_of(stack, token, order_id)))
    stack.order(user(), BOB)  # one still open: its identity sealed
    table = stack.aws_client("dynamodb")
    dump = json.dumps(table.scan(TableName=table.list_tables()["TableNames"][0])["Items"], ensure_ascii=False)
    log = stack.log_text()
    for name, number in PEOPLE:
        for text in (dump, log):
            assert name not in text and number not in text
    assert openid not in dump


# --- IdentitySource=business, on an app WeChat has not enabled getimage for: one stack ---------


@pytest.fixture(scope="module")
def business_only(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    where = tmp_path_factory.mktemp("identity-business")
    running = start_stack(
        2,
        where / "stack.log",
        {"WECHAT_SIM_DISABLED_APIS": json.dumps([GETIMAGE])},
        "--parameter-overrides",
        "IdentitySource=business",
    )
    yield running
    running.stop()


def test_a_business_only_deployment_refuses_a_typed_identity(business_only: RunningStack) -> None:
    stack = business_only
    openid = user()
    token = stack.login(openid)
    typed = stack.issue_key(token, ALICE)
    assert (typed.status_code, typed.json()["error"]["code"]) == (403, "identity_source_refused")
    assert stack.calls_to(ISSUE[2]) == 0
    order_id = stack.order(openid, ALICE)
    assert stack.lookup(token, stack.verify_on_phone(openid, key_of(stack, token, order_id))).json()["passed"]


def test_a_photo_from_an_app_wechat_has_not_enabled_getimage_for_says_so(business_only: RunningStack) -> None:
    stack = business_only
    openid = user()
    order_id = stack.order(openid, BOB)
    token = stack.login(openid)
    stack.lookup(token, stack.verify_on_phone(openid, key_of(stack, token, order_id)))
    photo = stack.signed("GET", f"/v1/face/photos/{order_id}")
    error = photo.json()["error"]
    assert (photo.status_code, error["code"], error["wechat_errcode"]) == (502, "api_not_enabled", 48001)
    assert "enabled" in error["message"] and "getimage" in error["message_zh"]


# --- the simulator's business route (the phone page's order flow) ---------------------------


def test_the_simulator_creates_an_order_as_the_local_business_identity(stack: RunningStack) -> None:
    openid = user()
    body = {"openid": openid, "name": ALICE[0], "id_card_number": ALICE[1], "biz_ref": "phone-page"}
    created = stack.sim_http.post("/sim/business/orders", json=body)
    assert created.status_code == 201, created.text
    order_id = created.json()["order_id"]
    assert stack.signed("GET", f"/v1/face/orders/{order_id}").json()["biz_ref"] == "phone-page"
    # The API's answer passed on as it is: status and body.
    refused = stack.sim_http.post("/sim/business/orders", json={**body, "id_card_number": "123"})
    assert (refused.status_code, refused.json()["error"]["code"]) == (400, "invalid_id_card_number")
    assert ALICE[0] not in stack.log_text() and ALICE[1] not in stack.log_text()


def test_the_simulators_business_route_is_only_for_the_local_stack_on_the_loopback(
    stack_v2: RunningStack, tmp_path: Path
) -> None:
    body = {"openid": user(), "name": ALICE[0], "id_card_number": ALICE[1]}
    identity = {
        "WECHAT_SIM_BUSINESS_KEY_ID": BUSINESS_ACCESS_KEY_ID,
        "WECHAT_SIM_BUSINESS_SECRET": BUSINESS_SECRET_ACCESS_KEY,
    }
    cases = {
        "without the local stack's identity": ({}, ["--api-url", stack_v2.api]),
        "with --also-host (containers)": (identity, ["--api-url", stack_v2.api, "--also-host", "127.0.0.2"]),
        "without the API": (identity, []),
    }
    for why, (env, args) in cases.items():
        sim = start_sim(tmp_path / f"{len(why)}.log", env, *args)
        try:
            resp = httpx.post(f"{sim.url}/sim/business/orders", json=body, timeout=30)
            assert resp.status_code == 404, why
        finally:
            sim.stop()
    sim = start_sim(tmp_path / "ok.log", identity, "--api-url", stack_v2.api)  # as the local stack runs it
    try:
        assert httpx.post(f"{sim.url}/sim/business/orders", json=body, timeout=30).status_code == 201
        log = (tmp_path / "ok.log").read_text()
        assert ALICE[0] not in log and ALICE[1] not in log and BUSINESS_SECRET_ACCESS_KEY not in log
    finally:
        sim.stop()


# --- the business's command (tools/business.py) -------------------------------------------


def business_command(
    stack: RunningStack, *args: str, stdin: str = "", cwd: Path | None = None
) -> tuple[int, Any]:
    import subprocess
    import sys

    from tests.support.simulator import pythonpath

    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": pythonpath(),
        "AWS_ACCESS_KEY_ID": BUSINESS_ACCESS_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": BUSINESS_SECRET_ACCESS_KEY,
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    script = str(Path(__file__).resolve().parents[2] / "tools" / "business.py")
    run = subprocess.run(
        [sys.executable, script, stack.api, *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=60,
        check=False,
    )
    if run.returncode == 0 or run.stdout.strip():  # an answer of the API: nothing else said
        assert not run.stderr.strip(), run.stderr
    else:
        return run.returncode, run.stderr.strip()
    return run.returncode, json.loads(run.stdout) if run.stdout.strip() else None


def test_the_business_command_creates_reads_cancels_and_fetches_the_photo(
    stack: RunningStack, tmp_path: Path
) -> None:
    openid = user()
    identity = json.dumps({"name": ALICE[0], "id_card_number": ALICE[1]}, ensure_ascii=False)
    code, created = business_command(stack, "create", openid, "--biz-ref", "loan-42", stdin=identity)
    assert code == 0 and is_order(created["order_id"])
    order_id = created["order_id"]
    code, again = business_command(stack, "create", openid, "--idempotency-key", "k1", stdin=identity)
    assert business_command(stack, "create", openid, "--idempotency-key", "k1", stdin=identity) == (0, again)
    code, read = business_command(stack, "read", order_id)
    assert (code, read["status"], read["biz_ref"]) == (0, "open", "loan-42")
    token = stack.login(openid)
    stack.lookup(token, stack.verify_on_phone(openid, key_of(stack, token, order_id)))
    code, latest = business_command(stack, "latest", openid)
    assert (code, latest["order_id"], latest["identity_source"]) == (0, order_id, "business")
    code, photo = business_command(stack, "photo", order_id, cwd=tmp_path)
    if stack.version == 2:
        saved = tmp_path / f"{order_id}.jpg"
        assert code == 0 and photo == {
            "content_type": "image/jpeg",
            "bytes": saved.stat().st_size,
            "file": saved.name,
        }
        assert saved.read_bytes()[:2] == b"\xff\xd8" and saved.stat().st_mode & 0o777 == 0o600
    else:
        assert code == 1 and photo["error"]["code"] == "not_found"
    assert business_command(stack, "cancel", order_id)[0] == 1  # passed: 409
    assert business_command(stack, "cancel", again["order_id"]) == (0, {"cancelled": again["order_id"]})
    # The identity comes on standard input, whole, or the command stops before sending anything.
    assert business_command(stack, "create", openid, stdin='{"name": "x"}') == (
        1,
        'standard input must be JSON: {"name": "...", "id_card_number": "..."}',
    )


def is_order(value: str) -> bool:
    from wxface.domain.orders import is_order_id

    return is_order_id(value)
