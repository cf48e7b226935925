"""7. A cold-start storm against SSM's limit: fresh keys containers take their first request at
the same moment, with SSM's rate scaled to the storm's size."""

from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.support.people import CAROL
from tests.support.stack import RunningStack, start_stack

from .common import ROOT, median, ms, p99, row, target

SECTION = "7 cold-start storm"
# AWS: 40 GetParameter(s) a second per account and region by default; 1,000 containers starting
# at once is Lambda's own burst (1,000 new concurrent executions per function every 10 s).
SSM_STANDARD_TPS = 40.0
SSM_HIGH_TPS = 3000.0  # with Parameter Store's higher throughput (GetParameter, GetParameters)
STORM_AT = 1000


def logged_in(stack: RunningStack, openid: str) -> str:
    """A session made before the storm; at the storm's SSM rate a cold session container's read
    can be throttled past its retries (503): wait, as a client told Retry-After would."""
    for _ in range(30):
        code = stack.sim_control("/sim/login", {"openid": openid})["code"]
        resp = stack.http.post("/v1/session", json={"code": code})
        if resp.status_code == 200:
            return str(resp.json()["token"])
        time.sleep(float(resp.headers.get("Retry-After", "1")))
    raise RuntimeError(f"no session for the storm: {resp.text}")


def run(build_dir: Path, python: str, containers: int, ssm_tps: float, label: str) -> None:
    """SSM limited to ``ssm_tps`` x containers / 1,000: the ratio of 1,000 containers against
    AWS's limit."""
    scaled = ssm_tps * containers / STORM_AT
    stack = start_stack(
        2,
        ROOT / ".aws-sam" / "bench-storm.log",
        {"DEVSTACK_MAX_WORKERS": str(containers)},
        "--template",
        str(build_dir / "template.yaml"),
        "--runtime-python",
        python,
        "--ssm-tps",
        f"{scaled:.3f}",
        "--parameter-overrides",
        "SessionLimitPerAddressPerHour=1000000",
    )
    try:
        tokens = [logged_in(stack, f"o-storm-{i}-{uuid.uuid4().hex[:6]}") for i in range(containers)]
        # One key before the storm: a running stack's keys exist (the first issuance creates the
        # sealing key; a brand-new stack's first storm would also pay that creation).
        warm_token = logged_in(stack, f"o-storm-first-{uuid.uuid4().hex[:6]}")
        for _ in range(30):
            answer = stack.issue_key(warm_token, CAROL)
            if answer.status_code == 200:
                break
            time.sleep(float(answer.headers.get("Retry-After", "1")))  # SSM at the storm's rate
        else:
            raise RuntimeError(f"no key before the storm: {answer.text}")
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
    row(
        SECTION,
        f"{label}: {containers} fresh keys containers ({cold} cold starts), SSM at {scaled:.2f}/s "
        f"(= {ssm_tps:g}/s at {STORM_AT} containers)",
        f"{failed} failed; first request p99 {ms(p99(latencies))}, median {ms(median(latencies))}; "
        f"SSM {sum(ssm.values())} served, {calls['throttled']} throttled",
        target("0 failed", failed == 0),
    )
