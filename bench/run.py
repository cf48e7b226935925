"""`make bench`: cold start, warm overhead, I/O per request, the token under load, throughput.

Every speed figure is a median over repeated runs and a ratio against a baseline measured in the
same run on the same machine. Init and first-request figures come from the *built* artifacts
(`sam build`, host architecture) on the runtime's own Python, isolated from any virtualenv
(`python3.13 -I -S`), as Lambda runs them. Writes docs/benchmarks.md.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "layers" / "wechat"), str(ROOT / "local")]

from devstack.template import load
from tests.support.people import ALICE, CAROL
from tests.support.stack import RunningStack, start_stack
from tests.support.tools import runtime_python, tools_bin

REPEATS = int(os.environ.get("BENCH_REPEATS", "7"))
FUNCTIONS = {
    "TokenRefresherFunction": "refresher_handler",
    "SessionFunction": "session_handler",
    "FaceKeysFunction": "keys_handler",
    "FaceResultsFunction": "results_handler",
    "KeyRotatorFunction": "rotator_handler",
}
rows: list[tuple[str, str, str, str]] = []  # section, measure, value, target


def median(xs: list[float]) -> float:
    return statistics.median(xs)


def p99(xs: list[float]) -> float:
    ordered = sorted(xs)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def ms(x: float) -> str:
    return f"{x * 1000:.1f} ms"


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


# --- build ------------------------------------------------------------------------------------


def build() -> tuple[Path, str]:
    python = runtime_python("3.13")
    if python is None:
        sys.exit("make bench needs python3.13 (the Lambda runtime's Python) on PATH or through pyenv")
    build_dir = ROOT / ".aws-sam" / "bench-build"
    arch = "arm64" if platform.machine() in ("aarch64", "arm64") else "x86_64"
    env = {
        **os.environ,
        "PATH": f"{Path(python).parent}{os.pathsep}{os.environ['PATH']}",
        "SAM_CLI_TELEMETRY": "0",
    }
    subprocess.run(
        [tools_bin("sam"), "build", "--build-dir", str(build_dir), "--cached", "--cache-dir",
         str(ROOT / ".aws-sam" / "cache"), "--parameter-overrides", f"Architecture={arch}", "--region", "us-east-1"],
        cwd=ROOT, env=env, check=True, capture_output=True,
    )  # fmt: skip
    # As `make build` does: ship bytecode, since Lambda cannot write it (read-only /opt, /var/task).
    subprocess.run([python, "-m", "compileall", "-q", "--invalidation-mode", "unchecked-hash", str(build_dir)],
                   check=True, capture_output=True)  # fmt: skip
    return build_dir, python


def without_bytecode(build_dir: Path) -> Path:
    """A copy of the build without .pyc files: what a cold start compiles when none are shipped."""
    import shutil

    copy = ROOT / ".aws-sam" / "bench-build-nopyc"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(build_dir, copy, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return copy


CREDENTIALS = ROOT / ".aws-sam" / "bench-credentials.json"


def function_env(build_dir: Path, stack: RunningStack | None, logical_id: str) -> dict[str, str]:
    overrides = {"WeChatAppId": "wx0000000000000001", "FaceApiVersion": "2", "WeChatFallbackBaseUrl": "none"}
    if stack is not None:
        overrides["WeChatBaseUrl"] = stack.sim
    template = load(build_dir / "template.yaml", stack_name="wechat-face-local", overrides=overrides)
    fn = template.functions[logical_id]
    return {
        "PATH": os.environ["PATH"],
        **fn.environment,
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        # The function's own role, as the local stack issued it (the endpoint enforces IAM).
        **(
            json.loads(CREDENTIALS.read_text())[logical_id]
            if stack
            else {"AWS_ACCESS_KEY_ID": "none", "AWS_SECRET_ACCESS_KEY": "none"}
        ),
        "AWS_ENDPOINT_URL": stack.aws if stack else "http://127.0.0.1:9",
        "AWS_LAMBDA_FUNCTION_NAME": fn.name,
        "POWERTOOLS_TRACE_DISABLED": "true",
    }


# --- 1. init ----------------------------------------------------------------------------------

IMPORT = (
    "import sys, time\n"
    "sys.path[:0] = sys.argv[1:3]\n"
    "t = time.perf_counter()\n"
    "for m in sys.argv[3].split(','): __import__(m)\n"
    "print(time.perf_counter() - t)\n"
)


def init(build_dir: Path, python: str) -> None:
    layer = str(build_dir / "WeChatLayer" / "python")
    plain = without_bytecode(build_dir)

    def timed(code_dir: str, modules: str, env: dict[str, str], layer: str = layer) -> float:
        out = subprocess.run([python, "-I", "-S", "-B", "-c", IMPORT, code_dir, layer, modules],
                             env=env, capture_output=True, text=True, check=True)  # fmt: skip
        return float(out.stdout.strip().splitlines()[-1])

    env = function_env(build_dir, None, "FaceKeysFunction")
    baseline = median([timed(layer, "boto3,httpx", env) for _ in range(REPEATS)])
    rows.append(("1 init", "baseline: import boto3, httpx", ms(baseline), ""))
    for logical_id, module in FUNCTIONS.items():
        env = function_env(build_dir, None, logical_id)
        value = median([timed(str(build_dir / logical_id), module, env) for _ in range(REPEATS)])
        ratio = value / baseline
        rows.append(
            ("1 init", f"{logical_id}", f"{ms(value)} ({ratio:.2f}x)", f"<= 1.5x: {verdict(ratio <= 1.5)}")
        )
    # With Tracing=Active (the template's default), Powertools' Tracer loads the X-Ray SDK.
    for logical_id, module in (
        ("FaceKeysFunction", "keys_handler"),
        ("TokenRefresherFunction", "refresher_handler"),
    ):
        env = {**function_env(build_dir, None, logical_id), "POWERTOOLS_TRACE_DISABLED": "false"}
        value = median([timed(str(build_dir / logical_id), module, env) for _ in range(REPEATS)])
        rows.append(("1 init", f"{logical_id} with Tracing=Active (X-Ray SDK loaded)",
                     f"{ms(value)} ({value / baseline:.2f}x)", f"<= 1.5x: {verdict(value / baseline <= 1.5)}"))  # fmt: skip
    # What shipping bytecode buys: the same imports from a copy of the build without .pyc files.
    env = function_env(build_dir, None, "FaceKeysFunction")
    plain_layer = str(plain / "WeChatLayer" / "python")
    plain_base = median([timed(plain_layer, "boto3,httpx", env, plain_layer) for _ in range(REPEATS)])
    plain_keys = median(
        [timed(str(plain / "FaceKeysFunction"), "keys_handler", env, plain_layer) for _ in range(REPEATS)]
    )
    rows.append(("1 init", "without shipped bytecode: FaceKeysFunction vs baseline",
                 f"{ms(plain_keys)} vs {ms(plain_base)} ({plain_keys / plain_base:.2f}x)", ""))  # fmt: skip


# --- 2. first request -------------------------------------------------------------------------

FIRST = (
    "import sys, time, json\n"
    "t = time.perf_counter()\n"
    "sys.path[:0] = sys.argv[1:3]\n"
    "mod = __import__(sys.argv[3])\n"
    "class C:\n"
    "    function_name='bench'; memory_limit_in_mb=512; aws_request_id='r1'\n"
    "    invoked_function_arn='arn:aws:lambda:us-east-1:123456789012:function:bench'\n"
    "    def get_remaining_time_in_millis(self): return 15000\n"
    "answer = mod.lambda_handler(json.loads(sys.stdin.read()), C())\n"
    "print(json.dumps({'s': time.perf_counter() - t, 'status': answer.get('statusCode')}))\n"
)

BASELINE_FIRST = (
    "import sys, time, json\n"
    "t = time.perf_counter()\n"
    "sys.path[:0] = sys.argv[1:3]\n"
    "import boto3, httpx\n"
    "job = json.loads(sys.stdin.read())\n"
    "ssm = boto3.client('ssm'); ddb = boto3.client('dynamodb')\n"
    "secret = ssm.get_parameter(Name=job['param'], WithDecryption=True)['Parameter']['Value']\n"
    "r = httpx.request(job['method'], job['url'], params=job.get('params'), json=job.get('json'))\n"
    "assert r.json().get('errcode', 0) == 0, r.text\n"
    "for _ in range(job.get('writes', 1) if job.get('table') else 0):\n"
    # UpdateItem: the write every API function's role allows (the session role has no PutItem).
    "    ddb.update_item(TableName=job['table'], Key={'pk': {'S': 'BENCH#' + str(time.time())}, 'sk': {'S': 'X'}},\n"
    "                    UpdateExpression='SET n = :n', ExpressionAttributeValues={':n': {'N': '1'}})\n"
    "print(json.dumps({'s': time.perf_counter() - t}))\n"
)


def event(name: str, token: str | None = None, body: dict[str, Any] | None = None) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((ROOT / "events" / name).read_text())
    if token:
        data["headers"]["authorization"] = f"Bearer {token}"
    if body is not None:
        data["body"] = json.dumps(body, ensure_ascii=False)
    return data


def run_fresh(
    python: str, script: str, args: list[str], stdin: dict[str, Any], env: dict[str, str]
) -> dict[str, Any]:
    out = subprocess.run([python, "-I", "-S", "-B", "-c", script, *args], input=json.dumps(stdin, ensure_ascii=False),
                         env=env, capture_output=True, text=True, check=False)  # fmt: skip
    if out.returncode:
        raise RuntimeError(f"a fresh container failed:\n{out.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def first_requests(build_dir: Path, python: str, stack: RunningStack) -> None:
    layer = str(build_dir / "WeChatLayer" / "python")
    ssm = stack.aws_client("ssm")
    token_param = "/wechat-face-local/access-token"
    table = stack.aws_client("dynamodb").list_tables()["TableNames"][0]

    def access_token() -> str:
        value = ssm.get_parameter(Name=token_param, WithDecryption=True)["Parameter"]["Value"]
        return str(json.loads(value)["access_token"])

    def case(logical_id: str, module: str, make_event: Callable[[], dict[str, Any]],
             make_job: Callable[[], dict[str, Any]], same_io: int, io: str) -> None:  # fmt: skip
        """``same_io``: the DynamoDB calls the route makes on a first request (``io`` says which),
        for a second baseline that does them all, as plain UpdateItems."""
        env = function_env(build_dir, stack, logical_id)
        handler, baseline, full = [], [], []
        for _ in range(REPEATS):
            answer = run_fresh(python, FIRST, [str(build_dir / logical_id), layer, module], make_event(), env)
            assert answer["status"] == 200, answer
            handler.append(answer["s"])
            baseline.append(run_fresh(python, BASELINE_FIRST, [layer, layer], make_job(), env)["s"])
            same = {**make_job(), "table": table, "writes": same_io}  # a new job: login codes are single-use
            full.append(run_fresh(python, BASELINE_FIRST, [layer, layer], same, env)["s"])
        ratio = median(handler) / median(baseline)
        rows.append(("2 first request", f"{logical_id}", f"{ms(median(handler))} vs baseline {ms(median(baseline))} "
                     f"({ratio:.2f}x)", f"<= 1.5x: {verdict(ratio <= 1.5)}"))  # fmt: skip
        rows.append(("2 first request", f"{logical_id} vs a baseline with the route's own DynamoDB calls ({io})",
                     f"{ms(median(handler))} vs {ms(median(full))} ({median(handler) / median(full):.2f}x)", ""))  # fmt: skip

    sim = stack.sim
    case(
        "SessionFunction", "session_handler",
        lambda: event("session.json", body={"code": stack.sim_control("/sim/login", {"openid": "o-b"})["code"]}),
        lambda: {"param": "/wechat-face/app-secret", "method": "GET", "url": f"{sim}/sns/jscode2session",
                 "params": {"appid": "wx0000000000000001", "secret": "sim-app-secret",
                            "js_code": stack.sim_control("/sim/login", {"openid": "o-b"})["code"],
                            "grant_type": "authorization_code"}},
        2, "per-address counter, quota reservation",
    )  # fmt: skip
    case(
        "FaceKeysFunction", "keys_handler",
        lambda: event("face_keys.json", token=stack.login(f"o-{uuid.uuid4().hex[:8]}")),
        lambda: {"param": token_param, "method": "POST", "table": table,
                 "url": f"{sim}/cityservice/face/identify/getverifyid?access_token={access_token()}",
                 "json": {"out_seq_no": uuid.uuid4().hex, "openid": "o-b",
                          "cert_info": {"cert_type": "IDENTITY_CARD", "cert_name": CAROL[0], "cert_no": CAROL[1]}}},
        3, "per-user counter, quota reservation, key transaction",
    )  # fmt: skip

    def verified() -> tuple[str, str]:
        openid = f"o-{uuid.uuid4().hex[:8]}"
        token = stack.login(openid)
        key = stack.key_of(token, ALICE)
        stack.verify_on_phone(openid, key)
        return token, key

    def lookup_job() -> dict[str, Any]:
        from tests.support.simulator import SimTokens
        from wxface.identity import CERT_TYPE_IDENTITY_CARD, cert_hash
        from wxface.wechat import ClientConfig, WeChatClient

        client = WeChatClient(ClientConfig(base_url=sim, fallback_base_url=None), tokens=SimTokens(sim))
        issued = client.get_verify_id(*CAROL, "o-base")
        stack.sim_control("/sim/verify", {"openid": "o-base", "verify_id": issued.verify_id})
        return {"param": token_param, "method": "POST", "table": table,
                "url": f"{sim}/cityservice/face/identify/queryverifyinfo?access_token={access_token()}",
                "json": {"verify_id": issued.verify_id, "out_seq_no": issued.out_seq_no, "openid": "o-base",
                         "cert_hash": cert_hash(CERT_TYPE_IDENTITY_CARD, *CAROL)}}  # fmt: skip

    def lookup_event() -> dict[str, Any]:
        token, key = verified()
        return event("face_results_v2.json", token=token, body={"verify_id": key})

    case("FaceResultsFunction", "results_handler", lookup_event, lookup_job, 4,
         "per-user counter, result and key read, quota reservation, result transaction")  # fmt: skip


# --- 3. warm overhead -------------------------------------------------------------------------


def warm_overhead() -> None:
    """In-process: WeChat answered by httpx.MockTransport, AWS by botocore's Stubber. One process
    is one warm container of each API function; each is measured against a baseline handler that
    does only that route's unavoidable work (the same WeChat call and write, plain httpx/boto3)."""
    import importlib.util

    import boto3
    import jwt
    from botocore.stub import Stubber

    os.environ.update({"AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "x",
                       "AWS_SECRET_ACCESS_KEY": "x", "POWERTOOLS_TRACE_DISABLED": "true",
                       "POWERTOOLS_METRICS_DISABLED": "true", "POWERTOOLS_METRICS_NAMESPACE": "Bench", "POWERTOOLS_LOG_LEVEL": "WARNING",
                       "FACE_API_VERSION": "2", "PARAM_PATH": "/bench", "TABLE_NAME": "bench",
                       "WECHAT_APP_ID": "wx0000000000000001", "WECHAT_APP_SECRET_PARAM": "/bench/secret"})  # fmt: skip
    from wxface import runtime
    from wxface.dal.table import Table
    from wxface.domain.limits import QuotaGuard, QuotaPolicy
    from wxface.domain.sessions import issue_session
    from wxface.domain.stack_keys import DataKey, SigningKey
    from wxface.identity import CERT_TYPE_IDENTITY_CARD, cert_hash
    from wxface.settings import DEFAULT_DAILY_QUOTAS
    from wxface.wechat import ClientConfig, WeChatClient

    answers = {
        "/sns/jscode2session": {"openid": "o-warm", "session_key": "c2s="},
        "/cityservice/face/identify/getverifyid": {
            "errcode": 0,
            "verify_id": "vid-bench",
            "expires_in": 3600,
        },
        "/cityservice/face/identify/queryverifyinfo": {"errcode": 0, "verify_ret": 10000},
    }

    def wechat_answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=answers[request.url.path])

    class Token:
        def get(self) -> str:
            return "T"

        def stale(self, token: str) -> None:
            pass

    from wxface.dal import aws

    ddb = boto3.client("dynamodb")  # the baselines': plain boto3
    base_stub = Stubber(ddb)
    base_stub.activate()
    product_ddb = aws.dynamodb()  # the product's, configured as deployed
    stub = Stubber(product_ddb)
    stub.activate()
    table = Table("bench", product_ddb)
    # The quota guard as deployed: a container reserves 50 calls of an endpoint at a time, so one
    # call in 50 writes the table (its stubbed answer is queued where that write happens).
    guard = QuotaGuard(table, QuotaPolicy(DEFAULT_DAILY_QUOTAS), report=lambda *a: None, clock=time.time)
    calls: dict[str, int] = {}

    def quota(endpoint: str) -> None:
        if calls.get(endpoint, 0) % 50 == 0:
            stub.add_response("update_item", {"Attributes": {"n": {"N": "50"}}})
        calls[endpoint] = calls.get(endpoint, 0) + 1

    config = ClientConfig(base_url="https://wechat.test", fallback_base_url=None)
    transport = httpx.MockTransport(wechat_answer)
    client = WeChatClient(config, tokens=Token(), transport=transport, admit=guard.admit)
    plain = httpx.Client(transport=transport)  # the baselines' own httpx client
    keys = (SigningKey("k", b"k" * 32),)
    data_key = DataKey(b"d" * 32)
    # This process is one warm container: its singletons answer from the stubs.
    vars(runtime).update(
        wechat=lambda: client,
        login_client=lambda: client,
        table=lambda: table,
        signing_keys=lambda: keys,
        data_key=lambda: data_key,
        app_secret=lambda force=False: "secret",
        prefetch_for_api=lambda: None,  # warm, these are cache look-ups
        prefetch_for_login=lambda: None,
    )

    def handler(directory: str, module: str) -> Any:
        spec = importlib.util.spec_from_file_location(
            f"bench_{module}", ROOT / "functions" / directory / f"{module}.py"
        )
        assert spec and spec.loader
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        return mod.lambda_handler

    class C:
        function_name, memory_limit_in_mb, aws_request_id = "bench", 512, "r"
        invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench"

        def get_remaining_time_in_millis(self) -> int:
            return 15000

    token = issue_session("o-warm", keys, 3600)
    vid = "vid-bench"
    key_record = {
        "pk": {"S": "KEY#x"}, "sk": {"S": "KEY"}, "owner": {"S": data_key.owner("o-warm")},
        "api_version": {"N": "2"}, "ttl": {"N": str(int(time.time()) + 86400)},
        "expires_at": {"N": str(int(time.time()) + 3600)}, "out_seq_no": {"S": "a" * 32},
        "cert_hash": {"S": cert_hash(CERT_TYPE_IDENTITY_CARD, *ALICE)},
    }  # fmt: skip
    # Where a key issuance's time goes: its pieces timed inside the real requests.
    from wxface.domain import issuance

    spans = Spans()
    spans.wrap(Table, "take", "the per-user counter (UpdateItem; the key limit needs it)")
    spans.wrap(
        WeChatClient,
        "get_verify_id",
        "the WeChat call through the client (quota guard, typed models, retries)",
    )
    spans.wrap(Table, "put_key", "key record + user index + audit record (one TransactWriteItems)")
    spans.wrap(issuance, "issue_key", "issuance")
    session_fn = handler("session", "session_handler")
    keys_fn = handler("face_keys", "keys_handler")
    results_fn = handler("face_results", "results_handler")
    session_event = event("session.json", body={"code": "c"})
    key_event = event("face_keys.json", token=token)
    lookup_event = event("face_results_v2.json", token=token, body={"verify_id": vid})

    def run(fn: Any, ev: dict[str, Any], status: int = 200) -> None:
        answer = fn(ev, C())
        assert answer["statusCode"] == status, answer

    def session() -> None:
        stub.add_response("update_item", {"Attributes": {"n": {"N": "1"}}})  # the per-address count
        quota("/sns/jscode2session")
        run(session_fn, session_event)

    def session_base() -> None:
        r = plain.get("https://wechat.test/sns/jscode2session",
                      params={"appid": "wx0000000000000001", "secret": "secret", "js_code": "c"})  # fmt: skip
        jwt.encode({"sub": r.json()["openid"], "exp": int(time.time()) + 3600}, b"k" * 32, algorithm="HS256")

    def key() -> None:
        stub.add_response("update_item", {"Attributes": {"n": {"N": "1"}}})  # the per-user count
        quota("/cityservice/face/identify/getverifyid")
        stub.add_response("transact_write_items", {})  # key, index and audit records
        t = time.perf_counter()
        run(keys_fn, key_event)
        if spans.on:
            spans.times.setdefault("handler", []).append(time.perf_counter() - t)

    def key_base() -> None:
        base_stub.add_response("put_item", {})
        body = json.loads(key_event["body"])
        t = time.perf_counter()
        r = plain.post("https://wechat.test/cityservice/face/identify/getverifyid",
                       params={"access_token": "T"}, json={"cert_info": body})  # fmt: skip
        t2 = time.perf_counter()
        ddb.put_item(TableName="bench", Item={"pk": {"S": r.json()["verify_id"]}, "sk": {"S": "K"}})
        if spans.on:
            spans.times.setdefault("the baseline's WeChat call (plain httpx)", []).append(t2 - t)
            spans.times.setdefault("the baseline's write (put_item, plain boto3)", []).append(
                time.perf_counter() - t2
            )

    def key_same_io() -> None:
        """The baseline plus the rest of the route's required I/O: the counter and a 3-item transaction."""
        base_stub.add_response("update_item", {})
        base_stub.add_response("transact_write_items", {})
        ddb.update_item(TableName="bench", Key={"pk": {"S": "RATE#x"}, "sk": {"S": "RATE"}},
                        UpdateExpression="ADD n :one", ExpressionAttributeValues={":one": {"N": "1"}})  # fmt: skip
        r = plain.post("https://wechat.test/cityservice/face/identify/getverifyid",
                       params={"access_token": "T"}, json={"cert_info": json.loads(key_event["body"])})  # fmt: skip
        ref = r.json()["verify_id"]
        ddb.transact_write_items(TransactItems=[
            {"Put": {"TableName": "bench", "Item": {"pk": {"S": f"KEY#{ref}"}, "sk": {"S": "KEY"}, "o": {"S": "x" * 32}}}},
            {"Put": {"TableName": "bench", "Item": {"pk": {"S": "USER#x"}, "sk": {"S": f"KEY#{ref}"}}}},
            {"Put": {"TableName": "bench", "Item": {"pk": {"S": "AUDIT#x"}, "sk": {"S": "1#issued"}}}},
        ])  # fmt: skip

    def lookup() -> None:
        stub.add_response("update_item", {"Attributes": {"n": {"N": "1"}}})  # the per-user count
        stub.add_response("batch_get_item", {"Responses": {"bench": [key_record]}})  # no result yet
        quota("/cityservice/face/identify/queryverifyinfo")
        stub.add_response("transact_write_items", {})  # result, index and audit records
        run(results_fn, lookup_event)

    def lookup_base() -> None:
        base_stub.add_response("put_item", {})
        r = plain.post("https://wechat.test/cityservice/face/identify/queryverifyinfo",
                       params={"access_token": "T"}, json={"verify_id": vid})  # fmt: skip
        ddb.put_item(TableName="bench", Item={"pk": {"S": vid}, "sk": {"S": str(r.json()["verify_ret"])}})

    # The functions' EMF lines go to stdout, as in Lambda; here to /dev/null, not the terminal.
    devnull = open(os.devnull, "w")  # noqa: SIM115 - closed below
    saved, sys.stdout = sys.stdout, devnull
    cases = [("POST /v1/session", session, session_base), ("POST /v1/face/keys", key, key_base),
             ("POST /v1/face/results (first lookup)", lookup, lookup_base)]  # fmt: skip
    samples: dict[str, list[float]] = {}
    for _, product, base in cases:
        for fn in (product, base):
            for _ in range(50):
                fn()
    for _ in range(50):
        key_same_io()
    spans.on = True
    for _ in range(400):
        for name, product, base in cases:
            for label, fn in ((name, product), (f"{name} baseline", base)):
                t = time.perf_counter()
                fn()
                samples.setdefault(label, []).append(time.perf_counter() - t)
        t = time.perf_counter()
        key_same_io()
        samples.setdefault("same I/O", []).append(time.perf_counter() - t)
    stub.assert_no_pending_responses()
    base_stub.assert_no_pending_responses()
    for name, _, _ in cases:
        pm, bm = median(samples[name]), median(samples[f"{name} baseline"])
        ratio = pm / bm
        rows.append(("3 warm overhead", f"{name} handler: median",
                     f"{ms(pm)} vs baseline {ms(bm)} ({ratio:.2f}x)", f"<= 2x: {verdict(ratio <= 2)}"))  # fmt: skip
        rows.append(("3 warm overhead", f"{name} handler: p99",
                     f"{ms(p99(samples[name]))} vs baseline {ms(p99(samples[f'{name} baseline']))}", ""))  # fmt: skip
    keys_s, same_s = median(samples["POST /v1/face/keys"]), median(samples["same I/O"])
    rows.append(("3 warm overhead", "POST /v1/face/keys handler vs a baseline with the route's own I/O (counter, "
                 "WeChat call, 3-item transaction)", f"{ms(keys_s)} vs {ms(same_s)} ({keys_s / same_s:.2f}x)", ""))  # fmt: skip
    spans.on = False
    sys.stdout = saved
    devnull.close()
    section = "3 warm overhead: where a key issuance's time goes (medians inside the requests)"
    for label in ("the baseline's WeChat call (plain httpx)", "the baseline's write (put_item, plain boto3)"):
        rows.append((section, label, f"{spans.median(label) * 1e6:.0f} µs", ""))
    pieces = [
        label for label in spans.times if label not in ("handler", "issuance") and "baseline" not in label
    ]
    for label in pieces:
        rows.append((section, label, f"{spans.median(label) * 1e6:.0f} µs", ""))
    inside = spans.median("issuance") - sum(spans.median(label) for label in pieces)
    rows.append((section, "the rest of the issuance: GB 11643 and name checks, cert_hash, HMACs, records",
                 f"{max(0.0, inside) * 1e6:.0f} µs", ""))  # fmt: skip
    entry = spans.median("handler") - spans.median("issuance")
    rows.append((section, "the entry around it: Logger, Metrics, body checks, the session token, Powertools' "
                 "resolver and body validation, the answer", f"{entry * 1e6:.0f} µs", ""))  # fmt: skip


class Spans:
    """Times pieces of a request where they run (inside the handler), not in a loop of their
    own: in a tight loop a piece has the CPU's caches to itself and looks about half as long."""

    def __init__(self) -> None:
        self.on = False
        self.times: dict[str, list[float]] = {}

    def wrap(self, owner: Any, attribute: str, label: str) -> None:
        original = getattr(owner, attribute)
        spans = self

        def timed(*args: Any, **kwargs: Any) -> Any:
            if not spans.on:
                return original(*args, **kwargs)
            t = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                spans.times.setdefault(label, []).append(time.perf_counter() - t)

        setattr(owner, attribute, timed)

    def median(self, label: str) -> float:
        return median(self.times[label])


# --- 4. I/O per request -----------------------------------------------------------------------


def io_per_request(stack: RunningStack) -> None:
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
    for name, got, wechat, most in (
        ("key issuance", issue, 1, 3),
        ("first lookup", first, 1, 3),
        ("repeated lookup", repeat, 0, 3),
        ("login (jscode2session is the WeChat call)", login, 1, 3),
        ("key issuance with an Idempotency-Key (Powertools' record: one put, one update)", idempotent, 1, 5),
        ("the same request again (same Idempotency-Key and body): the first answer replayed", replayed, 0, 3),
    ):
        ok = got["ssm"] == 0 and got["wechat"] == wechat and got["dynamodb"] <= most
        target = f"WeChat {wechat}, SSM 0, DynamoDB <= {most}"
        if most > 3:
            target += " (3 + the idempotency record's 2; see below)"
        rows.append(("4 I/O per request", name, f"WeChat {got['wechat']}, SSM {got['ssm']}, DynamoDB {got['dynamodb']}",
                     f"{target}: {verdict(ok)}"))  # fmt: skip


# --- 5. token under load ----------------------------------------------------------------------


def token_under_load(stack: RunningStack, containers: int, requests: int) -> None:
    aws = httpx.Client(base_url=stack.aws)
    lam = stack.aws_client("lambda")
    tokens = [stack.login(f"o-load-{i}-{uuid.uuid4().hex[:6]}") for i in range(requests)]
    with ThreadPoolExecutor(containers) as pool:  # warm `containers` containers
        list(pool.map(lambda t: stack.issue_key(t, CAROL).status_code, tokens[:containers]))
    aws.post("/_devstack/calls")
    stack.sim_control("/sim/reset")
    statuses: list[int] = []
    rotations = {"natural": 3, "forced": 1}
    stop = threading.Event()
    fetches: dict[str, list[int]] = {"natural": [], "forced": []}

    def tick() -> int:
        """The refresher's scheduled run; answers the current token's remaining lifetime."""
        answer = lam.invoke(FunctionName="wechat-face-local-token-refresher", Payload=b"{}")
        return int(json.loads(answer["Payload"].read())["expires_in"])

    def invokes() -> int:
        return int(aws.get("/_devstack/calls").json()["by_service"].get("lambda", {}).get("Invoke", 0))

    def rotate() -> None:
        for _ in range(rotations["natural"]):
            time.sleep(1.0)
            remaining = tick()
            before = invokes()
            # Into the last 290 s of the current token: WeChat now hands out the next one.
            stack.sim_control("/sim/clock", {"advance_s": remaining - 290})
            tick()  # the schedule's next run writes the new token
            time.sleep(1.0)
            stack.sim_control("/sim/clock", {"advance_s": 300})  # the old token has now expired
            time.sleep(1.0)
            # The renewal (the tick above) plus every refresh a reader asked for (readers invoke the
            # refresher through the Lambda API; the schedule's own polling does not count here).
            fetches["natural"].append(invokes() - before)
        time.sleep(1.0)
        before = invokes()
        stack.sim_control("/sim/expire-tokens")  # every token retired at once
        time.sleep(2.0)
        fetches["forced"].append(invokes() - before)
        stop.set()

    started = time.monotonic()
    rotator = threading.Thread(target=rotate)
    rotator.start()
    index = [0]
    lock = threading.Lock()

    def worker() -> None:
        while not stop.is_set() or index[0] < requests:
            with lock:
                if index[0] >= requests and stop.is_set():
                    return
                i = index[0] % len(tokens)
                index[0] += 1
            statuses.append(stack.issue_key(tokens[i], CAROL).status_code)
            if index[0] >= requests and stop.is_set():
                return

    with ThreadPoolExecutor(containers) as pool:
        for _ in range(containers):
            pool.submit(worker)
    rotator.join()
    elapsed = time.monotonic() - started
    counts = aws.get("/_devstack/calls").json()
    ssm_reads = counts["by_service"].get("ssm", {}).get("GetParameter", 0)
    failed = sum(1 for s in statuses if s != 200)
    per_rotation = max(fetches["natural"]) if fetches["natural"] else 0
    rows.append(("5 token under load", f"{containers} containers, {len(statuses)} requests, "
                 f"{rotations['natural']} natural + 1 forced rotation", f"{failed} failed",
                 f"0 failed: {verdict(failed == 0)}"))  # fmt: skip
    rows.append(("5 token under load", "token fetches per natural rotation (max)", str(per_rotation),
                 f"<= 1: {verdict(per_rotation <= 1)}"))  # fmt: skip
    rows.append(("5 token under load", "token fetches for the forced retirement", str(fetches["forced"][0]),
                 f"<= 2: {verdict(fetches['forced'][0] <= 2)}"))  # fmt: skip
    rows.append(("5 token under load", "SSM reads per container during the run",
                 f"{ssm_reads / containers:.1f} in {elapsed:.0f} s, 4 token lifetimes compressed: one per rotation "
                 "and per key read", ""))  # fmt: skip
    from wxface.domain.stack_keys import KEY_CACHE_S
    from wxface.settings import Settings

    token_cache = Settings.from_env({"PARAM_PATH": "/x"}).token_cache_s
    steady = 3600 / token_cache + 2 * 3600 / KEY_CACHE_S
    rows.append(("5 token under load", "SSM reads per warm container per hour, steady state",
                 f"{steady:.0f} (token cached {token_cache} s, signing and data keys {KEY_CACHE_S} s)", ""))  # fmt: skip


# --- 6. throughput ----------------------------------------------------------------------------


def throughput(stack: RunningStack, flows: int) -> None:
    aws = httpx.Client(base_url=stack.aws)
    aws.post("/_devstack/calls")
    latencies: list[float] = []

    def flow(i: int) -> None:
        openid = f"o-tp-{i}-{uuid.uuid4().hex[:6]}"
        t = time.perf_counter()
        token = stack.login(openid)
        latencies.append(time.perf_counter() - t)
        t = time.perf_counter()
        key = stack.key_of(token, ALICE)
        latencies.append(time.perf_counter() - t)
        stack.verify_on_phone(openid, key)
        t = time.perf_counter()
        assert stack.lookup(token, key).status_code == 200
        latencies.append(time.perf_counter() - t)

    started = time.monotonic()
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(flow, range(flows)))
    elapsed = time.monotonic() - started
    stats = aws.get("/_devstack/calls").json()["invocations"]
    handler_s = sum(f["handler_seconds"] for f in stats.values() if f["invocations"])
    api_s = sum(latencies)
    rows.append(("6 local stack", f"{flows} login→key→lookup flows, 2 clients",
                 f"{3 * flows / elapsed:.1f} API requests/s ({flows / elapsed:.1f} flows/s)", ""))  # fmt: skip
    rows.append(("6 local stack", "share of API time inside the handlers",
                 f"{handler_s / api_s:.0%} (the rest: emulators, HTTP hops, process pipes)", ""))  # fmt: skip


# --- 7. cold-start storm against SSM's limit --------------------------------------------------

# AWS: 40 GetParameter(s) a second per account and region by default; 1,000 containers starting
# at once is Lambda's own burst (1,000 new concurrent executions per function every 10 s).
SSM_STANDARD_TPS = 40.0
SSM_HIGH_TPS = 3000.0  # with Parameter Store's higher throughput (GetParameter, GetParameters)
STORM_AT = 1000


def storm(build_dir: Path, python: str, containers: int, ssm_tps: float, label: str) -> None:
    """``containers`` fresh keys containers take their first request at the same moment, with SSM
    limited to ``ssm_tps`` x containers / 1,000: the ratio of 1,000 containers against AWS's limit."""
    scaled = ssm_tps * containers / STORM_AT
    log = ROOT / ".aws-sam" / "bench-storm.log"
    stack = start_stack(2, log, {"DEVSTACK_MAX_WORKERS": str(containers)}, "--template",
                        str(build_dir / "template.yaml"), "--runtime-python", python, "--ssm-tps", f"{scaled:.3f}",
                        "--parameter-overrides", "SessionLimitPerAddressPerHour=1000000")  # fmt: skip
    try:

        def login(openid: str) -> str:
            # The logins come before the storm; at the storm's SSM rate a cold session container's
            # read can be throttled past its retries (503): wait, as a client told Retry-After would.
            for _ in range(30):
                code = stack.sim_control("/sim/login", {"openid": openid})["code"]
                resp = stack.http.post("/v1/session", json={"code": code})
                if resp.status_code == 200:
                    return str(resp.json()["token"])
                time.sleep(float(resp.headers.get("Retry-After", "1")))
            raise RuntimeError(f"no session for the storm: {resp.text}")

        tokens = [login(f"o-storm-{i}-{uuid.uuid4().hex[:6]}") for i in range(containers)]
        time.sleep(2 / max(scaled, 0.1))  # the bucket refills after the logins' reads
        stack.aws_control("POST", "/_devstack/calls")
        barrier = threading.Barrier(containers)
        results: list[tuple[int, float]] = []

        def first(token: str) -> None:
            barrier.wait()
            started = time.perf_counter()
            status = stack.issue_key(token, CAROL).status_code
            results.append((status, time.perf_counter() - started))

        with ThreadPoolExecutor(containers) as pool:
            list(pool.map(first, tokens))
        calls = stack.aws_control("GET", "/_devstack/calls")
        cold = calls["invocations"]["FaceKeysFunction"]["cold_starts"]
    finally:
        stack.stop()
    failed = sum(1 for status, _ in results if status != 200)
    latencies = [s for _, s in results]
    ssm = calls["by_service"].get("ssm", {})
    rows.append(("7 cold-start storm", f"{label}: {containers} fresh keys containers ({cold} cold starts), SSM at "
                 f"{scaled:.2f}/s (= {ssm_tps:g}/s at {STORM_AT} containers)",
                 f"{failed} failed; first request p99 {ms(p99(latencies))}, median {ms(median(latencies))}; SSM "
                 f"{sum(ssm.values())} served, {calls['throttled']} throttled",
                 f"0 failed: {verdict(failed == 0)}"))  # fmt: skip


# --- report -----------------------------------------------------------------------------------


def machine() -> str:
    cpu = ""
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))  # fmt: skip
    except (OSError, StopIteration):
        cpu = platform.processor()
    return f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores ({cpu}), Python {platform.python_version()}"


def report(runtime: str) -> str:
    lines = [
        "# Benchmarks",
        "",
        f"Produced by `make bench` on {dt.date.today().isoformat()}: {machine()}; functions on "
        f"`{Path(runtime).name} -I -S` ({subprocess.run([runtime, '--version'], capture_output=True, text=True).stdout.strip()})"
        f" from the `sam build` artifacts, bytecode included. Medians of {REPEATS} fresh processes (1, 2) or 400"
        " calls (3). Rows without a configuration are measured with Tracing=PassThrough.",
        "",
        "| section | measure | value | target |",
        "|---|---|---|---|",
        *[f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows],
        "",
    ]
    return "\n".join(lines)


def main() -> int:
    build_dir, python = build()
    init(build_dir, python)
    warm_overhead()
    log = ROOT / ".aws-sam" / "bench-stack.log"
    # The load runs log hundreds of users in from this one address: lift the per-address limit.
    stack = start_stack(2, log, {"DEVSTACK_MAX_WORKERS": "4"}, "--template", str(build_dir / "template.yaml"),
                        "--runtime-python", python, "--write-credentials", str(CREDENTIALS), "--parameter-overrides",
                        "SessionLimitPerAddressPerHour=1000000", "KeyLimitPerHour=1000")  # fmt: skip
    try:
        first_requests(build_dir, python, stack)
        io_per_request(stack)
        token_under_load(stack, containers=4, requests=400)
        throughput(stack, flows=40)
    finally:
        stack.stop()
    containers = int(os.environ.get("BENCH_STORM_CONTAINERS", "24"))
    storm(build_dir, python, containers, SSM_STANDARD_TPS, "default (standard throughput)")
    storm(build_dir, python, containers, SSM_HIGH_TPS, "ParameterStoreHighThroughput=true")
    text = report(python)
    notes = ROOT / "docs" / "benchmarks-notes.md"
    out = text + ("\n" + notes.read_text(encoding="utf-8") if notes.exists() else "")
    (ROOT / "docs" / "benchmarks.md").write_text(out, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
