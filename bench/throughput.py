"""6. The local stack's own throughput, and how much of an API request's time is the handler."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.support.people import ALICE
from tests.support.stack import RunningStack

from .common import row

SECTION = "6 local stack"


def run(stack: RunningStack, flows: int) -> None:
    aws = httpx.Client(base_url=stack.aws)
    aws.post("/_devstack/calls")
    latencies: list[float] = []

    def flow(i: int) -> None:
        openid = f"o-tp-{i}-{uuid.uuid4().hex[:6]}"
        started = time.perf_counter()
        token = stack.login(openid)
        latencies.append(time.perf_counter() - started)
        started = time.perf_counter()
        key = stack.key_of(token, ALICE)
        latencies.append(time.perf_counter() - started)
        stack.verify_on_phone(openid, key)
        started = time.perf_counter()
        assert stack.lookup(token, key).status_code == 200
        latencies.append(time.perf_counter() - started)

    started = time.monotonic()
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(flow, range(flows)))
    elapsed = time.monotonic() - started
    stats = aws.get("/_devstack/calls").json()["invocations"]
    handler_s = sum(f["handler_seconds"] for f in stats.values() if f["invocations"])
    rate = f"{3 * flows / elapsed:.1f} API requests/s ({flows / elapsed:.1f} flows/s)"
    row(SECTION, f"{flows} login→key→lookup flows, 2 clients", rate)
    share = handler_s / sum(latencies)
    row(
        SECTION,
        "share of API time inside the handlers",
        f"{share:.0%} (the rest: emulators, HTTP hops, process pipes)",
    )
