"""The capacity planner (``make capacity``): what one deployment needs for a target rate of
verifications, and what to set and to ask AWS and WeChat for before the campaign.

    make capacity ARGS="--peak 2000 --sustained 800 --hours 10 --face-api 2 --region ap-east-1"
    python -m tools.capacity --peak 2000 ...

It multiplies what one verification uses, as measured on the local stack (bench/usage.json,
written by ``make bench``; nothing is typed twice), by the target rate, and compares the result
with AWS's documented limits (tools/aws_limits.toml, each with its page and the date it was read;
China regions marked where they differ or are unknown) and with the template's defaults. The
money comes from the cost model's prices (bench/prices.toml). docs/capacity.md explains the model.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.cost import FULL_VCPU_MB, Usage, money  # a full vCPU at 1,769 MB; the cost model
from wxface.domain.limits import MARGIN_S, PREPARE_S
from wxface.domain.results import SWEEP_CALL_BUDGET_S
from wxface.ports.records import SHARD_COUNTS

ROOT = Path(__file__).resolve().parent.parent
USAGE = ROOT / "bench" / "usage.json"
LIMITS = ROOT / "tools" / "aws_limits.toml"
PRICES = ROOT / "bench" / "prices.toml"

HEADROOM = 0.8  # plan to use at most this share of any limit
RETRIES = 1.1  # WeChat calls a verification makes beyond the measured ones (retries, the sweep's second look)
DAYS_PER_MONTH = 30
# The template's defaults (template.yaml; tests/unit/test_capacity.py checks each against it).
DEFAULTS: dict[str, Any] = {
    "RouteRateLimit": 100,
    "RouteBurstLimit": 200,
    "ResultsRouteRateLimit": 200,
    "ResultsRouteBurstLimit": 400,
    "QueueShards": 8,
    "WeChatHourlyBudgetShare": 3.0,
    "QuotaRefusePercent": 95,
    "ApiMemorySize": 1280,
    "SweepParts": 1,
    "SweeperMemorySize": 512,
    "daily_quota": 100_000,  # the placeholder per face endpoint (WeChatDailyQuotas empty)
}
FUNCTION_OF = {
    "POST /v1/session": "session",
    "POST /v1/face/keys": "keys",
    "POST /v1/face/results": "results",
}
# WeChat calls a request of each route makes (a verification's lookup calls once, its repeat not).
WECHAT_OF = {"session": 1.0, "keys": 1.0, "results": 0.5}
TIMEOUT_S = 15  # the functions' Timeout (the sweep's too)
EMITTER_TIMEOUT_S, EMITTER_RESERVE_S = 10, 5.0  # functions/event_emitter (its Timeout, RESERVE_S)
IN_REGION_CALL_S = 0.01  # one DynamoDB or EventBridge call from Lambda in its region
SWEEP_WORKERS = 16  # lookups at once in a sweep run (functions/result_sweeper, WORKERS)
CHINA = ("cn-north-1", "cn-northwest-1")


@dataclass(frozen=True)
class Target:
    peak: float  # verifications a second at the busiest minute
    sustained: float  # verifications a second over the campaign's hours
    hours: float = 24.0  # hours a day at the sustained rate
    face_api: int = 2
    region: str = "ap-east-1"
    rtt_ms: float = 150.0  # WeChat's round trip from the functions
    abandoned: float = 0.05  # 2.0: the share of keys whose result the mini-program never looks up


@dataclass
class Line:
    component: str
    needed: str  # at the target
    limit: str  # the default or AWS's limit
    action: str  # what to set or request ("" when nothing)
    lead_time: str = ""


@dataclass
class Plan:
    target: Target
    lines: list[Line] = field(default_factory=list)
    ceilings: dict[str, float] = field(default_factory=dict)  # v/s each limit allows at the defaults
    settings: dict[str, Any] = field(default_factory=dict)  # the template parameters to set
    monthly_cost: str = ""
    notes: list[str] = field(default_factory=list)

    def bottlenecks(self, rate: float, n: int = 3) -> list[tuple[str, float]]:
        """The ``n`` limits ``rate`` comes nearest (or furthest past), with its share of each."""
        used = sorted(((name, rate / c) for name, c in self.ceilings.items() if c > 0), key=lambda x: -x[1])
        return used[:n]


def load_usage(face_api: int, path: Path = USAGE) -> dict[str, Any]:
    figures: dict[str, Any] = json.loads(path.read_text())["face_api"][str(face_api)]
    return figures


def load_limits(path: Path = LIMITS) -> dict[str, Any]:
    with path.open("rb") as f:
        return tomllib.load(f)


def limit(limits: dict[str, Any], name: str, key: str, region: str) -> tuple[float, str]:
    """A limit's value in ``region``, and a remark when the China regions' figure is unknown."""
    entry = limits[name]
    value = float(entry.get("regions", {}).get(region, entry[key]))
    if region in CHINA:
        china = entry.get("china", "unknown")
        if china == "unknown":
            return value, " (China: not documented where this was read; the global figure assumed)"
        if isinstance(china, int | float):
            return float(china), ""
    return value, ""


def highest(holds: Any, top: float = 1e7) -> float:
    """The highest rate (to 0.1 a second) at which ``holds(rate)`` is still true (it holds below)."""
    low, high = 0.0, top
    while high - low > 0.1:
        mid = (low + high) / 2
        low, high = (mid, high) if holds(mid) else (low, mid)
    return low


def next_shards(needed: float) -> int:
    return next((n for n in SHARD_COUNTS if n >= needed), SHARD_COUNTS[-1])


def durations(usage: dict[str, Any], rtt_s: float) -> dict[str, float]:
    """Seconds of Lambda per request of each function: its handler's measured time plus its
    WeChat calls at ``rtt_s``."""
    return {f: usage["handler_ms"][f] / 1000 + WECHAT_OF[f] * rtt_s for f in WECHAT_OF}


def requests_of(usage: dict[str, Any]) -> dict[str, float]:
    return {FUNCTION_OF[route]: float(n) for route, n in usage["requests"].items()}


def sweep_capacity(parts: int, memory_mb: int, rtt_s: float, cpu_ms: float) -> float:
    """Lookups a second the 2.0 sweep makes: ``parts`` runs a minute side by side, each starting
    lookups until the Timeout less a sweep lookup's whole WeChat budget and a second,
    :data:`SWEEP_WORKERS` at once, and no more than its CPU share carries (``cpu_ms`` of CPU a
    lookup, measured; Lambda gives ``memory_mb`` / 1,769 of a vCPU)."""
    window = max(1.0, TIMEOUT_S - SWEEP_CALL_BUDGET_S - 1)
    per_worker = math.floor(window / (rtt_s + 3 * IN_REGION_CALL_S)) + 1
    by_connections = SWEEP_WORKERS * per_worker
    by_cpu = window * min(1.0, memory_mb / FULL_VCPU_MB) / (cpu_ms / 1000)
    return parts * min(by_connections, by_cpu) / 60


def sweep_settings(needed: float, shards: int, rtt_s: float, cpu_ms: float) -> tuple[int, int, int]:
    """The fewest parts (and the memory, 512 MB or a full vCPU) whose sweep carries ``needed``
    lookups a second with headroom; more partitions when the parts need them (a part sweeps at
    least one). Answers (parts, memory, partitions)."""
    for parts in SHARD_COUNTS:
        for memory in (DEFAULTS["SweeperMemorySize"], FULL_VCPU_MB):
            if sweep_capacity(parts, memory, rtt_s, cpu_ms) * HEADROOM >= needed:
                return parts, memory, max(shards, parts)
    return SHARD_COUNTS[-1], FULL_VCPU_MB, SHARD_COUNTS[-1]


def emitter_capacity() -> float:
    """Backlog entries a second the emitter sends (pages of 100: a Query, ten PutEvents, four
    batch deletes), EventBridge willing."""
    window = EMITTER_TIMEOUT_S - EMITTER_RESERVE_S
    per_page = 15 * IN_REGION_CALL_S
    return (math.floor(window / per_page) + 1) * 100 / 60


def quota_line(
    p: Plan, limits: dict[str, Any], name: str, component: str, needed: float, step: int, detail: str = ""
) -> float:
    """A line for the adjustable AWS quota ``name`` in the target's region: past 80 % of it, the
    figure to request (``needed`` / 0.8, rounded up to ``step``) and the lead time. Answers the
    quota's value."""
    value, remark = limit(limits, name, "value", p.target.region)
    over = needed > value * HEADROOM
    p.lines.append(
        Line(
            component,
            f"{needed:,.0f}{detail}",
            f"{value:,.0f}{remark}",
            f"request {math.ceil(needed / HEADROOM / step) * step:,}" if over else "",
            limits[name].get("lead_time", "") if over else "",
        )
    )
    return value


def plan(
    target: Target, usage: dict[str, Any], limits: dict[str, Any], prices: dict[str, Any] | None = None
) -> Plan:
    p = Plan(target)
    peak, rtt_s, region = target.peak, target.rtt_ms / 1000, target.region
    req = requests_of(usage)
    dur = durations(usage, rtt_s)
    wechat = {e: float(n) for e, n in usage["wechat_calls"].items()}
    quota_endpoints = {e: n for e, n in wechat.items() if not e.startswith("/sns")}

    # --- WeChat ---------------------------------------------------------------------------
    daily: dict[str, int] = {}
    share_needed = 0.0
    for endpoint, n in wechat.items():
        per_day = math.ceil(round(target.sustained * target.hours * 3600 * n * RETRIES / 1000, 6)) * 1000
        peak_hour = peak * 3600 * n * RETRIES
        daily[endpoint] = per_day
        if endpoint in quota_endpoints and per_day:
            share_needed = max(
                share_needed, peak_hour / (per_day / 24) / (DEFAULTS["QuotaRefusePercent"] / 100)
            )
        p.lines.append(
            Line(
                f"WeChat {endpoint} a day",
                f"{per_day:,}",
                f"{DEFAULTS['daily_quota']:,} (placeholder)" if endpoint in quota_endpoints else "counted",
                "ask WeChat for this daily quota" if endpoint in quota_endpoints else "",
                "weeks (WeChat's review)" if endpoint in quota_endpoints else "",
            )
        )
    share = max(DEFAULTS["WeChatHourlyBudgetShare"], math.ceil(share_needed * 2) / 2)
    quotas = {e: daily[e] for e in quota_endpoints}
    p.settings["WeChatDailyQuotas"] = json.dumps(quotas, separators=(",", ":"))
    p.settings["WeChatHourlyBudgetShare"] = share
    p.lines.append(
        Line(
            "the quota guard's hourly budget",
            f"{share_needed:.1f} hourly shares at the peak",
            f"{DEFAULTS['WeChatHourlyBudgetShare']:g}",
            f"WeChatHourlyBudgetShare={share:g}, WeChatDailyQuotas as granted",
        )
    )
    per_call = max(quota_endpoints.values(), default=1.0)
    hourly_default = DEFAULTS["WeChatHourlyBudgetShare"] * DEFAULTS["daily_quota"] / 24
    p.ceilings["WeChat quota guard at its placeholder quota (over an hour)"] = (
        hourly_default * DEFAULTS["QuotaRefusePercent"] / 100 / 3600 / (per_call * RETRIES)
    )

    # --- Lambda ---------------------------------------------------------------------------
    per_verification_s = sum(req[f] * dur[f] for f in dur)
    concurrency = peak * per_verification_s
    account = quota_line(p, limits, "lambda_concurrency", "Lambda concurrency (all functions)", concurrency,
                         100, f" ({per_verification_s:.2f} s of Lambda a verification)")  # fmt: skip
    p.ceilings["Lambda account concurrency"] = account / per_verification_s
    scaling, _ = limit(limits, "lambda_scaling", "value", region)
    busiest = max(peak * req[f] * dur[f] for f in dur)
    p.notes.append(
        f"Lambda adds at most {scaling:,.0f} environments a function every 10 s: the busiest "
        f"function reaches {busiest:,.0f} in {10 * math.ceil(busiest / scaling)} s from cold; ramp "
        "the campaign's traffic or warm it first."
    )

    # --- API Gateway ----------------------------------------------------------------------
    rps = peak * sum(req.values())
    api_rate = quota_line(
        p, limits, "http_api_account_rate", "HTTP API requests a second (account)", rps, 1000
    )
    p.ceilings["API Gateway account rate"] = api_rate / sum(req.values())
    route = max(DEFAULTS["RouteRateLimit"], math.ceil(peak / HEADROOM))
    results_route = max(DEFAULTS["ResultsRouteRateLimit"], math.ceil(peak * req["results"] / HEADROOM))
    p.settings |= {
        "RouteRateLimit": route,
        "RouteBurstLimit": 2 * route,
        "ResultsRouteRateLimit": results_route,
        "ResultsRouteBurstLimit": 2 * results_route,
    }
    p.ceilings["route throttles"] = min(
        DEFAULTS["RouteRateLimit"] / max(req["session"], req["keys"]),
        DEFAULTS["ResultsRouteRateLimit"] / req["results"],
    )
    p.lines.append(
        Line(
            "route throttles (per route)",
            f"{peak:,.0f} a second; {peak * req['results']:,.0f} on POST /v1/face/results",
            f"{DEFAULTS['RouteRateLimit']} / {DEFAULTS['ResultsRouteRateLimit']}",
            f"RouteRateLimit={route}, RouteBurstLimit={2 * route}, ResultsRouteRateLimit={results_route}, "
            f"ResultsRouteBurstLimit={2 * results_route}",
        )
    )

    # --- DynamoDB -------------------------------------------------------------------------
    writes = peak * usage["write_units"]
    reads = peak * usage["read_units"]
    new_write, _ = limit(limits, "dynamodb_new_table", "write", region)
    new_read, _ = limit(limits, "dynamodb_new_table", "read", region)
    table_write, remark = limit(limits, "dynamodb_table_max", "write", region)
    p.ceilings["a new on-demand table (before it doubles)"] = new_write / usage["write_units"]
    p.ceilings["DynamoDB table-level maximum"] = table_write / usage["write_units"]
    warm_w = math.ceil(writes / HEADROOM / 1000) * 1000 if writes > new_write * HEADROOM else 0
    warm_r = math.ceil(reads / HEADROOM / 1000) * 1000 if reads > new_read * HEADROOM else 0
    if warm_w:
        p.settings["WarmWriteUnits"] = warm_w
    if warm_r:
        p.settings["WarmReadUnits"] = warm_r
    p.lines.append(
        Line(
            "DynamoDB write units a second",
            f"{writes:,.0f} ({usage['write_units']:g} a verification); reads {reads:,.0f}",
            f"new table {new_write:,.0f} / {new_read:,.0f} reads, doubling in 30 min",
            ", ".join(
                [f"WarmWriteUnits={warm_w}"] * bool(warm_w) + [f"WarmReadUnits={warm_r}"] * bool(warm_r)
            )
            + ("; or ramp up over hours" if warm_w or warm_r else ""),
            "a day ahead (pre-warming takes time; billed once)" if warm_w or warm_r else "",
        )
    )
    if writes > table_write * HEADROOM:
        p.lines.append(
            Line(
                "DynamoDB table-level maximum",
                f"{writes:,.0f}",
                f"{table_write:,.0f}{remark}",
                f"request {math.ceil(writes / HEADROOM / 1000) * 1000:,} write units a second",
                limits["dynamodb_table_max"].get("lead_time", ""),
            )
        )
    partition, _ = limit(limits, "dynamodb_partition", "write", region)
    # The quota guard's counters, one item per endpoint and window: a write per block of calls
    # (at most 50) while the window runs, and at its edge one write per container, spread over the
    # window's last minutes (domain/limits.py; every container counted, as if each called it).
    steady = partition * HEADROOM * 50 / (per_call * RETRIES)
    edge = partition * HEADROOM * (PREPARE_S - MARGIN_S) / per_verification_s
    p.ceilings["the quota guard's counters (a write a block; edges spread)"] = min(steady, edge)
    shards = 1
    for kind, units in usage.get("shared_write_units", {}).items():
        if kind in ("OUTBOX", "PENDING") and units:
            shards = max(shards, next_shards(peak * units / (partition * HEADROOM)))
            p.ceilings[f"{kind} partitions at QueueShards={DEFAULTS['QueueShards']}"] = (
                DEFAULTS["QueueShards"] * partition / units
            )
    p.settings["QueueShards"] = max(shards, DEFAULTS["QueueShards"])
    p.lines.append(
        Line(
            "outbox and pending-check partitions",
            f"{shards} at the peak",
            f"{DEFAULTS['QueueShards']}",
            f"QueueShards={p.settings['QueueShards']}" if shards > DEFAULTS["QueueShards"] else "",
        )
    )

    # --- Parameter Store ------------------------------------------------------------------
    ssm, remark = limit(limits, "ssm_get_parameters", "value", region)
    high = float(limits["ssm_get_parameters"]["high_throughput"])

    def ssm_reads(rate: float) -> float:  # a re-read a warm container a minute, and a cold ramp
        c = rate * per_verification_s
        return c / 60 + min(c, scaling) / 10

    reads_ssm = ssm_reads(peak)
    p.ceilings["Parameter Store at its default throughput"] = highest(
        lambda v: ssm_reads(v) <= ssm * HEADROOM
    )
    if reads_ssm > ssm * HEADROOM:
        p.settings["ParameterStoreHighThroughput"] = "true"
    p.lines.append(
        Line(
            "Parameter Store reads a second",
            f"{reads_ssm:,.0f} (a re-read a warm container a minute, and a cold ramp)",
            f"{ssm:,.0f}; {high:,.0f} with higher throughput{remark}",
            "ParameterStoreHighThroughput=true" if reads_ssm > ssm * HEADROOM else "",
            limits["ssm_get_parameters"].get("lead_time", "") if reads_ssm > ssm * HEADROOM else "",
        )
    )

    # --- EventBridge ----------------------------------------------------------------------
    events = peak * usage["put_events"]
    put = quota_line(p, limits, "eventbridge_put_events", "EventBridge PutEvents a second", events, 100)
    p.ceilings[f"EventBridge PutEvents in {region}"] = put / max(usage["put_events"], 1e-9)
    p.notes.append(
        f"The emitter sends a backlog (events EventBridge refused) at about {emitter_capacity():,.0f} a "
        "second while EventBridge takes them."
    )

    # --- the 2.0 sweep --------------------------------------------------------------------
    if target.face_api == 2:
        needed = peak * target.abandoned
        cpu_ms = usage["sweep"]["cpu_ms_per_lookup"]
        at_default = sweep_capacity(1, DEFAULTS["SweeperMemorySize"], rtt_s, cpu_ms)
        p.ceilings[f"the sweep, one run at 512 MB ({target.abandoned:.0%} abandoned)"] = (
            at_default / target.abandoned if target.abandoned else math.inf
        )
        parts, memory, shards_for_parts = sweep_settings(needed, p.settings["QueueShards"], rtt_s, cpu_ms)
        chosen = sweep_capacity(parts, memory, rtt_s, cpu_ms)
        if parts > 1:
            p.settings["SweepParts"] = parts
            p.settings["QueueShards"] = shards_for_parts
        if memory != DEFAULTS["SweeperMemorySize"]:
            p.settings["SweeperMemorySize"] = memory
        p.lines.append(
            Line(
                "2.0 sweep lookups a second",
                f"{needed:,.1f} ({target.abandoned:.0%} of keys never looked up; {cpu_ms:g} ms of CPU each)",
                f"{at_default:,.1f} (one run at 512 MB); {chosen:,.1f} as set",
                ", ".join(
                    [f"SweepParts={parts}"] * (parts > 1)
                    + [f"SweeperMemorySize={memory}"] * (memory != DEFAULTS["SweeperMemorySize"])
                )
                if chosen * HEADROOM >= needed
                else f"SweepParts={parts}, SweeperMemorySize={memory}: still short; the rest reach no event",
            )
        )

    # --- money ----------------------------------------------------------------------------
    if prices is not None:
        p.monthly_cost = monthly_cost(target, usage, dur, req, prices)
    return p


def monthly_cost(
    target: Target,
    usage: dict[str, Any],
    dur: dict[str, float],
    req: dict[str, float],
    prices: dict[str, Any],
) -> str:
    """The month at the sustained rate, from the cost model's prices (bench/prices.toml):
    requests, GB-seconds at ApiMemorySize, HTTP API requests, DynamoDB units and events (logs
    and the schedule's fixed cost: docs/benchmarks.md section 9)."""
    region = prices["regions"].get(target.region)
    if region is None:
        return f"no prices for {target.region} in bench/prices.toml"
    volume = target.sustained * target.hours * 3600 * DAYS_PER_MONTH
    gb = DEFAULTS["ApiMemorySize"] / 1024
    one = Usage(
        lambda_requests=sum(req.values()),
        gb_seconds=sum(req[f] * dur[f] * gb for f in dur),
        http_api_requests=sum(req.values()),
        read_units=usage["read_units"],
        write_units=usage["write_units"],
        events=usage["put_events"],
    )
    known, missing = money(one.scaled(volume), region["prices"], "arm")
    total = sum(known.values())
    text = f"{region['currency']} {total:,.0f} a month for {volume:,.0f} verifications (arm64)"
    return text + (f"; price missing: {', '.join(missing)}" if missing else "")


def render(p: Plan) -> str:
    t = p.target
    out = [
        f"Capacity for {t.peak:,.0f} verifications a second at the peak, {t.sustained:,.0f} sustained for "
        f"{t.hours:g} h a day; face API {t.face_api}.0, {t.region}, WeChat {t.rtt_ms:g} ms a call",
        "",
        "| component | needed | default or limit | set or request | lead time |",
        "|---|---|---|---|---|",
    ]
    out += [f"| {x.component} | {x.needed} | {x.limit} | {x.action} | {x.lead_time} |" for x in p.lines]
    out += ["", "Parameters to deploy with:", ""]
    out += [f"    {k}={v}" for k, v in p.settings.items()]
    out += ["", "Ceilings at the defaults (verifications a second):", ""]
    out += [f"    {c:>10,.0f}  {name}" for name, c in sorted(p.ceilings.items(), key=lambda kv: kv[1])]
    out += ["", "First three limits at this peak (share of each used at the defaults):", ""]
    out += [f"    {share:>8.0%}  {name}" for name, share in p.bottlenecks(t.peak)]
    if p.monthly_cost:
        out += ["", f"Cost: {p.monthly_cost}"]
    out += ["", *(f"- {n}" for n in p.notes)]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="make capacity", description=__doc__.splitlines()[0] if __doc__ else ""
    )
    parser.add_argument(
        "--peak", type=float, required=True, help="verifications a second at the busiest minute"
    )
    parser.add_argument(
        "--sustained", type=float, help="verifications a second over the campaign's hours (default: the peak)"
    )
    parser.add_argument(
        "--hours", type=float, default=24.0, help="hours a day at the sustained rate (default 24)"
    )
    parser.add_argument("--face-api", type=int, choices=(1, 2), default=2)
    parser.add_argument("--region", default="ap-east-1")
    parser.add_argument(
        "--wechat-rtt-ms", type=float, default=150.0, help="WeChat's round trip from the region"
    )
    parser.add_argument(
        "--abandoned", type=float, default=0.05, help="2.0: share of keys never looked up by the app"
    )
    args = parser.parse_args(argv)
    target = Target(
        peak=args.peak,
        sustained=args.peak if args.sustained is None else args.sustained,
        hours=args.hours,
        face_api=args.face_api,
        region=args.region,
        rtt_ms=args.wechat_rtt_ms,
        abandoned=args.abandoned,
    )
    with PRICES.open("rb") as f:
        prices = tomllib.load(f)
    print(render(plan(target, load_usage(target.face_api), load_limits(), prices)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
