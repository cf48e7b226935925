"""The local AWS endpoint checks what AWS checks: credentials and signatures, each function's own
role from template.yaml, faults and throughput limits on demand; and the functions survive what
AWS does to them (retries within their budget, 503 with Retry-After past it, nothing half-written).
"""

from __future__ import annotations

import json
import os
import secrets
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from devstack.aws_endpoint import AwsEndpoint
from devstack.functions import Functions
from devstack.iam import LocalIam, Principal
from devstack.template import ACCOUNT_ID, load
from tests.support.people import ALICE, BOB
from tests.support.stack import OPERATOR, RunningStack, start_stack

ROOT = Path(__file__).resolve().parents[2]
STACK = "wechat-face-local"
NO_RETRY = Config(retries={"mode": "standard", "total_max_attempts": 1})


# --- the endpoint on its own, with the template's roles --------------------------------------


class Gate:
    def __init__(self, url: str, iam: LocalIam, functions: Functions) -> None:
        self.url = url
        self.iam = iam
        self.functions = functions

    def principal(self, logical_id: str) -> Principal:
        pool = self.functions.pools[logical_id]
        assert pool.principal is not None
        return pool.principal

    def client(self, service: str, principal: Principal | None = None, **kw: Any) -> Any:
        creds = (
            {
                "aws_access_key_id": principal.access_key_id,
                "aws_secret_access_key": principal.secret_access_key,
                "aws_session_token": principal.session_token,
            }
            if principal
            else OPERATOR
        )
        return boto3.client(service, endpoint_url=self.url, region_name="us-east-1", **creds, **kw)  # type: ignore[call-overload]


@pytest.fixture(scope="module")
def gate() -> Iterator[Gate]:
    stack = load(ROOT / "template.yaml", stack_name=STACK)
    iam = LocalIam()
    iam.operator(ACCOUNT_ID)
    functions = Functions(stack, {}, sys.stderr, iam=iam)
    endpoint = AwsEndpoint("127.0.0.1", 0, functions, iam)
    endpoint.start()
    yield Gate(f"http://127.0.0.1:{endpoint.port}", iam, functions)
    endpoint.stop()


def code_of(err: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    return err.value.response["Error"]["Code"], err.value.response["ResponseMetadata"]["HTTPStatusCode"]


def test_credentials_the_endpoint_never_issued_are_refused(gate: Gate) -> None:
    stranger = boto3.client(
        "ssm", endpoint_url=gate.url, region_name="us-east-1", aws_access_key_id="AKIANOTISSUED0000000",
        aws_secret_access_key="whatever", config=NO_RETRY,
    )  # fmt: skip
    with pytest.raises(ClientError) as err:
        stranger.get_parameter(Name="/anything")
    assert code_of(err) == ("UnrecognizedClientException", 400)


def test_a_signature_made_with_another_secret_is_refused(gate: Gate) -> None:
    forged = boto3.client(
        "dynamodb", endpoint_url=gate.url, region_name="us-east-1", aws_access_key_id=OPERATOR["aws_access_key_id"],
        aws_secret_access_key="not-the-issued-secret", config=NO_RETRY,
    )  # fmt: skip
    with pytest.raises(ClientError) as err:
        forged.list_tables()
    assert code_of(err) == ("InvalidSignatureException", 400)


@pytest.mark.parametrize("declared", ["UNSIGNED-PAYLOAD", "STREAMING-UNSIGNED-PAYLOAD-TRAILER", None])
def test_a_signed_request_replayed_with_another_body_is_refused(gate: Gate, declared: str | None) -> None:
    """The endpoint hashes the body it received, whatever the client declares in
    x-amz-content-sha256: a signature over a declared unsigned payload does not let anyone who
    saw a signed request send it again with another body (an item of their own choosing)."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    class DeclaredPayload(SigV4Auth):
        def payload(self, request: AWSRequest) -> str:
            return declared if declared is not None else super().payload(request)

    def put(item: str) -> bytes:
        return json.dumps({"TableName": "t", "Item": {"pk": {"S": item}}}).encode()

    headers = {"X-Amz-Target": "DynamoDB_20120810.PutItem", "Content-Type": "application/x-amz-json-1.0"}
    if declared is not None:
        headers["X-Amz-Content-SHA256"] = declared
    request = AWSRequest(method="POST", url=gate.url + "/", data=put("signed"), headers=headers)
    creds = Credentials(OPERATOR["aws_access_key_id"], OPERATOR["aws_secret_access_key"])
    DeclaredPayload(creds, "dynamodb", "us-east-1").add_auth(request)
    sent = dict(request.headers.items())
    replayed = httpx.post(gate.url + "/", content=put("someone-elses"), headers=sent, timeout=10)
    assert replayed.status_code == 400, replayed.text
    assert replayed.json()["__type"].endswith("InvalidSignatureException")


def test_on_the_containers_address_only_function_roles_and_no_control_route(gate: Gate) -> None:
    """``--containers HOST``: the endpoint also listens where containers reach this machine (here
    127.0.0.2 stands in for a Docker bridge). There the local operator's documented credentials
    and the control routes are not served; the function roles' are."""
    stack = load(ROOT / "template.yaml", stack_name=STACK)
    iam = LocalIam()
    iam.operator(ACCOUNT_ID)
    endpoint = AwsEndpoint("127.0.0.1", 0, Functions(stack, {}, sys.stderr, iam=iam), iam)
    endpoint.start()
    endpoint.also_listen("127.0.0.2")
    try:
        bridge = f"http://127.0.0.2:{endpoint.port}"
        assert httpx.get(f"{bridge}/_devstack/calls", timeout=5).status_code == 404
        assert httpx.get(f"http://127.0.0.1:{endpoint.port}/_devstack/calls", timeout=5).status_code == 200
        operator = boto3.client(
            "ssm", endpoint_url=bridge, region_name="us-east-1", config=NO_RETRY,
            aws_access_key_id=OPERATOR["aws_access_key_id"], aws_secret_access_key=OPERATOR["aws_secret_access_key"],
        )  # fmt: skip
        with pytest.raises(ClientError) as refused:
            operator.get_parameter(Name=f"/{STACK}/access-token")
        assert code_of(refused)[0] == "UnrecognizedClientException"
        keys = next(p for p in iam.principals() if p.function == "FaceKeysFunction")
        function = boto3.client(
            "ssm", endpoint_url=bridge, region_name="us-east-1", config=NO_RETRY,
            aws_access_key_id=keys.access_key_id, aws_secret_access_key=keys.secret_access_key,
            aws_session_token=keys.session_token,
        )  # fmt: skip
        with pytest.raises(ClientError) as answered:
            function.get_parameter(Name="/not-there")  # past authentication: moto answers
        assert code_of(answered)[0] in ("ParameterNotFound", "AccessDeniedException")
    finally:
        endpoint.stop()


def test_a_role_session_needs_its_session_token(gate: Gate) -> None:
    keys = gate.principal("FaceKeysFunction")
    without_token = boto3.client(
        "ssm", endpoint_url=gate.url, region_name="us-east-1", aws_access_key_id=keys.access_key_id,
        aws_secret_access_key=keys.secret_access_key, config=NO_RETRY,
    )  # fmt: skip
    with pytest.raises(ClientError) as err:
        without_token.get_parameter(Name=f"/{STACK}/access-token")
    assert code_of(err)[0] == "UnrecognizedClientException"


def test_an_internet_facing_function_cannot_overwrite_a_key_it_must_only_read(gate: Gate) -> None:
    ssm = gate.client("ssm", gate.principal("FaceKeysFunction"), config=NO_RETRY)
    signing = f"/{STACK}/session-signing-key"
    # Creating the key on first use is allowed ...
    ssm.put_parameter(Name=signing, Value="first", Type="SecureString", Overwrite=False)
    # ... overwriting it is not (the role's explicit deny on ssm:Overwrite = true) ...
    with pytest.raises(ClientError) as err:
        ssm.put_parameter(Name=signing, Value="attacker's", Type="SecureString", Overwrite=True)
    assert code_of(err) == ("AccessDeniedException", 400)
    assert "explicit deny" in err.value.response["Error"]["Message"]
    assert f"assumed-role/{STACK}-FaceKeysRole/{STACK}-face-keys" in err.value.response["Error"]["Message"]
    # ... nor writing the shared access token at all: only the refresher writes it.
    with pytest.raises(ClientError) as err:
        ssm.put_parameter(Name=f"/{STACK}/access-token", Value="x", Type="SecureString", Overwrite=True)
    assert "no identity-based policy allows" in err.value.response["Error"]["Message"]
    value = gate.client("ssm").get_parameter(Name=signing, WithDecryption=True)["Parameter"]["Value"]
    assert value == "first"
    # The rotator, and only it, may overwrite the signing key.
    rotator = gate.client("ssm", gate.principal("KeyRotatorFunction"), config=NO_RETRY)
    rotator.put_parameter(Name=signing, Value="rotated", Type="SecureString", Overwrite=True)


def test_each_api_role_reads_its_keys_in_one_get_parameters(gate: Gate) -> None:
    """The deploy-only failure this endpoint was built for: GetParameter does not grant
    GetParameters, and the API functions read their keys with one GetParameters."""
    names = [f"/{STACK}/session-signing-key", f"/{STACK}/data-hmac-key"]
    sealing = f"/{STACK}/data-sealing-key"
    for name in [*names, sealing]:
        gate.client("ssm").put_parameter(Name=name, Value="v", Type="SecureString", Overwrite=True)
    for logical_id in ("SessionFunction", "FaceKeysFunction", "FaceResultsFunction"):
        wanted = names if logical_id == "SessionFunction" else [*names, sealing]
        found = gate.client("ssm", gate.principal(logical_id)).get_parameters(
            Names=wanted, WithDecryption=True
        )
        assert sorted(p["Name"] for p in found["Parameters"]) == sorted(wanted)
    with pytest.raises(ClientError) as err:  # the refresher has no business with the signing key
        gate.client("ssm", gate.principal("TokenRefresherFunction"), config=NO_RETRY).get_parameters(
            Names=names
        )
    assert code_of(err)[0] == "AccessDeniedException"


def test_ssm_is_throttled_at_its_default_throughput(gate: Gate) -> None:
    from concurrent.futures import ThreadPoolExecutor

    gate.client("ssm").put_parameter(Name="/throttle/probe", Value="v", Type="String", Overwrite=True)
    clients = [gate.client("ssm", config=NO_RETRY) for _ in range(8)]

    def burst(ssm: Any) -> list[str]:
        codes = []
        for _ in range(25):
            try:
                ssm.get_parameter(Name="/throttle/probe")
                codes.append("ok")
            except ClientError as exc:
                codes.append(exc.response["Error"]["Code"])
        return codes

    started = time.monotonic()
    with ThreadPoolExecutor(8) as pool:
        codes = [c for part in pool.map(burst, clients) for c in part]
    took = time.monotonic() - started
    assert set(codes) <= {"ok", "ThrottlingException"}
    # 200 calls: at 40 a second (plus a one-second burst), at most 40 * (took + 1) go through.
    assert 0 < codes.count("ok") <= 40 * (took + 1) + 1, (codes.count("ok"), took)
    assert "ThrottlingException" in codes
    time.sleep(1.1)  # the bucket refills: the next call goes through
    clients[0].get_parameter(Name="/throttle/probe")


def test_faults_come_in_aws_wire_format(gate: Gate) -> None:
    dynamodb = gate.client("dynamodb", config=NO_RETRY)
    table = f"faults-{secrets.token_hex(3)}"
    dynamodb.create_table(
        TableName=table, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
    )  # fmt: skip
    control = httpx.Client(base_url=gate.url)
    body = {"service": "dynamodb", "operation": "TransactWriteItems", "error": "TransactionCanceledException"}
    assert (
        control.post(
            "/_devstack/faults", json={**body, "reasons": ["TransactionConflict"], "times": 1}
        ).json()
        == {}
    )
    items = [{"Put": {"TableName": table, "Item": {"pk": {"S": k}}}} for k in ("a", "b")]
    with pytest.raises(dynamodb.exceptions.TransactionCanceledException) as err:
        dynamodb.transact_write_items(TransactItems=items)
    assert [r["Code"] for r in err.value.response["CancellationReasons"]] == ["TransactionConflict", "None"]
    dynamodb.transact_write_items(TransactItems=items)  # the fault was for one call only
    control.post(
        "/_devstack/faults", json={"service": "dynamodb", "error": "InternalServerError", "times": 5}
    )
    with pytest.raises(ClientError) as failed:
        dynamodb.get_item(TableName=table, Key={"pk": {"S": "a"}})
    assert code_of(failed) == ("InternalServerError", 500)
    control.post(
        "/_devstack/faults", json={"service": "dynamodb", "error": "InternalServerError", "times": 0}
    )
    dynamodb.get_item(TableName=table, Key={"pk": {"S": "a"}})  # cleared
    lam = gate.client("lambda", config=NO_RETRY)
    control.post(
        "/_devstack/faults", json={"service": "lambda", "error": "TooManyRequestsException", "times": 1}
    )
    with pytest.raises(lam.exceptions.TooManyRequestsException):
        lam.invoke(FunctionName=f"{STACK}-key-rotator", Payload=b"{}")
    bad = control.post("/_devstack/faults", json={"service": "ssm", "error": "Throttling!", "times": 1})
    assert bad.status_code == 400


def test_a_delay_holds_the_call_then_serves_it(gate: Gate) -> None:
    ssm = gate.client("ssm", config=NO_RETRY)
    ssm.put_parameter(Name="/delay/probe", Value="v", Type="String", Overwrite=True)
    control = httpx.Client(base_url=gate.url)
    assert control.post("/_devstack/faults", json={"service": "ssm", "operation": "GetParameter",
                                                   "delay_ms": 600, "times": 1}).json() == {}  # fmt: skip
    started = time.monotonic()
    assert ssm.get_parameter(Name="/delay/probe")["Parameter"]["Value"] == "v"  # served, late
    assert time.monotonic() - started >= 0.6
    started = time.monotonic()
    ssm.get_parameter(Name="/delay/probe")  # once only
    assert time.monotonic() - started < 0.6


def test_a_partial_put_events_failure_fails_entries_not_the_call(gate: Gate) -> None:
    """As EventBridge reports it: 200, FailedEntryCount, the failed entries with an ErrorCode, the
    others with an EventId."""
    events = gate.client("events", config=NO_RETRY)
    control = httpx.Client(base_url=gate.url)
    spec = {"service": "events", "operation": "PutEvents", "failed_entries": 2, "times": 1}
    assert control.post("/_devstack/faults", json=spec).json() == {}
    entries = [{"Source": "probe", "DetailType": "Probe", "Detail": json.dumps({"n": n})} for n in range(3)]
    answer = events.put_events(Entries=entries)
    assert answer["FailedEntryCount"] == 2
    assert [e.get("ErrorCode") for e in answer["Entries"]] == ["InternalFailure", "InternalFailure", None]
    assert "EventId" in answer["Entries"][2]
    assert events.put_events(Entries=entries)["FailedEntryCount"] == 0  # once only


@pytest.mark.parametrize(
    "spec",
    [
        {"service": "ssm", "error": "ThrottlingException", "delay_ms": 100},  # two kinds at once
        {"service": "dynamodb", "failed_entries": 1},  # partial failures are PutEvents' alone
        {"service": "ssm", "delay_ms": 60_001},
        {"service": "ssm", "delay_ms": "slow"},
        {"service": "ssm", "times": 1},  # nothing to do
    ],
)
def test_a_fault_that_says_nothing_clear_is_refused(gate: Gate, spec: dict[str, Any]) -> None:
    answer = httpx.post(f"{gate.url}/_devstack/faults", json=spec, timeout=10)
    assert answer.status_code == 400 and answer.json()["error"]


# --- the whole stack, enforced ----------------------------------------------------------------


def aws_calls(stack: RunningStack) -> dict[str, Any]:
    return stack.aws_control("GET", "/_devstack/calls")


def fault(stack: RunningStack, **spec: Any) -> None:
    assert stack.aws_control("POST", "/_devstack/faults", spec) == {}


def test_calls_are_counted_per_service_and_per_function(stack_v2: RunningStack) -> None:
    stack_v2.aws_control("POST", "/_devstack/calls")
    token = stack_v2.login(f"counted-{secrets.token_hex(3)}")
    assert stack_v2.issue_key(token, ALICE).status_code == 200
    calls = aws_calls(stack_v2)
    assert set(calls) >= {"by_service", "by_function", "denied", "faulted"}
    keys = calls["by_function"][f"{STACK}-face-keys"]
    assert keys.get("dynamodb:TransactWriteItems") == 1
    assert calls["by_service"]["dynamodb"]["TransactWriteItems"] >= 1
    assert calls["denied"] == 0 and calls["faulted"] == 0


def test_a_throttle_burst_is_retried_through(stack_v2: RunningStack) -> None:
    token = stack_v2.login(f"burst-{secrets.token_hex(3)}")
    stack_v2.aws_control("POST", "/_devstack/calls")
    fault(
        stack_v2,
        service="dynamodb",
        operation="TransactWriteItems",
        error="ProvisionedThroughputExceededException",
        times=2,
    )
    resp = stack_v2.issue_key(token, ALICE)
    assert resp.status_code == 200, resp.text
    assert aws_calls(stack_v2)["faulted"] == 2


def verified_key(stack: RunningStack, person: tuple[str, str]) -> tuple[str, str]:
    """A new user's session token and a key whose face check passed on the phone."""
    openid = f"user-{secrets.token_hex(4)}"
    token = stack.login(openid)
    key = stack.key_of(token, person)
    stack.verify_on_phone(openid, key)
    return token, key


def test_a_sustained_outage_answers_503_quickly_and_stores_nothing_half_way(stack_v2: RunningStack) -> None:
    token, key = verified_key(stack_v2, BOB)
    fault(
        stack_v2, service="dynamodb", operation="TransactWriteItems", error="InternalServerError", times=100
    )
    started = time.monotonic()
    resp = stack_v2.lookup(token, key)
    took = time.monotonic() - started
    fault(stack_v2, service="dynamodb", operation="TransactWriteItems", error="InternalServerError", times=0)
    assert resp.status_code == 503, resp.text
    assert resp.headers["Retry-After"].isdigit()
    assert resp.json()["error"]["code"] == "service_unavailable"
    assert took < 10, took  # bounded retries, well inside the function's 15 s
    # Nothing was stored: the latest result is still none, and the lookup works once AWS is back.
    assert stack_v2.call("GET", "/v1/face/results/latest", token).status_code == 404
    again = stack_v2.lookup(token, key)
    assert again.status_code == 200 and again.json()["passed"] is True


def test_ssm_throttled_past_the_retries_is_a_503_on_every_function_never_a_500(tmp_path: Path) -> None:
    """Cold containers read their keys first (before routing, for the routes behind a session);
    SSM throttling there was a Lambda 500 (keys, results) or an internal_error (session: the
    error came wrapped by Powertools). Now every one is the contract's 503 with Retry-After."""
    stack = start_stack(2, tmp_path / "stack.log")

    def throttle_ssm(times: int) -> None:
        for operation in ("GetParameter", "GetParameters"):
            fault(stack, service="ssm", operation=operation, error="ThrottlingException", times=times)

    try:
        throttle_ssm(1000)
        refused = [
            stack.http.post(
                "/v1/session", json={"code": stack.sim_control("/sim/login", {"openid": "t"})["code"]}
            )
        ]
        throttle_ssm(0)
        token = stack.login("before-routing")
        throttle_ssm(1000)
        refused.append(stack.issue_key(token, ALICE))  # the keys function's first request
        refused.append(stack.call("GET", "/v1/face/results/latest", token))  # the results function's
        for resp in refused:
            assert resp.status_code == 503, resp.text
            assert resp.headers["Retry-After"].isdigit()
            assert resp.json()["error"]["code"] == "service_unavailable"
        assert "unhandled error" not in stack.log_text()
    finally:
        stack.stop()


def test_a_transaction_conflict_is_retried_and_the_result_stored_once(stack_v2: RunningStack) -> None:
    token, key = verified_key(stack_v2, ALICE)
    fault(
        stack_v2, service="dynamodb", operation="TransactWriteItems", error="TransactionCanceledException",
        reasons=["TransactionConflict"], times=2,
    )  # fmt: skip
    resp = stack_v2.lookup(token, key)
    assert resp.status_code == 200, resp.text
    assert resp.json()["passed"] is True
    latest = stack_v2.call("GET", "/v1/face/results/latest", token)
    assert latest.status_code == 200 and latest.json() == resp.json()  # stored, not only answered


def test_an_update_meeting_a_transaction_on_the_users_item_is_retried(stack_v2: RunningStack) -> None:
    """Every write for a user checks their erasure epoch in the user's own item, so a single
    UpdateItem of that item (the per-request count, the erasure's mark) can meet a transaction
    holding it: DynamoDB answers TransactionConflictException, which botocore's standard retry
    mode does not retry (moto never produces it; the fault route does). Neither a request nor an
    erasure answers 503 for it."""
    token, key = verified_key(stack_v2, ALICE)
    fault(stack_v2, service="dynamodb", operation="UpdateItem", error="TransactionConflictException", times=2)
    resp = stack_v2.lookup(token, key)
    assert resp.status_code == 200, resp.text
    fault(stack_v2, service="dynamodb", operation="UpdateItem", error="TransactionConflictException", times=3)
    assert stack_v2.call("DELETE", "/v1/me", token).status_code == 204
    assert stack_v2.call("GET", "/v1/face/results/latest", token).status_code == 401


def test_ssm_throttled_during_a_token_rotation(stack_v2: RunningStack) -> None:
    token = stack_v2.login(f"rotation-{secrets.token_hex(3)}")
    assert stack_v2.issue_key(token, ALICE).status_code == 200  # a warm keys container
    stack_v2.sim_control("/sim/expire-tokens")
    # The refused token makes the function re-read SSM; the first reads are throttled.
    fault(stack_v2, service="ssm", operation="GetParameter", error="ThrottlingException", times=2)
    resp = stack_v2.issue_key(token, BOB)
    assert resp.status_code == 200, resp.text


# --- enforcement is real: one action fewer, and the flow fails clearly -----------------------


def template_without(tmp_path: Path, role: str, action: str) -> Path:
    """A copy of the project whose template lacks one action in one role (code linked, not copied)."""
    for part in ("functions", "layers"):
        os.symlink(ROOT / part, tmp_path / part)
    text = (ROOT / "template.yaml").read_text(encoding="utf-8")
    start = text.index(f"  {role}:\n")
    end = text.index("\n  # ---", start) if "\n  # ---" in text[start:] else len(text)
    section = text[start:end]
    line = f"                  - {action}\n"
    assert line in section, f"{action} is not in {role}"
    (tmp_path / "template.yaml").write_text(
        text[:start] + section.replace(line, "", 1) + text[end:], encoding="utf-8"
    )
    return tmp_path / "template.yaml"


def test_removing_one_action_from_a_role_breaks_the_flow_with_a_clear_error(tmp_path: Path) -> None:
    template = template_without(tmp_path, "FaceKeysRole", "dynamodb:PutItem")
    stack = start_stack(2, tmp_path / "stack.log", None, "--template", str(template))
    try:
        token = stack.login("one-action-short")
        resp = stack.issue_key(token, ALICE)
        assert resp.status_code == 503, resp.text
        assert aws_calls(stack)["denied"] >= 1
        log = stack.log_text()
        assert (
            "not authorized to perform: dynamodb:PutItem" in log
            or "denied wechat-face-local-face-keys dynamodb:TransactWriteItems" in log
        )
    finally:
        stack.stop()
        for part in ("functions", "layers"):
            (tmp_path / part).unlink()


def test_dynamodb_calls_are_metered_in_the_request_units_dynamodb_would_bill(gate: Gate) -> None:
    ddb = gate.client("dynamodb")
    table = f"capacity-{secrets.token_hex(3)}"
    ddb.create_table(
        TableName=table,
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )

    def units(action: Any) -> dict[str, float]:
        httpx.post(f"{gate.url}/_devstack/calls")
        action()
        got = httpx.get(f"{gate.url}/_devstack/calls").json()["dynamodb_capacity"]
        return {"read": got["read_units"], "write": got["write_units"]}

    big = {"pk": {"S": "a"}, "v": {"S": "x" * 1500}}  # 2 + 1 + 1500 bytes: two started KB
    assert units(lambda: ddb.put_item(TableName=table, Item=big)) == {"read": 0, "write": 2}
    assert units(lambda: ddb.get_item(TableName=table, Key={"pk": {"S": "a"}})) == {"read": 0.5, "write": 0}
    strong = units(lambda: ddb.get_item(TableName=table, Key={"pk": {"S": "a"}}, ConsistentRead=True))
    assert strong == {"read": 1, "write": 0}
    # An update is billed on the larger of the item before and after: shrinking it still costs 2.
    shrink = units(
        lambda: ddb.update_item(
            TableName=table,
            Key={"pk": {"S": "a"}},
            UpdateExpression="SET v = :v",
            ExpressionAttributeValues={":v": {"S": "y"}},
        )
    )
    assert shrink == {"read": 0, "write": 2}
    # A transaction bills two units per started KB for each action.
    both = units(
        lambda: ddb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": table, "Item": {"pk": {"S": "b"}, "v": {"S": "z" * 1100}}}},
                {"Delete": {"TableName": table, "Key": {"pk": {"S": "a"}}}},
            ]
        )
    )
    assert both == {"read": 0, "write": 2 * 2 + 2 * 1}
    assert units(lambda: ddb.delete_item(TableName=table, Key={"pk": {"S": "gone"}})) == {
        "read": 0,
        "write": 1,
    }


def test_the_schedules_run_now_on_request(stack_v2: RunningStack) -> None:
    """``POST /_devstack/schedules``: the scheduled functions, once each, now (a drain need not
    wait for their minute); by name, or every one."""
    ran = stack_v2.aws_control("POST", "/_devstack/schedules", {"functions": ["event-emitter"]})
    assert set(ran) == {f"{STACK}-event-emitter"} and "sent" in ran[f"{STACK}-event-emitter"]
    # (Not every one on this shared stack: the key rotator would rotate the signing keys.)
    drain = stack_v2.aws_control(
        "POST", "/_devstack/schedules", {"functions": ["event-emitter", "result-sweeper", "token-refresher"]}
    )
    assert set(drain) == {f"{STACK}-token-refresher", f"{STACK}-event-emitter", f"{STACK}-result-sweeper"}
    assert "error" not in json.dumps(drain)
    unknown = httpx.post(f"{stack_v2.aws}/_devstack/schedules", json={"functions": ["face-keys"]}, timeout=30)
    assert unknown.status_code == 404  # not a scheduled function


def test_a_killed_or_timed_out_invocation_is_api_gateways_500_and_the_next_one_works(
    stack_v2: RunningStack,
) -> None:
    """``POST /_devstack/lambda-faults``: the function's next invocations have their execution
    environment killed mid-request, or time out early; API Gateway answers its own 500 (as for
    any failed invocation), and a new environment serves the next request."""
    token = stack_v2.login(f"killed-{secrets.token_hex(3)}")
    for spec in ({"kill_after_ms": 1}, {"timeout_ms": 1}):
        assert (
            stack_v2.aws_control("POST", "/_devstack/lambda-faults", {"function": "face-keys", **spec}) == {}
        )
        failed = stack_v2.issue_key(token, ALICE)
        assert (failed.status_code, failed.json()) == (500, {"message": "Internal Server Error"})
        assert stack_v2.issue_key(token, ALICE).status_code == 200  # once only
    for bad, status in (
        ({"function": "face-keys"}, 400),  # neither
        ({"function": "face-keys", "kill_after_ms": 5, "timeout_ms": 5}, 400),  # both
        ({"function": "no-such-function", "kill_after_ms": 5}, 404),
    ):
        answer = httpx.post(f"{stack_v2.aws}/_devstack/lambda-faults", json=bad, timeout=30)
        assert answer.status_code == status, bad
