"""The capacity planner (tools/capacity.py) against examples worked by hand, its defaults against
the template's, and its inputs: the measured usage (bench/usage.json) and AWS's limits
(tools/aws_limits.toml, each with its page and date)."""

from __future__ import annotations

import math
import re
from typing import Any

import pytest

from devstack.template import read
from tests.support.tools import ROOT
from tools import capacity
from tools.capacity import Target, plan

KEYS, LOOKUPS, LOGIN = (
    "/cityservice/face/identify/getverifyid",
    "/cityservice/face/identify/queryverifyinfo",
    "/sns/jscode2session",
)
# A made-up verification with round figures, so that every number below can be worked by hand.
USAGE: dict[str, Any] = {
    "requests": {"POST /v1/session": 1, "POST /v1/face/keys": 1, "POST /v1/face/results": 2},
    "write_units": 20,
    "read_units": 5,
    "shared_write_units": {"OUTBOX": 3, "PENDING": 4},
    "put_events": 1,
    "wechat_calls": {KEYS: 1, LOOKUPS: 1, LOGIN: 1},
    "handler_ms": {"session": 50, "keys": 100, "results": 50},
    "sweep": {"cpu_ms_per_lookup": 10},
}
TARGET = Target(peak=1000, sustained=500, hours=8, face_api=2, region="ap-east-1", rtt_ms=200, abandoned=0.02)


@pytest.fixture(scope="module")
def limits() -> dict[str, Any]:
    return capacity.load_limits()


def action(p: capacity.Plan, component: str) -> str:
    (line,) = [x for x in p.lines if x.component == component]
    return line.action


def test_lambda_concurrency_worked_by_hand(limits: dict[str, Any]) -> None:
    # Seconds of Lambda a verification: session 0.05 + 0.2, keys 0.1 + 0.2, results twice
    # (0.05 + half a WeChat call, 0.1) = 0.25 + 0.3 + 2 x 0.15 = 0.85 s; at 1,000 a second
    # 850 concurrent, over 80 % of the account's 1,000: ask for 850 / 0.8 = 1,062.5 -> 1,100.
    p = plan(TARGET, USAGE, limits)
    assert action(p, "Lambda concurrency (all functions)") == "request 1,100"
    assert p.ceilings["Lambda account concurrency"] == pytest.approx(1000 / 0.85)


def test_wechat_quotas_and_the_hourly_budget_worked_by_hand(limits: dict[str, Any]) -> None:
    # 500 a second for 8 hours, one call per endpoint, 10 % for retries: 15,840,000 a day. The
    # peak hour: 1,000 x 3,600 x 1.1 = 3,960,000 = 6 even hourly shares of 660,000, refused at
    # 95 %: 6.32 shares -> 6.5.
    p = plan(TARGET, USAGE, limits)
    assert p.settings["WeChatDailyQuotas"] == f'{{"{KEYS}":15840000,"{LOOKUPS}":15840000}}'
    assert p.settings["WeChatHourlyBudgetShare"] == 6.5
    # The placeholder 100,000 a day: 3 x 100,000 / 24 = 12,500 an hour, 95 % of it, 1.1 calls a
    # verification on the busiest endpoint: 2.9987 verifications a second over an hour.
    ceiling = p.ceilings["WeChat quota guard at its placeholder quota (over an hour)"]
    assert ceiling == pytest.approx(12_500 * 0.95 / 3600 / 1.1)


def test_api_gateway_and_the_route_throttles_worked_by_hand(limits: dict[str, Any]) -> None:
    # 4 requests a verification: 4,000 a second against the account's 10,000 (no request); each
    # route at 1,000 / 0.8 = 1,250, the results route twice that, bursts twice the rate.
    p = plan(TARGET, USAGE, limits)
    assert action(p, "HTTP API requests a second (account)") == ""
    assert p.ceilings["API Gateway account rate"] == 2500
    assert {k: p.settings[k] for k in ("RouteRateLimit", "RouteBurstLimit", "ResultsRouteRateLimit",
                                       "ResultsRouteBurstLimit")} == {
        "RouteRateLimit": 1250, "RouteBurstLimit": 2500, "ResultsRouteRateLimit": 2500,
        "ResultsRouteBurstLimit": 5000}  # fmt: skip
    assert p.ceilings["route throttles"] == 100  # the defaults: 100 on each route, 200 / 2


def test_dynamodb_warm_throughput_and_partitions_worked_by_hand(limits: dict[str, Any]) -> None:
    # 20 write units a verification: 20,000 a second, past 80 % of a new table's 4,000: pre-warm
    # 20,000 / 0.8 = 25,000. Reads 5,000 stay under 80 % of 12,000.
    p = plan(TARGET, USAGE, limits)
    assert p.settings["WarmWriteUnits"] == 25_000 and "WarmReadUnits" not in p.settings
    assert p.ceilings["a new on-demand table (before it doubles)"] == 200
    assert p.ceilings["DynamoDB table-level maximum"] == 2000
    # 4 units a verification on the pending partitions: 4,000 a second over 800 a partition = 5,
    # rounded up to a count the parameter allows: 8 (the default). At 3,000 a second: 15 -> 16.
    assert p.settings["QueueShards"] == 8
    assert plan(Target(peak=3000, sustained=1), USAGE, limits).settings["QueueShards"] == 16
    assert p.ceilings["PENDING partitions at QueueShards=8"] == 2000
    assert p.ceilings["OUTBOX partitions at QueueShards=8"] == pytest.approx(8000 / 3)


def test_the_quota_counters_worked_by_hand(limits: dict[str, Any]) -> None:
    # One write per block of 50 calls, 1.1 calls a verification, 800 writes a second on the item:
    # 800 x 50 / 1.1 = 36,364 a second; at an edge, every container (0.85 s x the rate) writes once
    # in 115 s: 800 x 115 / 0.85 = 108,235. The lower one.
    p = plan(TARGET, USAGE, limits)
    assert p.ceilings["the quota guard's counters (a write a block; edges spread)"] == pytest.approx(
        800 * 50 / 1.1
    )


def test_parameter_store_and_eventbridge_worked_by_hand(limits: dict[str, Any]) -> None:
    # 850 warm containers re-read SSM once a minute (14.2 a second) and a cold ramp reads 85 a
    # second (850 over Lambda's 10 s): 99 > 32 (80 % of 40): the higher throughput.
    p = plan(TARGET, USAGE, limits)
    assert p.settings["ParameterStoreHighThroughput"] == "true"
    # One PutEvents a verification against ap-east-1's 600: ask for 1,000 / 0.8 = 1,250 -> 1,300.
    assert action(p, "EventBridge PutEvents a second") == "request 1,300"
    assert p.ceilings["EventBridge PutEvents in ap-east-1"] == 600
    us = plan(Target(peak=1000, sustained=1, region="us-east-1"), USAGE, limits)
    assert action(us, "EventBridge PutEvents a second") == ""  # 10,000 there


def test_the_sweep_worked_by_hand(limits: dict[str, Any]) -> None:
    # A run starts lookups for 15 s less a sweep lookup's 3 s budget and a second: 11 s. By its
    # connections, 16 at once, each 0.2 s + 3 table calls of 10 ms: floor(11 / 0.23) + 1 = 48 each,
    # 768 a run. By its CPU, 10 ms a lookup: at 512 MB (512 / 1,769 of a vCPU) 11 x 0.2894 / 0.01
    # = 318 a run (5.3 a second); at a full vCPU 1,100 (the connections bind: 12.8 a second).
    assert capacity.sweep_capacity(1, 512, 0.2, 10) == pytest.approx(11 * 512 / 1769 / 0.01 / 60)
    assert capacity.sweep_capacity(1, 1769, 0.2, 10) == pytest.approx(12.8)
    assert capacity.sweep_capacity(4, 1769, 0.2, 10) == pytest.approx(51.2)
    # 2 % of 1,000 is 20 a second; with 20 % headroom, 25: two parts of a full vCPU (25.6).
    p = plan(TARGET, USAGE, limits)
    assert action(p, "2.0 sweep lookups a second") == "SweepParts=2, SweeperMemorySize=1769"
    assert (p.settings["SweepParts"], p.settings["SweeperMemorySize"]) == (2, 1769)
    assert p.ceilings["the sweep, one run at 512 MB (2% abandoned)"] == pytest.approx(
        11 * 512 / 1769 / 0.01 / 60 / 0.02
    )
    # At 10,000 a second and 5 %: 500 (625 with headroom) needs 64 parts (64 x 12.8 = 819), which
    # need 64 partitions.
    big = plan(Target(peak=10_000, sustained=1, rtt_ms=200, abandoned=0.05), USAGE, limits)
    assert (big.settings["SweepParts"], big.settings["QueueShards"]) == (64, 64)
    # The emitter: pages of 100 for 10 - 5 s at 15 calls of 10 ms: 34 pages a run, 56.7 a second.
    assert capacity.emitter_capacity() == pytest.approx(3400 / 60)


def test_china_regions_say_where_a_limit_is_not_known(limits: dict[str, Any]) -> None:
    p = plan(Target(peak=1000, sustained=1, region="cn-north-1"), USAGE, limits)
    (line,) = [x for x in p.lines if x.component == "EventBridge PutEvents a second"]
    assert "China: not documented" in line.limit
    (line,) = [x for x in p.lines if x.component == "DynamoDB write units a second"]
    assert "China" not in line.limit  # the DynamoDB Developer Guide's figures hold there


def test_the_first_bottlenecks_are_the_limits_nearest_the_rate(limits: dict[str, Any]) -> None:
    p = plan(TARGET, USAGE, limits)
    names = [name for name, _ in p.bottlenecks(10)]
    assert names[0] == "WeChat quota guard at its placeholder quota (over an hour)"
    assert names[1:] == ["route throttles", "a new on-demand table (before it doubles)"]
    shares = dict(p.bottlenecks(10))
    assert shares["route throttles"] == pytest.approx(0.1)


def test_the_planners_defaults_are_the_templates() -> None:
    params = read(ROOT / "template.yaml")["Parameters"]
    for name in ("RouteRateLimit", "RouteBurstLimit", "ResultsRouteRateLimit", "ResultsRouteBurstLimit",
                 "QueueShards", "QuotaRefusePercent", "ApiMemorySize", "SweepParts",
                 "SweeperMemorySize"):  # fmt: skip
        assert capacity.DEFAULTS[name] == int(params[name]["Default"]), name
    assert capacity.DEFAULTS["WeChatHourlyBudgetShare"] == float(params["WeChatHourlyBudgetShare"]["Default"])
    from tests.support.handlers import load
    from wxface.settings import DEFAULT_DAILY_QUOTAS

    # The handlers' own figures the planner models (the sweep's lookups at once, the emitter's
    # reserve) and the functions' Timeouts.
    assert load("result_sweeper", "sweeper_handler").WORKERS == capacity.SWEEP_WORKERS
    assert load("event_emitter", "emitter_handler").RESERVE_S == capacity.EMITTER_RESERVE_S
    resources = read(ROOT / "template.yaml")
    assert resources["Globals"]["Function"]["Timeout"] == capacity.TIMEOUT_S
    emitter = resources["Resources"]["EventEmitterFunction"]["Properties"]
    assert emitter["Timeout"] == capacity.EMITTER_TIMEOUT_S
    assert "Timeout" not in resources["Resources"]["ResultSweeperFunction"]["Properties"]

    assert set(DEFAULT_DAILY_QUOTAS.values()) == {capacity.DEFAULTS["daily_quota"]}


def test_every_limit_names_its_page_its_date_and_how_china_stands(limits: dict[str, Any]) -> None:
    for name, entry in limits.items():
        assert entry["source"].startswith("https://docs.aws.amazon.com/"), name
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(entry["read_on"])), name
        assert entry["china"] in ("same", "unknown") or isinstance(entry["china"], int), name


def test_the_measured_usage_is_what_the_planner_reads() -> None:
    for version in (1, 2):
        usage = capacity.load_usage(version)
        assert usage["write_units"] > 0 and usage["put_events"] >= 1
        assert set(usage["handler_ms"]) == {"session", "keys", "results"}
        assert sum(usage["requests"].values()) == 4
    assert "PENDING" in capacity.load_usage(2)["shared_write_units"]


def test_make_capacity_prints_the_plan(capsys: pytest.CaptureFixture[str]) -> None:
    assert capacity.main(["--peak", "100", "--sustained", "40", "--hours", "10"]) == 0
    out = capsys.readouterr().out
    assert "| Lambda concurrency (all functions) |" in out and "Parameters to deploy with:" in out
    assert "First three limits at this peak" in out and "Cost:" in out


def test_the_docs_ceiling_table_is_the_planners() -> None:
    """docs/capacity.md's table of ceilings at the defaults is what the planner computes from
    the measured usage (recompute it with make capacity when either changes)."""
    doc = (ROOT / "docs" / "capacity.md").read_text()
    p = plan(Target(peak=1000, sustained=1000), capacity.load_usage(2), capacity.load_limits())
    for name, ceiling in p.ceilings.items():
        figure = "unbounded" if math.isinf(ceiling) else f"{ceiling:,.0f}"
        assert f"| {name} | {figure} |" in doc, (name, figure)
