"""9. Cost per verification: what one verification (login, key, one lookup, one repeat lookup)
uses, measured on the running stack, what the schedule uses every month, and the money where
bench/prices.toml has the price.

Measured here: Lambda invocations and time inside each handler (warm containers), DynamoDB read
and write request units (the local endpoint works them out from the real item sizes by
DynamoDB's rules, devstack/capacity.py), WeChat, SSM and EventBridge calls, the bytes each
function writes to its log (CloudWatch Logs ingests them, EMF metrics included), and the custom
metrics the functions emit. Modelled (bench/prices.toml [model], shown in the rows): WeChat's
round trip, Lambda's CPU share at the memory size, its platform log lines, cold starts.
"""

from __future__ import annotations

import functools
import json
import math
import re
import statistics
import time
import tomllib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.support.people import ALICE
from tests.support.stack import RunningStack

from .common import ROOT, row

SECTION = "9 cost per verification"
PRICES = Path(__file__).resolve().parent / "prices.toml"
FULL_VCPU_MB = 1769  # Lambda gives a function one full vCPU at 1,769 MB (Lambda Developer Guide)
SAMPLES = 5
SNAPSTART_FUNCTIONS = 4  # the API functions (session, keys, results, orders): one live version each
VOLUMES = (1_000, 100_000, 10_000_000)
SCHEDULED = {
    "TokenRefresherFunction": 1,
    "EventEmitterFunction": 1,
    "ResultSweeperFunction": 1,
}  # runs a minute
FUNCTION_NAMES = {
    "SessionFunction": "session",
    "FaceKeysFunction": "face-keys",
    "FaceResultsFunction": "face-results",
    "TokenRefresherFunction": "token-refresher",
    "EventEmitterFunction": "event-emitter",
    "ResultSweeperFunction": "result-sweeper",
}
SCHEDULED_EVENT = {
    "version": "0",
    "id": "cost-model",
    "detail-type": "Scheduled Event",
    "source": "aws.events",
    "account": "123456789012",
    "time": "2026-11-30T00:00:00Z",
    "region": "us-east-1",
    "resources": [],
    "detail": {},
}
ACCESS_LOG_EXAMPLE = {  # AWS's real lengths for the access log's fields (template.yaml's Format)
    "requestId": "JxLxVhcdoAMEMQA=",
    "ip": "203.0.113.24",
    "requestTime": "30/Nov/2026:11:40:00 +0000",
    "method": "POST",
    "route": "POST /v1/face/results",
    "status": "200",
    "latencyMs": "123",
    "integrationStatus": "200",
}


@dataclass
class Step:
    """One request's measured use of each billed thing."""

    function: str
    handler_ms: float
    log_bytes: int
    log_lines: int
    read_units: float
    write_units: float
    wechat: int
    ssm: int
    events: int


@dataclass
class Usage:
    """Billed quantities, per verification or per month."""

    lambda_requests: float = 0.0
    gb_seconds: float = 0.0
    http_api_requests: float = 0.0
    read_units: float = 0.0
    write_units: float = 0.0
    kms_requests: float = 0.0
    log_bytes: float = 0.0
    events: float = 0.0
    metrics: float = 0.0
    alarms: float = 0.0

    def scaled(self, k: float) -> Usage:
        return Usage(**{n: v * k for n, v in vars(self).items()})

    def plus(self, other: Usage) -> Usage:
        return Usage(**{n: getattr(self, n) + getattr(other, n) for n in vars(self)})


def template_settings(template: Path) -> tuple[int, int, int]:
    """The default deployment's memory sizes (API functions, scheduled ones) and its alarms."""
    from devstack.template import load

    functions = {
        fn.logical_id: fn for fn in load(template, stack_name="wechat-face-local").functions.values()
    }
    alarms = template.read_text().count("Type: AWS::CloudWatch::Alarm")
    return functions["FaceKeysFunction"].memory, functions["TokenRefresherFunction"].memory, alarms


def load_prices() -> dict[str, Any]:
    with PRICES.open("rb") as f:
        return tomllib.load(f)


def money(usage: Usage, prices: dict[str, Any], arch: str) -> tuple[dict[str, float], list[str]]:
    """The cost of each component whose price is known, and the names of those whose is not."""
    parts = {
        "Lambda duration": (usage.gb_seconds, f"lambda_gb_second_{arch}"),
        "Lambda requests": (usage.lambda_requests, "lambda_request"),
        "HTTP API requests": (usage.http_api_requests, "http_api_request"),
        "DynamoDB writes": (usage.write_units, "dynamodb_write_unit"),
        "DynamoDB reads": (usage.read_units, "dynamodb_read_unit"),
        "KMS requests": (usage.kms_requests, "kms_request"),
        "CloudWatch Logs ingestion": (usage.log_bytes / 1024**3, "logs_ingested_gb"),
        "EventBridge events": (usage.events, "eventbridge_custom_event"),
        "custom metrics": (usage.metrics, "custom_metric_month"),
        "alarms": (usage.alarms, "alarm_month"),
    }
    known: dict[str, float] = {}
    missing: list[str] = []
    for label, (quantity, key) in parts.items():
        price = prices.get(key, {})
        if quantity == 0:
            continue
        if "value" not in price:
            missing.append(label)
            continue
        known[label] = quantity * price["value"] / price.get("per", 1)
    return known, missing


def billed_ms(step: Step, memory_mb: int, wechat_ms: float) -> float:
    """A warm request's billed duration at a memory size: the time measured inside the handler on
    this machine's full core, stretched by Lambda's CPU share below one vCPU (all of it treated as
    CPU: an upper bound, which also covers DynamoDB's few milliseconds in the region), plus the
    modelled WeChat round trips (the simulator answers in about a millisecond over loopback)."""
    stretch = max(1.0, FULL_VCPU_MB / memory_mb)
    return math.ceil(step.handler_ms * stretch + step.wechat * wechat_ms)


def cold_share(requests_per_month: float, model: dict[str, Any]) -> float:
    """The chance a request finds no warm container: Poisson arrivals, one container kept
    ``idle_minutes`` after its last request (the scale-out of busy hours is left out)."""
    per_minute = requests_per_month / (model["days_per_month"] * 24 * 60)
    return math.exp(-per_minute * model["idle_minutes"])


def access_log_bytes(template: Path) -> int:
    text = template.read_text()
    match = re.search(r"Format: >-\n((?:\s+.+\n)+?)\n", text)
    fmt = "".join(line.strip() for line in match.group(1).splitlines()) if match else ""
    rendered = re.sub(r"\$context\.[A-Za-z.]+", "X", fmt)
    for value in ACCESS_LOG_EXAMPLE.values():
        rendered = rendered.replace('"X"', json.dumps(value), 1)
    return len(rendered.encode())


def emitted_metrics(log_path: Path) -> set[tuple[str, str, str]]:
    """(namespace, metric, dimensions) the functions' EMF records define: each is one custom
    metric CloudWatch bills per month."""
    found: set[tuple[str, str, str]] = set()
    for line in log_path.read_text(errors="replace").splitlines():
        start = line.find("{")
        if start < 0 or '"_aws"' not in line:
            continue
        try:
            record = json.loads(line[start:])
        except ValueError:
            continue
        for directive in record.get("_aws", {}).get("CloudWatchMetrics", []):
            for dims in directive.get("Dimensions", [[]]):
                values = ",".join(f"{d}={record.get(d)}" for d in dims)
                for metric in directive.get("Metrics", []):
                    found.add((directive.get("Namespace", ""), metric["Name"], values))
    return found


class Meter:
    def __init__(self, stack: RunningStack) -> None:
        self.stack = stack
        self.aws = httpx.Client(base_url=stack.aws)

    def step(self, expect: str, action: Callable[[], Any]) -> Step:
        """One action's use by the function ``expect`` (the schedule's own runs may overlap)."""
        self.aws.post("/_devstack/calls")
        self.stack.sim_control("/sim/reset")
        action()
        time.sleep(0.3)  # the function's last log lines reach the pump after its answer
        snap = self.aws.get("/_devstack/calls").json()
        stats = snap["invocations"][expect]
        units = snap["dynamodb_capacity"]["by_function"].get(expect, {"read_units": 0, "write_units": 0})
        suffix = "-" + FUNCTION_NAMES[expect]  # the template names functions <stack>-<suffix>
        mine: dict[str, int] = next((v for k, v in snap["by_function"].items() if k.endswith(suffix)), {})
        prefixes = ("/cityservice", "/sns") + (("/cgi-bin",) if expect == "TokenRefresherFunction" else ())
        wechat = sum(v for k, v in self.stack.calls().items() if k.startswith(prefixes))
        return Step(
            function=expect,
            handler_ms=stats["handler_seconds"] * 1000 / max(1, stats["invocations"]),
            log_bytes=stats["log_bytes"],
            log_lines=stats["log_lines"],
            read_units=units["read_units"],
            write_units=units["write_units"],
            wechat=wechat,
            ssm=sum(v for k, v in mine.items() if k.startswith("ssm:")),
            events=sum(v for k, v in mine.items() if k == "events:PutEvents"),
        )


def median_step(steps: list[Step]) -> Step:
    first = steps[0]
    return Step(
        function=first.function,
        handler_ms=statistics.median(s.handler_ms for s in steps),
        log_bytes=int(statistics.median(s.log_bytes for s in steps)),
        log_lines=int(statistics.median(s.log_lines for s in steps)),
        read_units=statistics.median(s.read_units for s in steps),
        write_units=statistics.median(s.write_units for s in steps),
        wechat=first.wechat,
        ssm=max(s.ssm for s in steps),
        events=first.events,
    )


def one_verification(stack: RunningStack, meter: Meter) -> tuple[Step, Step, Step, Step]:
    openid = f"o-cost-{uuid.uuid4().hex[:8]}"
    code = stack.sim_control("/sim/login", {"openid": openid})["code"]
    token: list[str] = []
    login = meter.step(
        "SessionFunction",
        lambda: token.append(stack.http.post("/v1/session", json={"code": code}).json()["token"]),
    )
    key: list[str] = []
    issue = meter.step("FaceKeysFunction", lambda: key.append(stack.key_of(token[0], ALICE)))
    ref = stack.verify_on_phone(openid, key[0])
    first = meter.step("FaceResultsFunction", lambda: stack.lookup(token[0], ref))
    repeat = meter.step("FaceResultsFunction", lambda: stack.lookup(token[0], ref))
    return login, issue, first, repeat


def measure_verification(stack: RunningStack, meter: Meter) -> dict[str, Step]:
    runs: dict[str, list[Step]] = {"login": [], "key": [], "first lookup": [], "repeat lookup": []}
    one_verification(stack, meter)  # warms every container on the path
    for _ in range(SAMPLES):
        for name, step in zip(runs, one_verification(stack, meter), strict=True):
            runs[name].append(step)
    return {name: median_step(steps) for name, steps in runs.items()}


def caches_a_period_apart(config: dict[str, str], period_s: float) -> dict[str, str]:
    """A scheduled function's environment as its runs meet it, ``period_s`` apart: every cache
    (``*_CACHE_SECONDS``) whose age is not longer than the period has expired at each run, so it is
    set to 1 s for the measurement (the runs are then spaced just over a second); longer caches
    keep their age. Back-to-back runs would find the caches warm and undercount (the refresher's
    AppSecret is cached 60 s by default, as long as its schedule's period: each deployed run
    reads it again)."""
    return {
        name: "1" if name.endswith("_CACHE_SECONDS") and float(value) <= period_s else value
        for name, value in config.items()
    }


def measure_schedule(stack: RunningStack, meter: Meter) -> dict[str, Step]:
    lam = stack.aws_client("lambda")
    out: dict[str, Step] = {}
    for logical_id, per_minute in SCHEDULED.items():
        # The local Lambda API takes a logical id where AWS takes the function's name.
        deployed = lam.get_function_configuration(FunctionName=logical_id)["Environment"]["Variables"]
        spaced = caches_a_period_apart(deployed, 60 / per_minute)
        if spaced != deployed:  # new environments with the shorter caches, as Lambda applies it
            lam.update_function_configuration(FunctionName=logical_id, Environment={"Variables": spaced})
        try:
            runs = []
            for i in range(SAMPLES + 1):
                if spaced != deployed:
                    time.sleep(1.2)  # past the caches' 1 s: as a run a period after the last
                event = json.dumps(SCHEDULED_EVENT).encode()
                step = meter.step(
                    logical_id, functools.partial(lam.invoke, FunctionName=logical_id, Payload=event)
                )
                if i:
                    runs.append(step)
        finally:
            if spaced != deployed:
                lam.update_function_configuration(
                    FunctionName=logical_id, Environment={"Variables": deployed}
                )
        out[logical_id] = median_step(runs)
    return out


def egress(prices: dict[str, Any], currency: str, hours: int) -> str:
    """A month of the fixed egress address: the NAT gateway's hours and its Elastic IP, which AWS
    bills as a public IPv4 address (every AWS-provided one, since February 2024). Its data
    processing is the refresher's token calls: negligible."""
    nat, ipv4 = prices.get("nat_gateway_hour", {}), prices.get("public_ipv4_hour", {})
    if "value" not in nat or "value" not in ipv4:
        missing = [
            name for name, p in (("NAT gateway", nat), ("public IPv4 address", ipv4)) if "value" not in p
        ]
        return f"price missing: {', '.join(missing)}"
    gateway, address = hours * nat["value"], hours * ipv4["value"]
    return (
        f"{currency} {gateway + address:,.2f} ({hours} hours: the gateway {gateway:,.2f}, its Elastic IP "
        f"{address:,.2f} as a public IPv4 address; data processing negligible)"
    )


def snapstart(
    prices: dict[str, Any], currency: str, *, functions: int, memory_mb: int, seconds: float, restores: float
) -> str:
    """What ``SnapStart=true`` adds in a month: each API function's one live published version
    cached the whole month (GB-seconds of its memory; a replaced version is deleted with the
    deployment that replaces it), and one restore (GB of its memory) per new environment. The
    init time it saves is not subtracted: an upper bound."""
    cache, restore = prices.get("snapstart_cache_gb_second", {}), prices.get("snapstart_restore_gb", {})
    if "value" not in cache or "value" not in restore:
        missing = [
            n for n, p in (("SnapStart cache", cache), ("SnapStart restore", restore)) if "value" not in p
        ]
        return (
            "price missing: " + ", ".join(missing) + (f" ({cache['missing']})" if "missing" in cache else "")
        )
    gb = memory_mb / 1024
    cached = functions * gb * seconds * cache["value"] / cache["per"]
    restored = restores * gb * restore["value"] / restore["per"]
    return (
        f"{currency} {cached + restored:,.2f} (cache {cached:,.2f}: {functions} versions of {memory_mb} MB "
        f"all month; {restores:,.0f} restores {restored:,.2f})"
    )


def run(
    stack: RunningStack, init_seconds: dict[str, float], memory_mb: int, scheduled_mb: int, alarms: int
) -> None:
    """``memory_mb``: the API functions' size (ApiMemorySize); ``scheduled_mb``: the others'."""
    config = load_prices()
    model = config["model"]
    meter = Meter(stack)
    steps = measure_verification(stack, meter)
    month_minutes = model["days_per_month"] * 24 * 60
    per_log = model["log_event_overhead_bytes"]
    access = access_log_bytes(ROOT / "template.yaml") + per_log
    for name, s in steps.items():
        row(
            SECTION,
            f"{name} ({s.function}): measured",
            f"handler {s.handler_ms:.1f} ms here, WeChat {s.wechat}, SSM {s.ssm}, "
            f"DynamoDB {s.read_units:g} RRU / {s.write_units:g} WRU, events {s.events}, "
            f"log {s.log_bytes} B in {s.log_lines} lines",
        )

    def per_verification(wechat_ms: float, mem: int) -> Usage:
        u = Usage()
        for s in steps.values():
            ms = billed_ms(s, mem, wechat_ms)
            u.lambda_requests += 1
            u.gb_seconds += ms / 1000 * mem / 1024
            u.http_api_requests += 1
            u.read_units += s.read_units
            u.write_units += s.write_units
            u.events += s.events
            u.log_bytes += (
                s.log_bytes + s.log_lines * per_log + model["platform_log_bytes"] + 3 * per_log + access
            )
        return u

    for s in steps.values():
        row(
            SECTION,
            f"{s.function}: billed ms of a warm request at {memory_mb} MB (model)",
            f"{billed_ms(s, memory_mb, model['wechat_round_trip_ms'])} ms "
            f"(WeChat {model['wechat_round_trip_ms']} ms a call)",
        )

    schedule = measure_schedule(stack, meter)
    fixed = Usage(alarms=alarms, metrics=len(emitted_metrics(stack.log_path)))
    for logical_id, s in schedule.items():
        runs = month_minutes * SCHEDULED[logical_id]
        ms = billed_ms(s, scheduled_mb, model["wechat_round_trip_ms"])
        fixed.lambda_requests += runs
        fixed.gb_seconds += runs * ms / 1000 * scheduled_mb / 1024
        fixed.read_units += runs * s.read_units
        fixed.write_units += runs * s.write_units
        fixed.log_bytes += runs * (
            s.log_bytes + s.log_lines * per_log + model["platform_log_bytes"] + 3 * per_log
        )
        fixed.kms_requests += runs * s.ssm  # a SecureString read or write is one KMS call
        row(
            SECTION,
            f"{logical_id} every minute: measured per run, its caches as a minute apart leaves them",
            f"handler {s.handler_ms:.1f} ms, DynamoDB {s.read_units:g} RRU / {s.write_units:g} WRU, "
            f"SSM {s.ssm}, log {s.log_bytes} B",
        )
    # Warm API containers re-read their SecureString settings once a minute (section 5).
    row(SECTION, "custom metrics the functions define (EMF), billed per month", str(int(fixed.metrics)))

    def new_environments(volume: int) -> float:
        """The API functions' cold starts in a month at ``volume`` verifications (each a restore
        with SnapStart)."""
        total = 0.0
        for s in {x.function: x for x in steps.values()}.values():
            calls = volume * sum(1 for x in steps.values() if x.function == s.function)
            total += calls * cold_share(calls, model)
        return total

    def month(volume: int, arch: str, wechat_ms: float, mem: int) -> Usage:
        total = fixed.plus(per_verification(wechat_ms, mem).scaled(volume))
        for s in {x.function: x for x in steps.values()}.values():
            calls = volume * sum(1 for x in steps.values() if x.function == s.function)
            cold = calls * cold_share(calls, model)
            init = init_seconds.get(s.function, 0.0) * max(1.0, FULL_VCPU_MB / mem)
            total.gb_seconds += cold * init * mem / 1024  # INIT is billed (since August 2025)
            warm_minutes = min(month_minutes, calls * model["idle_minutes"])
            total.kms_requests += warm_minutes  # one SecureString GetParameters a warm minute
        return total

    for region, info in config["regions"].items():
        prices = info["prices"]
        cur = info["currency"]
        label = f"{region} (reference)" if info.get("reference") else region
        for arch in ("arm", "x86"):
            for volume in VOLUMES:
                usage = month(volume, arch, model["wechat_round_trip_ms"], memory_mb)
                known, missing = money(usage, prices, arch)
                total = sum(known.values())
                shares = sorted(known.items(), key=lambda kv: -kv[1])[:3]
                top = ", ".join(f"{k} {v / total:.0%}" for k, v in shares) if total else "-"
                row(
                    SECTION,
                    f"{label} {arch} {volume:,} verifications a month, {memory_mb} MB",
                    f"{cur} {total:,.2f} priced; largest: {top}"
                    + (f"; price missing: {', '.join(missing)}" if missing else ""),
                )
        hours = model["days_per_month"] * 24
        row(
            SECTION,
            f"{label}: the optional NAT gateway (EnableFixedEgressIp=true), a month",
            egress(prices, cur, hours),
        )
        for volume in VOLUMES:
            row(
                SECTION,
                f"{label}: added by SnapStart=true at {volume:,} verifications a month, {memory_mb} MB",
                snapstart(
                    prices,
                    cur,
                    functions=SNAPSTART_FUNCTIONS,
                    memory_mb=memory_mb,
                    seconds=hours * 3600,
                    restores=new_environments(volume),
                ),
            )
    usage = per_verification(model["wechat_round_trip_ms"], memory_mb)
    row(
        SECTION,
        "one verification's usage",
        f"{usage.lambda_requests:g} Lambda requests, {usage.gb_seconds:.3f} GB-s warm, "
        f"{usage.http_api_requests:g} HTTP API requests, {usage.read_units:g} RRU, {usage.write_units:g} WRU, "
        f"{usage.events:g} events, {usage.log_bytes / 1024:.1f} KB of logs",
    )
    row(
        SECTION,
        "the schedule's usage a month",
        f"{fixed.lambda_requests:,.0f} Lambda requests, {fixed.gb_seconds:,.0f} GB-s, "
        f"{fixed.read_units:,.0f} RRU, {fixed.write_units:,.0f} WRU, {fixed.kms_requests:,.0f} KMS, "
        f"{fixed.log_bytes / 1024**2:,.1f} MB of logs, {alarms} alarms",
    )
    # The memory size, priced in GB-seconds (the one component it changes; the same price per
    # GB-second at every size): the API functions at 512 MB (before) and at ApiMemorySize.
    for wechat_ms in (50, model["wechat_round_trip_ms"], 500):
        for mem in sorted({512, 1024, 1769, memory_mb}):
            warm = per_verification(wechat_ms, mem).gb_seconds
            first = month(1_000, "arm", wechat_ms, mem).gb_seconds - fixed.gb_seconds
            busy = month(10_000_000, "arm", wechat_ms, mem).gb_seconds - fixed.gb_seconds
            row(
                SECTION,
                f"API functions at {mem} MB, WeChat {wechat_ms} ms a call: GB-s per verification",
                f"{warm:.3f} warm; {first / 1_000:.3f} at 1k a month (cold starts included), "
                f"{busy / 10_000_000:.3f} at 10M",
            )
