"""5. The shared access token under load: containers issue keys while WeChat rotates the token
(three natural rotations, one forced retirement); no request may fail, and each rotation may cost
at most one fetch."""

from __future__ import annotations

import json
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.support.people import CAROL
from tests.support.stack import RunningStack

from .common import row, target

SECTION = "5 token under load"
NATURAL_ROTATIONS = 3


def run(stack: RunningStack, containers: int, requests: int) -> None:
    aws = httpx.Client(base_url=stack.aws)
    lam = stack.aws_client("lambda")
    tokens = [stack.login(f"o-load-{i}-{uuid.uuid4().hex[:6]}") for i in range(requests)]
    with ThreadPoolExecutor(containers) as pool:  # warm `containers` containers
        list(pool.map(lambda t: stack.issue_key(t, CAROL).status_code, tokens[:containers]))
    aws.post("/_devstack/calls")
    stack.sim_control("/sim/reset")
    statuses: list[int] = []
    stop = threading.Event()
    fetches: dict[str, list[int]] = {"natural": [], "forced": []}

    def tick() -> int:
        """The refresher's scheduled run; answers the current token's remaining lifetime."""
        answer = lam.invoke(FunctionName="wechat-face-local-token-refresher", Payload=b"{}")
        return int(json.loads(answer["Payload"].read())["expires_in"])

    def invokes() -> int:
        return int(aws.get("/_devstack/calls").json()["by_service"].get("lambda", {}).get("Invoke", 0))

    def rotate() -> None:
        for _ in range(NATURAL_ROTATIONS):
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
    row(
        SECTION,
        f"{containers} containers, {len(statuses)} requests, {NATURAL_ROTATIONS} natural + 1 forced rotation",
        f"{failed} failed",
        target("0 failed", failed == 0),
    )
    row(
        SECTION,
        "token fetches per natural rotation (max)",
        str(per_rotation),
        target("<= 1", per_rotation <= 1),
    )
    forced = fetches["forced"][0]
    row(SECTION, "token fetches for the forced retirement", str(forced), target("<= 2", forced <= 2))
    row(
        SECTION,
        "SSM reads per container during the run",
        f"{ssm_reads / containers:.1f} in {elapsed:.0f} s, 4 token lifetimes compressed: one per rotation "
        "and per key read",
    )
    from wxface.domain.stack_keys import KEY_CACHE_S
    from wxface.settings import Settings

    token_cache = Settings.from_env({"PARAM_PATH": "/x"}).token_cache_s
    # The token and the keys are read together, in one GetParameters, when the first expires.
    steady = 3600 / min(token_cache, KEY_CACHE_S)
    row(
        SECTION,
        "SSM reads per warm container per hour, steady state",
        f"{steady:.0f} (token and keys read together in one GetParameters, every "
        f"{min(token_cache, KEY_CACHE_S)} s)",
    )
