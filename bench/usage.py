"""What one verification uses, measured on a running local stack, and kept in bench/usage.json:
the capacity planner's input (tools/capacity.py multiplies it; nothing there is typed twice).

A verification here is what the shipped mini-program does: ``POST /v1/session``, ``POST
/v1/face/keys``, the face check on the phone, ``POST /v1/face/results`` and the repeat of it the
page makes (two requests on the results route). Measured on warm containers, by a fresh user
each time (so the user's own items are new, as at a campaign), the median of a few runs:
DynamoDB request units as DynamoDB bills them (the local endpoint works them out from the real
item sizes), and by partition kind (the items many users share: ``OUTBOX``, ``PENDING``, the
quota counters ``RATE#quota``), DynamoDB, WeChat, SSM and EventBridge calls, and each handler's
time here.

``python -m bench.usage`` measures both face API versions and rewrites bench/usage.json;
``make bench`` does too; tests/integration/test_capacity_model.py measures again and checks the
file still says what the stack does.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from tests.support.people import ALICE
from tests.support.stack import RunningStack, start_stack

USAGE = Path(__file__).resolve().parent / "usage.json"
RUNS = 5
REQUESTS = {"POST /v1/session": 1, "POST /v1/face/keys": 1, "POST /v1/face/results": 2}
# Partition keys many users' verifications share, by kind (the rest is each user's own items).
SHARED = ("OUTBOX#", "PENDING#", "RATE#quota#")
FUNCTIONS = {"session": "SessionFunction", "keys": "FaceKeysFunction", "results": "FaceResultsFunction"}


def kind_of(partition: str) -> str | None:
    for prefix in SHARED:
        if partition.startswith(prefix):
            return prefix.rstrip("#")
    return None


def one(stack: RunningStack) -> dict[str, Any]:
    """One verification by a new user, and what it used."""
    stack.aws_control("POST", "/_devstack/calls")
    stack.sim_control("/sim/reset")
    openid = f"o-usage-{uuid.uuid4().hex[:10]}"
    token = stack.login(openid)
    key = stack.key_of(token, ALICE)
    ref = stack.verify_on_phone(openid, key)
    first = stack.lookup(token, ref)
    again = stack.lookup(token, ref)
    assert first.status_code == 200 and again.status_code == 200, (first.text, again.text)
    time.sleep(0.2)  # the last calls' accounting
    snap = stack.aws_control("GET", "/_devstack/calls")
    capacity = snap["dynamodb_capacity"]
    shared: dict[str, float] = {}
    for p in capacity["hot_partitions"]:
        kind = kind_of(p["partition"])
        if kind in ("OUTBOX", "PENDING"):  # (the quota counters: a write a block of calls, modelled)
            shared[kind] = shared.get(kind, 0.0) + p["write_units"]
    wechat = {k: v for k, v in stack.calls().items() if k.startswith(("/cityservice", "/sns"))}
    invocations = snap["invocations"]
    return {
        "write_units": capacity["write_units"],
        "read_units": capacity["read_units"],
        "shared_write_units": shared,
        "dynamodb_calls": sum(snap["by_service"].get("dynamodb", {}).values()),
        "ssm_calls": sum(snap["by_service"].get("ssm", {}).values()),
        "put_events": snap["by_service"].get("events", {}).get("PutEvents", 0),
        "wechat_calls": wechat,
        "handler_ms": {
            name: 1000 * invocations[fn]["handler_seconds"] / max(1, invocations[fn]["invocations"])
            for name, fn in FUNCTIONS.items()
            if fn in invocations
        },
    }


def median(runs: list[dict[str, Any]]) -> dict[str, Any]:
    def mid(values: list[float]) -> float:
        return round(statistics.median(values), 2)

    kinds = sorted({k for r in runs for k in r["shared_write_units"]})
    return {
        "requests": REQUESTS,
        "write_units": mid([r["write_units"] for r in runs]),
        "read_units": mid([r["read_units"] for r in runs]),
        "shared_write_units": {k: mid([r["shared_write_units"].get(k, 0.0) for r in runs]) for k in kinds},
        "dynamodb_calls": mid([r["dynamodb_calls"] for r in runs]),
        "ssm_calls": mid([r["ssm_calls"] for r in runs]),
        "put_events": mid([r["put_events"] for r in runs]),
        "wechat_calls": runs[-1]["wechat_calls"],
        "handler_ms": {k: mid([r["handler_ms"].get(k, 0.0) for r in runs]) for k in FUNCTIONS},
    }


def measure(stack: RunningStack, runs: int = RUNS) -> dict[str, Any]:
    one(stack)  # warms every container on the path
    return median([one(stack) for _ in range(runs)])


def load(version: int) -> dict[str, Any]:
    """The recorded figures of face API ``version``."""
    figures: dict[str, Any] = json.loads(USAGE.read_text())["face_api"][str(version)]
    return figures


def abandoned(stack: RunningStack, n: int, tag: str) -> None:
    """``n`` 2.0 face checks done on the phone and never looked up (the app was closed)."""
    for i in range(n):
        openid = f"o-{tag}-{uuid.uuid4().hex[:8]}-{i}"
        token = stack.login(openid)
        stack.verify_on_phone(openid, stack.key_of(token, ALICE))


def measure_sweep(stack: RunningStack, n: int = 30) -> dict[str, float]:
    """The 2.0 sweep's CPU time per lookup (every thread of its run), on a stack whose sweep looks
    at once (ResultSweepAfterSeconds=0): what its memory size's CPU share must carry."""
    abandoned(stack, 5, "sweep-warm")
    stack.aws_control("POST", "/_devstack/schedules", {"functions": ["result-sweeper"]})  # warm
    abandoned(stack, n, "sweep")
    stack.aws_control("POST", "/_devstack/calls")
    ran = stack.aws_control("POST", "/_devstack/schedules", {"functions": ["result-sweeper"]})
    stored = sum(v.get("stored", 0) for v in ran.values())
    assert stored == n, ran
    stats = stack.aws_control("GET", "/_devstack/calls")["invocations"]["ResultSweeperFunction"]
    return {
        "cpu_ms_per_lookup": round(1000 * stats["handler_cpu_seconds"] / n, 2),
        "wall_ms_per_lookup_here": round(1000 * stats["handler_seconds"] / n, 2),
    }


def write(by_version: dict[int, dict[str, Any]]) -> None:
    known: dict[str, Any] = json.loads(USAGE.read_text()) if USAGE.exists() else {}
    versions = dict(known.get("face_api", {}))
    for version, figures in by_version.items():
        versions[str(version)] = {"measured": time.strftime("%Y-%m-%d"), **figures}
    known = {"about": (__doc__ or "").strip().splitlines()[0], "face_api": versions}
    USAGE.write_text(json.dumps(known, indent=2, sort_keys=True) + "\n")


def main() -> int:
    figures = {}
    for version in (1, 2):
        with tempfile.TemporaryDirectory() as tmp:
            overrides = ["ResultSweepAfterSeconds=0", "SessionLimitPerAddressPerHour=1000"]
            stack = start_stack(version, Path(tmp) / "stack.log", None, "--parameter-overrides", *overrides)
            try:
                figures[version] = measure(stack)
                if version == 2:
                    figures[version]["sweep"] = measure_sweep(stack)
            finally:
                stack.stop()
        print(f"face API {version}: {json.dumps(figures[version])}")
    write(figures)
    print(f"written: {USAGE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
