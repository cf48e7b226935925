"""The business's own systems, over real sockets against `python -m devstack`: the events reach a
queue through a rule on the local bus (as in AWS), a failed PutEvents still ends in the event, the
2.0 sweep reports a face check nobody looked up, and the server-side route answers only SigV4
callers the local IAM allows. Both face API versions.

The stacks here retry events after 1 s (EventRetrySeconds=1) and sweep keys at once
(ResultSweepAfterSeconds=0); the tests run the emitter and the sweeper through the Lambda API,
as their schedules would."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from devstack.iam import (
    BUSINESS_ACCESS_KEY_ID,
    BUSINESS_SECRET_ACCESS_KEY,
    OPERATOR_ACCESS_KEY_ID,
    OPERATOR_SECRET_ACCESS_KEY,
)
from tests.support.events import COMPLETED_DETAIL_FIELDS
from tests.support.people import ALICE, BOB
from tests.support.simulator import pythonpath
from tests.support.stack import RunningStack, start_stack
from wxface.domain.events import ERASED_DELAY_S

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
STACK = "wechat-face-local"


@dataclass
class Business:
    """The stack, and what the business sees of it: its queue, and its servers' credentials."""

    stack: RunningStack
    credentials_file: Path
    seen: list[dict[str, Any]] = field(default_factory=list)

    @property
    def queue_url(self) -> str:
        url: str = self.stack.aws_client("sqs").get_queue_url(QueueName=f"{STACK}-business-events")[
            "QueueUrl"
        ]
        return url

    def events(
        self, openid: str, detail_type: str, *, wait_s: float = 0.0, want: int = 1
    ) -> list[dict[str, Any]]:
        """The events of ``openid`` of that type the queue delivered so far (waiting up to
        ``wait_s`` for ``want`` of them)."""
        sqs = self.stack.aws_client("sqs")
        deadline = time.monotonic() + wait_s
        while True:
            resp = sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
            for message in resp.get("Messages", []):
                self.seen.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
            found = [
                e
                for e in self.seen
                if e["detail-type"] == detail_type and e["detail"].get("openid") == openid
            ]
            if len(found) >= want or time.monotonic() > deadline:
                return found
            time.sleep(0.2)

    def run(self, function: str) -> dict[str, Any]:
        """A scheduled function's run, as its schedule invokes it."""
        answer = self.stack.aws_client("lambda").invoke(FunctionName=f"{STACK}-{function}", Payload=b"{}")
        assert "FunctionError" not in answer
        result: dict[str, Any] = json.loads(answer["Payload"].read())
        return result

    def role_credentials(self, function: str) -> Credentials:
        issued = json.loads(self.credentials_file.read_text())[function]
        return Credentials(
            issued["AWS_ACCESS_KEY_ID"], issued["AWS_SECRET_ACCESS_KEY"], issued.get("AWS_SESSION_TOKEN")
        )

    def signed_get(self, path: str, credentials: Credentials | None, **extra_headers: str) -> httpx.Response:
        """A GET of the API signed with botocore's SigV4 signer (service execute-api)."""
        url = f"{self.stack.api}{path}"
        request = AWSRequest(method="GET", url=url, headers=dict(extra_headers))
        if credentials is not None:
            SigV4Auth(credentials, "execute-api", "us-east-1").add_auth(request)
        prepared = request.prepare()
        return httpx.get(prepared.url, headers=dict(prepared.headers), timeout=30)


@pytest.fixture(scope="module", params=[1, 2], ids=["face-api-1", "face-api-2"])
def business(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Business]:
    where = tmp_path_factory.mktemp(f"business-v{request.param}")
    credentials = where / "credentials.json"
    stack = start_stack(
        request.param,
        where / "stack.log",
        None,
        "--parameter-overrides",
        "EventRetrySeconds=1",
        "ResultSweepAfterSeconds=0",
        "--write-credentials",
        str(credentials),
    )
    yield Business(stack, credentials)
    stack.stop()


def verified(
    business: Business, openid: str, biz_ref: str | None = "order-42"
) -> tuple[str, str, dict[str, Any]]:
    """A user logs in, gets a key (with the business's reference), passes the face check and
    looks the result up. Answers the session token, the reference and the result."""
    stack = business.stack
    token = stack.login(openid)
    body: dict[str, Any] = {"name": ALICE[0], "id_card_number": ALICE[1]}
    if biz_ref is not None:
        body["biz_ref"] = biz_ref
    key_resp = stack.call("POST", "/v1/face/keys", token, body)
    assert key_resp.status_code == 200, key_resp.text
    key = key_resp.json()["verify_id" if stack.version == 2 else "user_id_key"]
    ref = stack.verify_on_phone(openid, key)
    resp = stack.lookup(token, ref)
    assert resp.status_code == 200, resp.text
    return token, ref, resp.json()


def test_a_stored_result_reaches_the_business_once_with_its_reference(business: Business) -> None:
    stack = business.stack
    token, ref, result = verified(business, "biz-once")
    assert result["passed"] is True and result["biz_ref"] == "order-42"
    assert stack.lookup(token, ref).json() == result  # a repeat, from the table
    latest = stack.call("GET", "/v1/face/results/latest", token).json()
    assert latest == result
    (event,) = business.events("biz-once", "FaceVerificationCompleted", wait_s=10)
    assert event["source"] == "wechat-face-verify"
    detail = event["detail"]
    assert set(detail) == COMPLETED_DETAIL_FIELDS
    assert {k: detail[k] for k in COMPLETED_DETAIL_FIELDS - {"result_id", "openid"}} == {
        k: result[k] for k in COMPLETED_DETAIL_FIELDS - {"result_id", "openid"}
    }
    assert detail["api_version"] == stack.version and detail["biz_ref"] == "order-42"
    text = json.dumps(event, ensure_ascii=False)
    for secret in (*ALICE, ref):  # no name, ID number or WeChat key
        assert secret not in text
    # Nothing left to send, nothing sent twice (the emitter's run finds the outbox empty).
    assert business.run("event-emitter") == {"sent": 0, "deferred": 0, "dropped": 0}
    time.sleep(0.5)
    assert len(business.events("biz-once", "FaceVerificationCompleted")) == 1


def test_without_a_biz_ref_the_result_and_the_event_say_null(business: Business) -> None:
    _, _, result = verified(business, "biz-none", biz_ref=None)
    assert result["biz_ref"] is None
    (event,) = business.events("biz-none", "FaceVerificationCompleted", wait_s=10)
    assert event["detail"]["biz_ref"] is None


def test_a_failed_put_events_still_ends_in_the_event(business: Business) -> None:
    stack = business.stack
    stack.aws_control(
        "POST",
        "/_devstack/faults",
        {"service": "events", "operation": "PutEvents", "error": "InternalException", "times": 1},
    )
    _, _, result = verified(business, "biz-late")
    assert result["passed"] is True  # the user's answer does not wait for EventBridge
    assert business.events("biz-late", "FaceVerificationCompleted", wait_s=1) == []
    time.sleep(1.1)  # EventRetrySeconds
    assert business.run("event-emitter")["sent"] >= 1
    (event,) = business.events("biz-late", "FaceVerificationCompleted", wait_s=10)
    assert event["detail"]["passed"] is True and event["detail"]["biz_ref"] == "order-42"


def test_an_event_eventbridge_failed_on_its_own_in_a_taken_call_still_arrives_once(
    business: Business,
) -> None:
    """A partial PutEvents failure: the call succeeds, the result's entry fails on its own
    (FailedEntryCount); the outbox keeps it and the emitter sends it, once."""
    stack = business.stack
    stack.aws_control(
        "POST",
        "/_devstack/faults",
        {"service": "events", "operation": "PutEvents", "failed_entries": 1, "times": 1},
    )
    _, _, result = verified(business, "biz-partial")
    assert result["passed"] is True
    assert business.events("biz-partial", "FaceVerificationCompleted", wait_s=1) == []
    time.sleep(1.1)  # EventRetrySeconds
    assert business.run("event-emitter")["sent"] >= 1
    assert len(business.events("biz-partial", "FaceVerificationCompleted", wait_s=10)) == 1
    assert business.run("event-emitter")["sent"] == 0
    time.sleep(0.5)
    assert len(business.events("biz-partial", "FaceVerificationCompleted")) == 1


def test_erasure_tells_the_business_to_erase_its_copies(business: Business) -> None:
    """FaceDataErased is put by the emitter ERASED_DELAY_S after the erasure (after every event
    a request, a sweep or an emitter run begun before it could still put), within 90 s."""
    stack = business.stack
    token, _, result = verified(business, "biz-erase")
    erasing = time.time()
    assert stack.call("DELETE", "/v1/me", token).status_code == 204
    assert business.run("event-emitter")["sent"] == 0  # not yet
    assert business.events("biz-erase", "FaceDataErased", wait_s=1) == []
    time.sleep(max(0.0, erasing + ERASED_DELAY_S + 1 - time.time()))
    assert business.run("event-emitter")["sent"] >= 1
    (event,) = business.events("biz-erase", "FaceDataErased", wait_s=10)
    assert set(event["detail"]) == {"openid", "erased_at"} and event["detail"]["openid"] == "biz-erase"
    assert result["verified_at"] <= event["detail"]["erased_at"] <= time.time()
    operator = Credentials(OPERATOR_ACCESS_KEY_ID, OPERATOR_SECRET_ACCESS_KEY)
    assert business.signed_get("/v1/users/biz-erase/face/results/latest", operator).status_code == 404


def test_the_sweep_reports_a_face_check_the_app_never_looked_up(business: Business) -> None:
    stack = business.stack
    if stack.version == 1:
        # 1.0 has no sweep: its verify_result lives only on the phone. No sweeper is deployed.
        with pytest.raises(stack.aws_client("lambda").exceptions.ResourceNotFoundException):
            business.run("result-sweeper")
        return
    token = stack.login("biz-closed")
    verify_id = stack.key_of(token, BOB)
    stack.verify_on_phone("biz-closed", verify_id)  # ... and the app was closed
    assert business.run("result-sweeper").get("stored") == 1
    (event,) = business.events("biz-closed", "FaceVerificationCompleted", wait_s=10)
    assert event["detail"]["passed"] is True
    # The app comes back: the stored result, no second WeChat call.
    calls = stack.calls_to("/cityservice/face/identify/queryverifyinfo")
    assert stack.lookup(token, verify_id).json()["passed"] is True
    assert stack.calls_to("/cityservice/face/identify/queryverifyinfo") == calls


def test_an_orders_result_reaches_the_business_saying_whose_identity_it_was(business: Business) -> None:
    """The event of an order's result carries its order_id, the order's biz_ref and
    identity_source "business"; in 2.0 the sweeper (with its own role) passes an order whose
    result nobody looked up."""
    stack = business.stack
    order_id = stack.order("biz-order", BOB, biz_ref="loan-7")
    token = stack.login("biz-order")
    key_resp = stack.key_for_order(token, order_id)
    assert key_resp.status_code == 200, key_resp.text
    key = key_resp.json()["verify_id" if stack.version == 2 else "user_id_key"]
    ref = stack.verify_on_phone("biz-order", key)
    if stack.version == 2:
        assert business.run("result-sweeper").get("stored") == 1  # the app was closed
    else:
        assert stack.lookup(token, ref).json()["passed"] is True
    (event,) = business.events("biz-order", "FaceVerificationCompleted", wait_s=10)
    detail = event["detail"]
    assert (detail["order_id"], detail["identity_source"], detail["biz_ref"], detail["passed"]) == (
        order_id,
        "business",
        "loan-7",
        True,
    )
    assert BOB[0] not in json.dumps(event, ensure_ascii=False) and BOB[1] not in json.dumps(event)
    assert stack.signed("GET", f"/v1/face/orders/{order_id}").json()["status"] == "passed"


def test_a_face_check_not_finished_is_answered_never_stored_and_the_finished_one_reaches_everyone(
    business: Business,
) -> None:
    """2.0: WeChat answers errcode 0 with verify_ret 10300 before the user has finished; 1.0:
    identify_ret 10005. Neither is stored or reported, and the later lookup asks WeChat again."""
    stack = business.stack
    openid = "biz-early"
    token = stack.login(openid)
    key = stack.key_of(token, ALICE)
    if stack.version == 2:
        early = stack.lookup(token, key)  # the mini-program polls before the user is done
        assert early.status_code == 200, early.text
        assert (early.json()["passed"], early.json()["result_code"]) == (False, 10300)
        assert business.run("result-sweeper").get("unfinished", 0) >= 1  # the sweeper too
        ref = stack.verify_on_phone(openid, key)
    else:
        ref = stack.verify_on_phone(openid, key, result_code=10005)
        early = stack.lookup(token, ref)
        assert (early.json()["passed"], early.json()["result_code"]) == (False, 10005)
        ref = stack.verify_on_phone(openid, key)  # the user tries again and passes
    assert stack.call("GET", "/v1/face/results/latest", token).status_code == 404
    operator = Credentials(OPERATOR_ACCESS_KEY_ID, OPERATOR_SECRET_ACCESS_KEY)
    assert business.signed_get(f"/v1/users/{openid}/face/results/latest", operator).status_code == 404
    assert business.events(openid, "FaceVerificationCompleted", wait_s=1) == []
    done = stack.lookup(token, ref)
    assert done.json()["passed"] is True, done.text
    assert stack.call("GET", "/v1/face/results/latest", token).json()["passed"] is True
    (event,) = business.events(openid, "FaceVerificationCompleted", wait_s=10)
    assert event["detail"]["passed"] is True


def test_no_one_but_the_stacks_functions_can_put_its_events_on_its_bus(business: Business) -> None:
    """The stack's own bus denies PutEvents with the stack's source to every principal but the
    functions that put its events (a Deny in the bus's resource policy: same-account principals
    allowed events:PutEvents by their own policies, like the operator here, are refused too).
    EventBridge refuses such an entry on its own, in the result, as the local endpoint does."""
    stack = business.stack
    bus = f"{STACK}-events"
    forged = {
        "Source": "wechat-face-verify",
        "DetailType": "FaceVerificationCompleted",
        "Detail": json.dumps({"openid": "biz-forged", "passed": True}),
        "EventBusName": bus,
    }
    own = {**forged, "Source": "someone.else", "Detail": json.dumps({"openid": "biz-forged"})}
    operator = stack.aws_client("events")  # allowed events:PutEvents on every bus by its own policy
    answer = operator.put_events(Entries=[forged, own])
    assert answer["FailedEntryCount"] == 1
    assert answer["Entries"][0]["ErrorCode"] == "NotAuthorizedForSourceException"
    assert "EventId" in answer["Entries"][1]  # its own source: the policy says nothing of it
    function = business.role_credentials("FaceResultsFunction")
    results = stack.aws_client(
        "events",
        aws_access_key_id=function.access_key,
        aws_secret_access_key=function.secret_key,
        aws_session_token=function.token or "",
    )
    genuine = {**forged, "Detail": json.dumps({"openid": "biz-genuine", "passed": False})}
    assert results.put_events(Entries=[genuine])["FailedEntryCount"] == 0
    assert business.events("biz-forged", "FaceVerificationCompleted", wait_s=1) == []
    assert len(business.events("biz-genuine", "FaceVerificationCompleted", wait_s=10)) == 1


def test_the_server_side_route_answers_only_callers_iam_allows(business: Business) -> None:
    stack = business.stack
    token, _, result = verified(business, "biz-iam")
    path = "/v1/users/biz-iam/face/results/latest"
    good = Credentials(BUSINESS_ACCESS_KEY_ID, BUSINESS_SECRET_ACCESS_KEY)  # holds ResultReaderPolicy
    allowed = business.signed_get(path, good)
    assert allowed.status_code == 200, allowed.text
    assert allowed.json() == {**result, "openid": "biz-iam"}
    operator = business.signed_get(path, Credentials(OPERATOR_ACCESS_KEY_ID, OPERATOR_SECRET_ACCESS_KEY))
    assert operator.status_code == 200
    refused = {
        "unsigned": business.signed_get(path, None),
        "a bad signature": business.signed_get(path, Credentials(BUSINESS_ACCESS_KEY_ID, "not-the-secret")),
        "unknown credentials": business.signed_get(path, Credentials("AKIAUNKNOWN000000000", "x")),
        "a role without the permission": business.signed_get(
            path, business.role_credentials("SessionFunction")
        ),
        "a user's session token": stack.call("GET", path, token),
    }
    for why, resp in refused.items():
        assert (resp.status_code, resp.json()) == (403, {"message": "Forbidden"}), why
    # A signature for one user's path does not open another's.
    signed = AWSRequest(method="GET", url=f"{stack.api}{path}")
    SigV4Auth(good, "execute-api", "us-east-1").add_auth(signed)
    other = httpx.get(f"{stack.api}/v1/users/biz-other/face/results/latest", headers=dict(signed.headers))
    assert other.status_code == 403
    # No stored result: 404; a malformed openid: 400 (both only for a caller IAM allows).
    assert business.signed_get("/v1/users/biz-nobody/face/results/latest", good).status_code == 404
    assert business.signed_get("/v1/users/bad~openid/face/results/latest", good).status_code == 400


def test_the_sample_in_tools_reads_the_result_with_the_business_credentials(business: Business) -> None:
    verified(business, "biz-sample")

    def sample(secret: str) -> subprocess.CompletedProcess[str]:
        env = {
            "PATH": "/usr/bin:/bin",
            "PYTHONPATH": pythonpath(),
            "AWS_ACCESS_KEY_ID": BUSINESS_ACCESS_KEY_ID,
            "AWS_SECRET_ACCESS_KEY": secret,
            "AWS_DEFAULT_REGION": "us-east-1",
        }
        script = str(ROOT / "tools" / "business.py")
        return subprocess.run(
            [sys.executable, script, business.stack.api, "latest", "biz-sample"],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )

    run = sample(BUSINESS_SECRET_ACCESS_KEY)
    assert run.returncode == 0, run.stderr
    answer = json.loads(run.stdout)
    assert answer["openid"] == "biz-sample" and answer["passed"] is True and answer["biz_ref"] == "order-42"
    refused = sample("wrong")
    assert refused.returncode == 1 and json.loads(refused.stdout) == {"message": "Forbidden"}
