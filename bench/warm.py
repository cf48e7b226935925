"""3. Warm overhead, in-process: WeChat answered by ``httpx.MockTransport``, AWS by botocore's
``Stubber``. This process is one warm container of each API function; each is measured against
a baseline handler that does only the route's unavoidable work (the same WeChat call and write,
plain httpx and boto3)."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import time
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import httpx

from tests.support.handlers import Context
from tests.support.people import ALICE

from .common import ROOT, event, median, ms, p99, row, target
from .spans import Spans

SECTION = "3 warm overhead"
WHERE = "3 warm overhead: where a key issuance's time goes (medians inside the requests)"
WARM_UP, SAMPLES = 50, 400
ENV = {
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "x",
    "AWS_SECRET_ACCESS_KEY": "x",
    "POWERTOOLS_METRICS_DISABLED": "true",
    "POWERTOOLS_METRICS_NAMESPACE": "Bench",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
    "FACE_API_VERSION": "2",
    "PARAM_PATH": "/bench",
    "TABLE_NAME": "bench",
    "WECHAT_APP_ID": "wx0000000000000001",
    "WECHAT_APP_SECRET_PARAM": "/bench/secret",
}
WECHAT_ANSWERS: dict[str, dict[str, Any]] = {
    "/sns/jscode2session": {"openid": "o-warm", "session_key": "c2s="},
    "/cityservice/face/identify/getverifyid": {"errcode": 0, "verify_id": "vid-bench", "expires_in": 3600},
    "/cityservice/face/identify/queryverifyinfo": {"errcode": 0, "verify_ret": 10000},
}
WECHAT = "https://wechat.test"


def wechat_answer(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json=WECHAT_ANSWERS[request.url.path])


class FixedToken:
    def get(self) -> str:
        return "T"

    def stale(self, token: str) -> None:
        pass


def user_count(scope: str) -> dict[str, Any]:
    """What the user's own item answers after counting one request (ReturnValues=ALL_NEW)."""
    window = int(time.time() // 3600)
    return {"Attributes": {f"{scope}#{window}": {"N": "1"}, "ttl": {"N": str(int(time.time()) + 172800)}}}


def handler(directory: str, module: str) -> ModuleType:
    """A function's handler module loaded from its source file, as Lambda loads it (its
    ``lambda_handler`` and the container it made)."""
    spec = importlib.util.spec_from_file_location(
        f"bench_{module}", ROOT / "functions" / directory / f"{module}.py"
    )
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@contextlib.contextmanager
def quiet_stdout() -> Iterator[None]:
    """The functions' EMF lines go to stdout, as in Lambda; here nowhere, not the terminal."""
    with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):
        yield


def run() -> None:
    os.environ.update(ENV)
    import boto3
    import jwt
    from botocore.stub import Stubber

    from tests.support.wechat import ClientConfig, wechat_calls
    from wxface.api.checks import EdgeChecks
    from wxface.dal.aws import AwsClients
    from wxface.dal.table import Table
    from wxface.domain import issuance
    from wxface.domain.limits import QuotaGuard, QuotaPolicy
    from wxface.domain.sessions import issue_session
    from wxface.domain.stack_keys import DataKey, SealingKey, SigningKey, sha256_hex
    from wxface.domain.wechat_calls import WeChatCalls
    from wxface.identity import CERT_TYPE_IDENTITY_CARD, cert_hash
    from wxface.settings import DEFAULT_DAILY_QUOTAS

    ddb = boto3.client("dynamodb")  # the baselines': plain boto3
    base_stub = Stubber(ddb)
    base_stub.activate()
    session_mod = handler("session", "session_handler")
    keys_mod = handler("face_keys", "keys_handler")
    results_mod = handler("face_results", "results_handler")
    # The product's clients, configured and timed as deployed (one set, so that the stubs'
    # answers are queued in the order the three functions' calls are made).
    product_aws = AwsClients(timing=keys_mod.container.observed.aws_latency)
    stub = Stubber(product_aws.dynamodb())
    stub.activate()
    bus_stub = Stubber(product_aws.events())  # the product's EventBridge client (the result's event)
    bus_stub.activate()
    table = Table("bench", product_aws)
    # The quota guard as deployed: a container reserves calls in blocks (50 of the daily quota, 6
    # of the hourly budget at the default quotas), so one call in 6 writes the table, one in 50
    # twice (the stubbed answers are queued where those writes happen: hourly, then daily).
    policy = QuotaPolicy(DEFAULT_DAILY_QUOTAS)
    guard = QuotaGuard(table, policy, report=lambda *a: None, clock=time.time)
    quota_calls: dict[str, int] = {}

    def quota(endpoint: str) -> None:
        made = quota_calls.get(endpoint, 0)
        hourly = policy.hourly(endpoint)
        if hourly and made == 0:  # the last hour's calls, read once per container and hour
            stub.add_response("batch_get_item", {"Responses": {"bench": []}})
        if hourly and made % policy.block(hourly) == 0:
            stub.add_response("update_item", {"Attributes": {"n": {"N": str(policy.block(hourly))}}})
        daily = DEFAULT_DAILY_QUOTAS.get(endpoint, 0)
        if made % policy.block(daily) == 0:
            stub.add_response("update_item", {"Attributes": {"n": {"N": str(policy.block(daily))}}})
        quota_calls[endpoint] = made + 1

    transport = httpx.MockTransport(wechat_answer)
    config = ClientConfig.of(base_url=WECHAT, fallback_base_url=None)
    client = wechat_calls(config, tokens=FixedToken(), transport=transport, guard=guard)
    plain = httpx.Client(transport=transport)  # the baselines' own httpx client
    keys = (SigningKey("k", b"k" * 32),)
    data_key = DataKey(b"d" * 32)
    sealing = SealingKey(b"s" * 32)

    # This process is one warm container: its singletons answer from the stubs.
    class WarmKeys:  # the key material as a warm container's cache holds it
        def data_key(self) -> DataKey:
            return data_key

        def sealing_key(self) -> SealingKey:
            return sealing

        def order_key(self) -> SealingKey:
            return sealing

        def signing_keys(self, force: bool = False) -> tuple[SigningKey, ...]:
            return keys

    class WarmParams:  # the AppSecret, cached
        def read(self, name: str, *, max_age: int, force: bool = False) -> str:
            return "secret"

    for mod in (session_mod, keys_mod, results_mod):
        container = mod.container  # each function's own, its parts set as a warm one holds them
        vars(container).update(
            aws=product_aws,
            wechat=client,
            login_client=client,
            table=table,
            keys=WarmKeys(),
            params=WarmParams(),
        )
        # Warm, the prefetches are cache look-ups; the session verifier is the wiring's own.
        checks = EdgeChecks(verify=container.sessions)
        vars(container).update(edge_for_keys=checks, edge_for_results=checks, edge_for_login=checks)

    token = issue_session("o-warm", keys, 3600)
    vid = "vid-bench"
    now = int(time.time())
    key_record = {
        "pk": {"S": "KEY#x"},
        "sk": {"S": "KEY"},
        "owner": {"S": data_key.owner("o-warm")},
        "api_version": {"N": "2"},
        "ttl": {"N": str(now + 86400)},
        "expires_at": {"N": str(now + 3600)},
        "out_seq_no": {"S": "a" * 32},
        "cert_hash": {"S": sealing.seal(cert_hash(CERT_TYPE_IDENTITY_CARD, *ALICE), sha256_hex(vid))},
    }
    # Where a key issuance's time goes: its pieces timed inside the real requests.
    spans = Spans()
    spans.wrap(Table, "take", "the per-user counter (UpdateItem; the key limit needs it)")
    spans.wrap(
        WeChatCalls,
        "get_verify_id",
        "the WeChat call under the calling policy (quota guard, token, typed models, retries)",
    )
    spans.wrap(Table, "put_key", "key record + user index + audit record (one TransactWriteItems)")
    spans.wrap(issuance.KeyIssuance, "_issue", "issuance")
    session_fn, keys_fn, results_fn = (
        session_mod.lambda_handler,
        keys_mod.lambda_handler,
        results_mod.lambda_handler,
    )
    session_event = event("session.json", body={"code": "c"})
    key_event = event("face_keys.json", token=token)
    key_body = json.loads(key_event["body"])
    lookup_event = event("face_results_v2.json", token=token, body={"verify_id": vid})

    def answered(fn: Callable[[dict[str, Any], Any], dict[str, Any]], ev: dict[str, Any]) -> None:
        answer = fn(ev, Context())
        assert answer["statusCode"] == 200, answer

    def session() -> None:
        stub.add_response("batch_get_item", {"Responses": {"bench": []}})  # the address's refused codes
        quota("/sns/jscode2session")
        stub.add_response("get_item", {})  # the user's erasure epoch (none yet)
        answered(session_fn, session_event)

    def session_base() -> None:
        params = {"appid": "wx0000000000000001", "secret": "secret", "js_code": "c"}
        r = plain.get(f"{WECHAT}/sns/jscode2session", params=params)
        jwt.encode({"sub": r.json()["openid"], "exp": int(time.time()) + 3600}, b"k" * 32, algorithm="HS256")

    def key() -> None:
        stub.add_response("update_item", user_count("keys"))  # the user's item: count, session check
        quota("/cityservice/face/identify/getverifyid")
        stub.add_response("transact_write_items", {})  # erasure check, key, index and audit records
        started = time.perf_counter()
        answered(keys_fn, key_event)
        spans.add("handler", time.perf_counter() - started)

    def key_base() -> None:
        base_stub.add_response("put_item", {})
        started = time.perf_counter()
        url = f"{WECHAT}/cityservice/face/identify/getverifyid"
        r = plain.post(url, params={"access_token": "T"}, json={"cert_info": key_body})
        called = time.perf_counter()
        ddb.put_item(TableName="bench", Item={"pk": {"S": r.json()["verify_id"]}, "sk": {"S": "K"}})
        spans.add("the baseline's WeChat call (plain httpx)", called - started)
        spans.add("the baseline's write (put_item, plain boto3)", time.perf_counter() - called)

    def key_same_io() -> None:
        """The baseline plus the rest of the route's required I/O: the counter and a 3-item transaction."""
        base_stub.add_response("update_item", {})
        base_stub.add_response("transact_write_items", {})
        ddb.update_item(
            TableName="bench",
            Key={"pk": {"S": "RATE#x"}, "sk": {"S": "RATE"}},
            UpdateExpression="ADD n :one",
            ExpressionAttributeValues={":one": {"N": "1"}},
        )
        url = f"{WECHAT}/cityservice/face/identify/getverifyid"
        ref = plain.post(url, params={"access_token": "T"}, json={"cert_info": key_body}).json()["verify_id"]
        items = [
            {"pk": {"S": f"KEY#{ref}"}, "sk": {"S": "KEY"}, "o": {"S": "x" * 32}},
            {"pk": {"S": "USER#x"}, "sk": {"S": f"KEY#{ref}"}},
            {"pk": {"S": "AUDIT#x"}, "sk": {"S": "1#issued"}},
        ]
        ddb.transact_write_items(TransactItems=[{"Put": {"TableName": "bench", "Item": i}} for i in items])

    def lookup() -> None:
        stub.add_response("update_item", user_count("lookups"))  # the user's item: count, session check
        stub.add_response("batch_get_item", {"Responses": {"bench": [key_record]}})  # no result yet
        stub.add_response("update_item", {"Attributes": {"wechat_lookups": {"N": "1"}}})  # the key's lookups
        quota("/cityservice/face/identify/queryverifyinfo")
        stub.add_response("transact_write_items", {})  # result, index, audit, event, erasure check
        bus_stub.add_response("put_events", {"FailedEntryCount": 0, "Entries": [{"EventId": "e"}]})
        stub.add_response("delete_item", {})  # the event's outbox entry, once EventBridge took it
        answered(results_fn, lookup_event)

    def lookup_base() -> None:
        base_stub.add_response("put_item", {})
        url = f"{WECHAT}/cityservice/face/identify/queryverifyinfo"
        r = plain.post(url, params={"access_token": "T"}, json={"verify_id": vid})
        ddb.put_item(TableName="bench", Item={"pk": {"S": vid}, "sk": {"S": str(r.json()["verify_ret"])}})

    cases = [
        ("POST /v1/session", session, session_base),
        ("POST /v1/face/keys", key, key_base),
        ("POST /v1/face/results (first lookup)", lookup, lookup_base),
    ]
    samples: dict[str, list[float]] = {}
    with quiet_stdout():
        for _, product, base in cases:
            for fn in (product, base):
                for _ in range(WARM_UP):
                    fn()
        for _ in range(WARM_UP):
            key_same_io()
        spans.on = True
        for _ in range(SAMPLES):
            for name, product, base in cases:
                for label, fn in ((name, product), (f"{name} baseline", base)):
                    started = time.perf_counter()
                    fn()
                    samples.setdefault(label, []).append(time.perf_counter() - started)
            started = time.perf_counter()
            key_same_io()
            samples.setdefault("same I/O", []).append(time.perf_counter() - started)
        spans.on = False
    stub.assert_no_pending_responses()
    base_stub.assert_no_pending_responses()
    bus_stub.assert_no_pending_responses()
    report(cases, samples, spans)


def report(cases: list[tuple[str, Any, Any]], samples: dict[str, list[float]], spans: Spans) -> None:
    for name, _, _ in cases:
        product, base = samples[name], samples[f"{name} baseline"]
        ratio = median(product) / median(base)
        row(
            SECTION,
            f"{name} handler: median",
            f"{ms(median(product))} vs baseline {ms(median(base))} ({ratio:.2f}x)",
            target("<= 2x", ratio <= 2),
        )
        row(SECTION, f"{name} handler: p99", f"{ms(p99(product))} vs baseline {ms(p99(base))}")
    keys_s, same_s = median(samples["POST /v1/face/keys"]), median(samples["same I/O"])
    row(
        SECTION,
        "POST /v1/face/keys handler vs a baseline with the route's own I/O (counter, WeChat call, "
        "3-item transaction)",
        f"{ms(keys_s)} vs {ms(same_s)} ({keys_s / same_s:.2f}x)",
    )
    for label in ("the baseline's WeChat call (plain httpx)", "the baseline's write (put_item, plain boto3)"):
        row(WHERE, label, f"{spans.median(label) * 1e6:.0f} µs")
    pieces = [
        label for label in spans.times if label not in ("handler", "issuance") and "baseline" not in label
    ]
    for label in pieces:
        row(WHERE, label, f"{spans.median(label) * 1e6:.0f} µs")
    inside = spans.median("issuance") - sum(spans.median(label) for label in pieces)
    row(
        WHERE,
        "the rest of the issuance: GB 11643 and name checks, cert_hash, HMACs, records",
        f"{max(0.0, inside) * 1e6:.0f} µs",
    )
    entry = spans.median("handler") - spans.median("issuance")
    row(
        WHERE,
        "the entry around it: Logger, Metrics, body checks, the session token, Powertools' resolver "
        "and body validation, the answer",
        f"{entry * 1e6:.0f} µs",
    )
