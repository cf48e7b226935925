"""``python -m devstack``: the whole product on this machine (``make run``).

Starts the WeChat simulator, the local AWS endpoint (moto, plus Lambda Invoke for the
template's functions), provisions the table and the AppSecret parameter as an operator would,
runs the token refresher once and then on its schedule, and serves the HTTP API with the
functions from template.yaml. Prints ``READY api=… sim=… aws=…`` and a walkthrough, then runs
until Ctrl-C.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import boto3
import httpx
import uvicorn

from wxface.domain.events import ERASED_DELAY_S  # the walkthrough waits for it

from . import containers
from .api_gateway import HttpApi
from .aws_endpoint import SSM_DEFAULT_TPS, SSM_HIGH_THROUGHPUT_TPS, AwsEndpoint, scheduled_event
from .functions import Functions, InvokeError
from .iam import (
    BUSINESS_ACCESS_KEY_ID,
    BUSINESS_SECRET_ACCESS_KEY,
    OPERATOR_ACCESS_KEY_ID,
    OPERATOR_SECRET_ACCESS_KEY,
    LocalIam,
)
from .template import ACCOUNT_ID, REGION, Stack, load, rate_seconds

ROOT = Path(__file__).resolve().parents[2]
LOCAL = ROOT / "local"
log = logging.getLogger("devstack")

SIM_APPID_DEFAULT = "wx0000000000000001"
SIM_SECRET_DEFAULT = "sim-app-secret"  # noqa: S105 - the simulator's documented test secret
REFRESHER = "TokenRefresherFunction"


LOOPBACK = "127.0.0.1"


def _bind(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    return sock


PICK_PORTS = (
    ". Another make run still running? Stop it (Ctrl-C), or pick other ports: "
    "make run ARGS='--api-port 3100 --sim-port 3101 --aws-port 3102'"
)


def _busy_ports(args: argparse.Namespace) -> str | None:
    """What stops the three parts from listening, said before anything starts (None: all free)."""
    for what, host, port in (
        ("the API", args.host, args.api_port),
        ("the WeChat simulator", LOOPBACK, args.sim_port),
        ("the local AWS endpoint", LOOPBACK, args.aws_port),
    ):
        if port == 0:
            continue
        try:
            _bind(host, port).close()
        except OSError as exc:
            return f"cannot listen on {host}:{port} ({what}): {exc.strerror}{PICK_PORTS}"
    return None


def _start_simulator(
    host: str,
    port: int,
    appid: str,
    secret: str,
    api_url: str,
    version: str,
    also_host: str | None = None,
    *,
    business: bool = False,
) -> tuple[subprocess.Popen[bytes], str]:
    env = {**os.environ, "PYTHONPATH": str(LOCAL), "WECHAT_SIM_APPID": appid, "WECHAT_SIM_SECRET": secret}
    if business:  # /sim/business/orders: creates orders as the local business identity
        env.update(
            WECHAT_SIM_BUSINESS_KEY_ID=BUSINESS_ACCESS_KEY_ID,
            WECHAT_SIM_BUSINESS_SECRET=BUSINESS_SECRET_ACCESS_KEY,
        )
    else:
        env.pop("WECHAT_SIM_BUSINESS_KEY_ID", None)
        env.pop("WECHAT_SIM_BUSINESS_SECRET", None)
    phone = ["--api-url", api_url, "--face-api-version", version]
    if also_host:
        phone += ["--also-host", also_host]
    proc = subprocess.Popen(
        [sys.executable, "-m", "wechat_sim", "--host", host, "--port", str(port), *phone],
        stdout=subprocess.PIPE,
        env=env,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().decode()
    if "listening on " not in line:
        proc.kill()
        raise RuntimeError("the WeChat simulator did not start")
    return proc, line.split("listening on ", 1)[1].split()[0]


BUSINESS_POLICIES = ("ResultReaderPolicy", "OrderManagerPolicy", "OrderPhotoPolicy")


def business_policies(stack: Stack) -> list[dict[str, Any]]:
    """The managed policies the local business identity holds, as a business would attach them."""
    return [stack.managed_policies[name] for name in BUSINESS_POLICIES if name in stack.managed_policies]


def _aws_clients(url: str) -> dict[str, Any]:
    """The operator's clients (the local operator identity, not a function's role)."""
    from botocore.config import Config

    common: dict[str, Any] = {
        "endpoint_url": url,
        "region_name": REGION,
        "aws_access_key_id": OPERATOR_ACCESS_KEY_ID,
        "aws_secret_access_key": OPERATOR_SECRET_ACCESS_KEY,
        # Patient: with --ssm-tps far below AWS's, the set-up's own reads can be throttled.
        "config": Config(retries={"mode": "standard", "total_max_attempts": 10}),
    }
    return {name: boto3.client(name, **common) for name in ("dynamodb", "ssm", "events", "sqs")}


def _provision(stack: Stack, clients: dict[str, Any], secret: str) -> None:
    """What an operator does before the first deploy, and what CloudFormation creates."""
    for bus, policy in stack.event_buses.items():  # the stack's own bus and its resource policy
        clients["events"].create_event_bus(Name=bus)
        if policy is not None:
            clients["events"].put_permission(EventBusName=bus, Policy=json.dumps(policy))
    props = stack.table_properties
    clients["dynamodb"].create_table(
        TableName=stack.table_name,
        AttributeDefinitions=props["AttributeDefinitions"],
        KeySchema=props["KeySchema"],
        BillingMode=props.get("BillingMode", "PAY_PER_REQUEST"),
    )
    ttl = props.get("TimeToLiveSpecification")
    if ttl:
        clients["dynamodb"].update_time_to_live(TableName=stack.table_name, TimeToLiveSpecification=ttl)
    clients["ssm"].put_parameter(
        Name=stack.parameters["WeChatAppSecretParamName"], Value=secret, Type="SecureString", Overwrite=True
    )


EVENT_SOURCE = "wechat-face-verify"


def _wire_business(stack: Stack, clients: dict[str, Any]) -> str:
    """What a business does to hear of verifications (README, "For the business's own systems"):
    a rule on the stack's bus that sends the stack's events to a queue of its own. Answers the
    queue's URL."""
    bus = stack.event_bus
    events, sqs = clients["events"], clients["sqs"]
    if bus != "default" and bus not in stack.event_buses:
        events.create_event_bus(Name=bus)  # an existing bus the operator named (EventBusName)
    queue_url: str = sqs.create_queue(QueueName=f"{stack.name}-business-events")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    rule = f"{stack.name}-to-business"
    rule_arn = events.put_rule(
        Name=rule, EventBusName=bus, EventPattern=json.dumps({"source": [EVENT_SOURCE]}), State="ENABLED"
    )["RuleArn"]
    # As in AWS: the queue lets EventBridge (this rule only) send to it.
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "events.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": queue_arn,
                "Condition": {"ArnEquals": {"aws:SourceArn": rule_arn}},
            }
        ],
    }
    sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"Policy": json.dumps(policy)})
    events.put_targets(Rule=rule, EventBusName=bus, Targets=[{"Id": "business-queue", "Arn": queue_arn}])
    return queue_url


def _operator_lines(aws: str, stack: str) -> list[str]:
    return [
        "",
        "The local AWS endpoint checks IAM as AWS does: each function calls it with its own role from",
        "template.yaml. The operator (full access) has fixed local credentials for any AWS tool, e.g.",
        f"AWS_ACCESS_KEY_ID={OPERATOR_ACCESS_KEY_ID} AWS_SECRET_ACCESS_KEY={OPERATOR_SECRET_ACCESS_KEY}",
        f"AWS_DEFAULT_REGION={REGION} AWS_ENDPOINT_URL={aws} with the AWS CLI (make venv installs one in",
        '".venv-tools"); the business\'s: the same with '
        f"{BUSINESS_ACCESS_KEY_ID} / {BUSINESS_SECRET_ACCESS_KEY}. With nothing but make run:",
        "",
        f"  .venv/bin/python -m devstack.ops --aws {aws} --stack {stack} scan   # the table's items by kind",
        f"  curl -s {aws}/_devstack/calls   # AWS calls per service and per function, denied and faulted",
    ]


# --relaxed-limits: one machine playing many users (a fuzzer, a load test) would otherwise hit the
# per-address login limit and the per-user limits, which lock later local runs out for up to an hour.
RELAXED_LIMITS = {
    "SessionLimitPerAddressPerHour": "1000000",
    "SessionSlowedPerMinute": "1000000",
    "KeyLimitPerHour": "100000",
    "LookupLimitPerHour": "100000",
}


def _limits_line(relaxed: bool) -> str:
    if relaxed:
        return "Limits relaxed for this run (logins per address, keys and lookups per user); deployed stacks keep the defaults."
    return (
        "Fuzzing or load-testing from this machine? Restart with `make run RELAXED=1`: the per-address "
        "login limit and the per-user limits would otherwise answer 429 (the deployed defaults stay)."
    )


def _face_check_and_lookup(api: str, sim: str, version: str, py: str) -> list[str]:
    """The user's face check on the phone (simulated) for the key in $KEY, and the lookup."""
    if version == "2":
        return [
            f'  curl -s -w "\\n" -X POST {sim}/sim/verify -d "{{\\"openid\\":\\"demo-user\\",\\"verify_id\\":\\"$KEY\\"}}"',
            f'  curl -s -w "\\n" -X POST {api}/v1/face/results -H "Authorization: Bearer $TOKEN" '
            f'-d "{{\\"verify_id\\":\\"$KEY\\"}}"',
        ]
    return [
        f'  VR=$(curl -s -X POST {sim}/sim/verify -d "{{\\"openid\\":\\"demo-user\\",\\"user_id_key\\":\\"$KEY\\"}}" '
        f"| {py} verify_result)",
        f'  curl -s -w "\\n" -X POST {api}/v1/face/results -H "Authorization: Bearer $TOKEN" '
        f'-d "{{\\"verify_result\\":\\"$VR\\"}}"',
    ]


def _walkthrough(api: str, sim: str, version: str, aws: str = "", stack: str = "wechat-face-local") -> str:
    py = "python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])'"
    key_field = "verify_id" if version == "2" else "user_id_key"
    login = [
        f'  CODE=$(curl -s -X POST {sim}/sim/login -d \'{{"openid":"demo-user"}}\' | {py} code)',
        f"  TOKEN=$(curl -s -X POST {api}/v1/session -H 'Content-Type: application/json' "
        f'-d "{{\\"code\\":\\"$CODE\\"}}" | {py} token)',
    ]
    check = _face_check_and_lookup(api, sim, version, py)
    lines = [
        f"Face API {version}.0. See it in a browser: {sim}/ plays the phone (log in, type a name and ID",
        "number, or play the business's order; let the face check pass or fail, read the backend's answer).",
        "Or, step by step, paste these lines into another terminal:",
        "",
        "  # 1. The user opens the mini-program: wx.login (the simulator plays WeChat) -> a session",
        *login,
        "",
        "  # 2. The backend asks WeChat for a face-check key for this person",
        f'  KEY=$(curl -s -X POST {api}/v1/face/keys -H "Authorization: Bearer $TOKEN" '
        f'-d \'{{"name":"张三","id_card_number":"11010519491231002X","biz_ref":"order-1001"}}\' | {py} {key_field})',
        "",
        "  # 3. The user does the face check on the phone (simulated); 4. the result is looked up",
        "  #    (WeChat once, then from DynamoDB), and the latest one",
        *check,
    ]
    # Each line stands alone: nothing is exported into the user's shell, and nothing but the
    # virtualenv make run created is needed (no AWS CLI).
    ops = f".venv/bin/python -m devstack.ops --aws {aws} --stack {stack}"
    business = (
        f"env AWS_ACCESS_KEY_ID={BUSINESS_ACCESS_KEY_ID} AWS_SECRET_ACCESS_KEY={BUSINESS_SECRET_ACCESS_KEY} "
        f"AWS_DEFAULT_REGION={REGION} .venv/bin/python tools/business.py {api}"
    )
    lines += [
        f'  curl -s -w "\\n" {api}/v1/face/results/latest -H "Authorization: Bearer $TOKEN"',
        "",
        "  # 5. The business's view. make run put a rule on the local bus that sends this stack's events",
        f"  #    (source {EVENT_SOURCE}) to the business's SQS queue, as a business does with",
        "  #    put-rule / put-targets. The FaceVerificationCompleted event of the check above:",
        f"  {ops} events",
        "  #    The server-side lookup, signed with SigV4 (IAM) by the business's own AWS identity (here the",
        "  #    local one, holding the stack's ResultReaderPolicy), never a user's session; unsigned: 403.",
        f"  {business} latest demo-user",
        "",
        "  # 6. The user erases everything stored about them. The business hears of it (FaceDataErased)",
        f"  #    once nothing begun before the erasure can still put an event: {ERASED_DELAY_S} s after it, the",
        "  #    event emitter (every minute) puts it, within 90 s. Here the emitter is run at once, after the wait.",
        f"  curl -s -o /dev/null -w '%{{http_code}}\\n' -X DELETE {api}/v1/me -H \"Authorization: Bearer $TOKEN\"",
        f"  sleep {ERASED_DELAY_S + 1}; {ops} run event-emitter",
        f"  {ops} events",
        "",
        "  # 7. Orders: when the business must know whose identity was verified, its servers name it.",
        "  #    As the local business identity (the stack's OrderManagerPolicy), they create an order, the",
        "  #    identity on standard input, never on the command line; the mini-program, logged in again",
        "  #    (a session issued after the erasure works at once), asks for a key by the order's id alone.",
        f'  ORDER=$(printf \'%s\' \'{{"name":"张三","id_card_number":"11010519491231002X"}}\' '
        f"| {business} create demo-user --biz-ref loan-42 | {py} order_id)",
        *login,
        f'  KEY=$(curl -s -X POST {api}/v1/face/keys -H "Authorization: Bearer $TOKEN" '
        f'-d "{{\\"order_id\\":\\"$ORDER\\"}}" | {py} {key_field})',
        "  #    The face check passes; the result says identity_source business, with the order's biz_ref.",
        *check,
        "  #    The business reads its order: passed, with that result.",
        f"  {business} read $ORDER",
    ]
    if version == "2":
        lines += [
            "  #    And the verification photo, from WeChat's getimage (the stack's OrderPhotoPolicy; never stored).",
            f'  {business} photo $ORDER --out "${{TMPDIR:-/tmp}}/$ORDER.jpg"',
        ]
    lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devstack",
        description=__doc__,
        epilog="Environment: FACE_API_VERSION=1 or 2 (default 2) chooses WeChat's face API (make run "
        "takes it as FACE_API_VERSION=1 make run); WECHAT_SIM_APPID / WECHAT_SIM_SECRET the simulated app; "
        "DEVSTACK_SSM_TPS as --ssm-tps.",
    )
    parser.add_argument(
        "--host",
        default=LOOPBACK,
        help="the address the API listens on (e.g. 0.0.0.0 for a phone on the LAN); the WeChat "
        "simulator's control routes and the local AWS endpoint stay on the loopback whatever it is",
    )
    parser.add_argument("--api-port", type=int, default=3000)
    parser.add_argument("--sim-port", type=int, default=3001)
    parser.add_argument("--aws-port", type=int, default=3002)
    parser.add_argument("--stack-name", default="wechat-face-local")
    parser.add_argument("--template", type=Path, default=ROOT / "template.yaml")
    parser.add_argument("--quiet", action="store_true", help="no walkthrough")
    parser.add_argument(
        "--parameter-overrides",
        nargs="*",
        default=[],
        metavar="KEY=VALUE",
        help="template parameters, as `sam deploy --parameter-overrides` takes them "
        "(e.g. LookupLimitPerHour=5)",
    )
    parser.add_argument(
        "--relaxed-limits",
        action="store_true",
        help="lift the per-address login limit and the per-user key and lookup limits (for fuzzing "
        "or load tests from this one machine; what you deploy keeps the template's defaults). "
        "Explicit --parameter-overrides win. make run RELAXED=1",
    )
    parser.add_argument(
        "--containers",
        metavar="HOST",
        help="for `sam local invoke` (Docker): write .aws-sam/local/env.json and .aws-sam/local/credentials "
        "(each function's role credentials) with URLs containers reach this machine by, HOST "
        "(host.docker.internal on Docker Desktop; the docker0 bridge address, e.g. 172.17.0.1, on "
        "Linux, which the simulator and the local AWS endpoint then listen on too), and print the "
        "commands. On HOST the local AWS endpoint accepts only the function roles' credentials and "
        "serves no /_devstack route, and the simulator serves WeChat's endpoints only (no /sim, /api, "
        "phone page or business route): the local operator's documented credentials and the "
        "simulator's controls stay on the loopback. make run CONTAINERS=HOST",
    )
    parser.add_argument(
        "--runtime-python",
        help="run the functions on this interpreter, isolated from the virtualenv "
        "(with --template .aws-sam/build/template.yaml: the built artifacts)",
    )
    parser.add_argument(
        "--write-credentials",
        type=Path,
        metavar="FILE",
        help="write each function's role credentials to FILE (JSON, mode 0600), for tools that run a "
        "function's code outside the stack as that function (make bench's fresh containers)",
    )
    parser.add_argument(
        "--ssm-tps",
        type=float,
        default=float(os.environ["DEVSTACK_SSM_TPS"]) if os.environ.get("DEVSTACK_SSM_TPS") else None,
        help="SSM GetParameter(s)/GetParametersByPath transactions per second before ThrottlingException "
        f"(AWS's: {SSM_DEFAULT_TPS:g}, or {SSM_HIGH_THROUGHPUT_TPS:g} with ParameterStoreHighThroughput=true; "
        "0: no limit). Also DEVSTACK_SSM_TPS",
    )
    args = parser.parse_args(argv)
    try:
        overrides = dict(item.split("=", 1) for item in args.parameter_overrides)
    except ValueError:
        print("--parameter-overrides takes KEY=VALUE pairs", file=sys.stderr)
        return 2
    if args.relaxed_limits:
        overrides = {**RELAXED_LIMITS, **overrides}

    version = os.environ.get("FACE_API_VERSION", "2").strip()
    if version not in ("1", "2"):
        print(f"FACE_API_VERSION must be 1 or 2, not {version!r}", file=sys.stderr)
        return 2

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s", stream=sys.stderr
    )
    for noisy in ("werkzeug", "botocore", "urllib3", "httpx"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

    appid = os.environ.get("WECHAT_SIM_APPID", "").strip() or SIM_APPID_DEFAULT
    secret = os.environ.get("WECHAT_SIM_SECRET", "").strip() or SIM_SECRET_DEFAULT
    stopping = threading.Event()
    cleanup: list[Any] = []

    def stop(*_: Any) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        busy = _busy_ports(args)
        if busy:
            print(busy, file=sys.stderr)
            return 1
        try:
            api_sock = _bind(args.host, args.api_port)
        except OSError as exc:
            print(
                f"cannot listen on {args.host}:{args.api_port}: {exc.strerror}{PICK_PORTS}", file=sys.stderr
            )
            return 1
        # Only the API follows --host: the simulator's control routes (log anyone in, pass any
        # face check) and the local AWS endpoint (the operator's credentials are documented)
        # must never be reachable from another machine.
        # The phone page reaches the API through the simulator, over the loopback whatever --host is.
        api_port = api_sock.getsockname()[1]
        api_host = LOOPBACK if args.host in ("0.0.0.0", "::", "") else args.host  # noqa: S104
        also_host = containers.extra_listen_address(args.containers) if args.containers else None
        sim_proc, sim_url = _start_simulator(
            LOOPBACK,
            args.sim_port,
            appid,
            secret,
            f"http://{api_host}:{api_port}",
            version,
            also_host,
            # The business route only on a stack that is this machine's alone.
            business=not args.containers and args.host == LOOPBACK,
        )

        def stop_simulator() -> None:
            sim_proc.terminate()
            sim_proc.wait(5)

        cleanup.append(stop_simulator)

        stack = load(
            args.template,
            stack_name=args.stack_name,
            overrides={
                **overrides,
                "WeChatAppId": appid,
                "FaceApiVersion": version,
                "WeChatBaseUrl": sim_url,
                "WeChatFallbackBaseUrl": "none",
            },
        )
        env: dict[str, str] = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POWERTOOLS_"))},
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
        }
        iam = LocalIam()
        iam.operator(ACCOUNT_ID)
        # The business's servers, holding the stack's ResultReaderPolicy, OrderManagerPolicy and
        # OrderPhotoPolicy (those the stack has: no order policies under IdentitySource=user).
        iam.business(ACCOUNT_ID, business_policies(stack))
        # Each function gets credentials of its own role (template.yaml), as in Lambda.
        functions = Functions(stack, env, sys.stderr, args.runtime_python, iam=iam)
        cleanup.append(functions.stop)
        if args.write_credentials:
            issued = {name: pool.principal.env() for name, pool in functions.pools.items() if pool.principal}
            args.write_credentials.touch(mode=0o600)
            args.write_credentials.write_text(json.dumps(issued), encoding="utf-8")
        # The account's Parameter Store throughput, as the template's custom resource would set it.
        ssm_tps = args.ssm_tps
        if ssm_tps is None:
            high = stack.parameters.get("ParameterStoreHighThroughput") == "true"
            ssm_tps = SSM_HIGH_THROUGHPUT_TPS if high else SSM_DEFAULT_TPS
        aws = AwsEndpoint(LOOPBACK, args.aws_port, functions, iam, ssm_tps=ssm_tps)
        aws.start()
        cleanup.append(aws.stop)
        if also_host:
            aws.also_listen(also_host)
        aws_url = f"http://{LOOPBACK}:{aws.port}"
        env["AWS_ENDPOINT_URL"] = aws_url  # before any worker starts

        clients = _aws_clients(aws_url)
        _provision(stack, clients, secret)
        _wire_business(stack, clients)
        refresher = functions.pools[REFRESHER]
        # The first refresh must succeed before READY. With SSM throttled hard (--ssm-tps below 1)
        # a run can fail as it would in AWS; the schedule would try again a minute later, here
        # a few seconds later.
        for attempt in range(1, 6):
            try:
                if refresher.invoke(scheduled_event()).get("ok"):
                    break
            except InvokeError as err:
                log.warning("the first token refresh failed (%s), attempt %d", err.error_type, attempt)
            time.sleep(2)
        else:
            raise RuntimeError("the first token refresh failed")

        def schedule(pool: Any) -> None:
            interval = rate_seconds(pool.fn.schedule or "rate(1 minute)")
            while not stopping.wait(interval):
                try:
                    pool.invoke(scheduled_event())
                except InvokeError as err:
                    log.warning("scheduled run of %s failed: %s", pool.fn.logical_id, err.error_type)

        for pool in functions.pools.values():
            if pool.fn.schedule:
                threading.Thread(target=schedule, args=(pool,), daemon=True).start()

        server = uvicorn.Server(
            uvicorn.Config(
                HttpApi(stack.routes, functions, iam),
                access_log=False,
                log_config=None,
                lifespan="off",
                timeout_graceful_shutdown=2,
            )
        )
        threading.Thread(target=server.run, kwargs={"sockets": [api_sock]}, daemon=True).start()
        cleanup.append(lambda: setattr(server, "should_exit", True))
        host, port = api_sock.getsockname()[:2]
        api_url = f"http://{host}:{port}"
        deadline = time.monotonic() + 30
        while not server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the local API did not start")
            time.sleep(0.05)
        # Every part answers before READY.
        assert httpx.get(f"{sim_url}/sim/calls", timeout=5).status_code == 200
        assert httpx.get(f"{api_url}/", timeout=5).status_code == 404
        token = _aws_clients(aws_url)["ssm"].get_parameter(
            Name=f"/{stack.name}/access-token", WithDecryption=True
        )
        assert json.loads(token["Parameter"]["Value"])["expires_at"] > time.time()

        container_lines: list[str] = []
        if args.containers:
            principals = {n: p.principal.env() for n, p in functions.pools.items() if p.principal}
            sim_port = int(sim_url.rsplit(":", 1)[1])
            written = containers.write(
                ROOT / ".aws-sam" / "local", args.containers, stack, principals, aws.port, sim_port
            )
            container_lines = [
                "",
                f"sam local invoke (Docker; run make build first): {written['env']} and {written['credentials']}",
                "hold this run's values and each function's role credentials. Paste, e.g.:",
                *(f"  {line}" for line in containers.commands(stack, written, ROOT, REGION)),
                "(the events' session tokens are placeholders: put one from step 1 into the event's Authorization header)",
            ]
        print(f"READY api={api_url} sim={sim_url} aws={aws_url}", flush=True)
        if not args.quiet:
            walkthrough = [
                _walkthrough(api_url, sim_url, version, aws_url, stack.name),
                *_operator_lines(aws_url, stack.name),
            ]
            print(
                "\n".join(
                    [
                        *walkthrough,
                        *container_lines,
                        "",
                        _limits_line(args.relaxed_limits),
                        "",
                        "Ctrl-C stops everything.",
                    ]
                ),
                flush=True,
            )
        stopping.wait()
        print("stopping", file=sys.stderr, flush=True)
        return 0
    except (RuntimeError, AssertionError, InvokeError) as exc:
        print(f"devstack: could not start: {exc!r}", file=sys.stderr)
        return 1
    finally:
        for step in reversed(cleanup):
            with contextlib.suppress(Exception):  # shutting down: do every step
                step()


if __name__ == "__main__":
    sys.exit(main())
