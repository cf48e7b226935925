"""2. First request: a fresh container's import and first answer, against a fresh process that
makes the same SSM read and WeChat call with plain boto3 and httpx (and, in a second baseline,
the route's own DynamoDB calls too)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.people import ALICE, CAROL
from tests.support.stack import RunningStack

from .common import REPEATS, event, function_env, median, ms, probe, row, target

SECTION = "2 first request"
TOKEN_PARAM = "/wechat-face-local/access-token"


@dataclass(frozen=True)
class Case:
    logical_id: str
    module: str
    make_event: Callable[[], dict[str, Any]]
    make_job: Callable[[], dict[str, Any]]
    same_io: int  # the DynamoDB calls the route makes on a first request
    io: str  # which they are


def run(build_dir: Path, python: str, stack: RunningStack) -> None:
    layer = str(build_dir / "WeChatLayer" / "python")
    table = stack.aws_client("dynamodb").list_tables()["TableNames"][0]
    for case in cases(stack, table):
        env = function_env(build_dir, stack, case.logical_id)
        handler, baseline, full, ratios, imports = [], [], [], [], []
        floor, over_floor = [], []

        def same_calls(case: Case = case) -> dict[str, Any]:
            """The route's own calls, with a fresh job each time (login codes are single-use)."""
            return {**case.make_job(), "table": table, "writes": case.same_io}

        for _ in range(REPEATS):
            code = [str(build_dir / case.logical_id), layer, case.module]
            answer = probe(python, "first_request", code, env, case.make_event())
            assert answer["status"] == 200, answer
            handler.append(answer["s"])
            baseline.append(
                probe(python, "baseline_first_request", [layer, layer], env, case.make_job())["s"]
            )
            full.append(probe(python, "baseline_first_request", [layer, layer], env, same_calls())["s"])
            ratios.append(handler[-1] / full[-1])
            # The same calls from inside the libraries alone (the floor any function on them has).
            lib = probe(python, "floor_first_request", [layer, layer], env, same_calls())
            assert lib["status"] == 200, lib
            floor.append(lib["s"])
            over_floor.append(handler[-1] / floor[-1])
            # How much of the difference is imports: the handler's and the baseline's, this round.
            # The handler module and boto3 (which the route imports on first use), as in section 1.
            modules = f"{case.module},boto3"
            own = probe(python, "import_time", [str(build_dir / case.logical_id), layer, modules], env)["s"]
            imports.append(own - probe(python, "import_time", [layer, layer, "boto3,httpx"], env)["s"])
        row(
            SECTION,
            f"{case.logical_id} vs a baseline with only the SSM read and the WeChat call",
            f"{ms(median(handler))} vs {ms(median(baseline))} ({median(handler) / median(baseline):.2f}x)",
        )
        # The target: against a baseline making the same AWS and WeChat calls (issue 15), the
        # median of each round's ratio (the rounds interleave both sides).
        ratio = median(ratios)
        row(
            SECTION,
            f"{case.logical_id} vs a baseline with the same calls ({case.io})",
            f"{ms(median(handler))} vs {ms(median(full))} ({ratio:.2f}x)",
            target("<= 1.3x", ratio <= 1.3),
        )
        row(
            SECTION,
            f"{case.logical_id} vs the same calls made from the libraries alone (a route by routeKey "
            "with a msgspec body and answer, Logger, Metrics; none of this project's code)",
            f"{ms(median(handler))} vs {ms(median(floor))} ({median(over_floor):.2f}x; the floor is "
            f"{median(floor) / median(full):.2f}x the baseline)",
        )
        if ratio > 1.3:
            extra, imported = median(handler) - median(full), median(imports)
            libraries = max(median(floor) - median(full), 0.0)
            row(
                SECTION,
                f"{case.logical_id}: where the time over that baseline goes",
                f"{ms(extra)} in all: imports {ms(imported)} (section 1 names the packages), "
                f"first use and the route's own code {ms(extra - imported)}; of the {ms(extra)}, "
                f"the libraries' floor {ms(libraries)}, this project's code {ms(extra - libraries)}",
            )


def cases(stack: RunningStack, table: str) -> list[Case]:
    """The session route's baseline writes nothing (its one write is a counter); the keys and
    results baselines write once, as the route's own record."""
    sim = stack.sim
    ssm = stack.aws_client("ssm")

    def access_token() -> str:
        value = ssm.get_parameter(Name=TOKEN_PARAM, WithDecryption=True)["Parameter"]["Value"]
        return str(json.loads(value)["access_token"])

    def login_code() -> str:
        return str(stack.sim_control("/sim/login", {"openid": "o-b"})["code"])

    def session_job() -> dict[str, Any]:
        params = {
            "appid": "wx0000000000000001",
            "secret": "sim-app-secret",
            "js_code": login_code(),
            "grant_type": "authorization_code",
        }
        return {
            "param": "/wechat-face/app-secret",
            "method": "GET",
            "url": f"{sim}/sns/jscode2session",
            "params": params,
        }

    def key_job() -> dict[str, Any]:
        cert_info = {"cert_type": "IDENTITY_CARD", "cert_name": CAROL[0], "cert_no": CAROL[1]}
        return {
            "param": TOKEN_PARAM,
            "method": "POST",
            "table": table,
            "url": f"{sim}/cityservice/face/identify/getverifyid?access_token={access_token()}",
            "json": {"out_seq_no": uuid.uuid4().hex, "openid": "o-b", "cert_info": cert_info},
        }

    def lookup_event() -> dict[str, Any]:
        openid = f"o-{uuid.uuid4().hex[:8]}"
        token = stack.login(openid)
        key = stack.key_of(token, ALICE)
        stack.verify_on_phone(openid, key)
        return event("face_results_v2.json", token=token, body={"verify_id": key})

    def lookup_job() -> dict[str, Any]:
        from tests.support.simulator import SimTokens
        from tests.support.wechat import ClientConfig, wechat_calls
        from wxface.identity import CERT_TYPE_IDENTITY_CARD, cert_hash

        client = wechat_calls(ClientConfig.of(base_url=sim, fallback_base_url=None), tokens=SimTokens(sim))
        issued = client.get_verify_id(*CAROL, "o-base")
        stack.sim_control("/sim/verify", {"openid": "o-base", "verify_id": issued.verify_id})
        body = {
            "verify_id": issued.verify_id,
            "out_seq_no": issued.out_seq_no,
            "openid": "o-base",
            "cert_hash": cert_hash(CERT_TYPE_IDENTITY_CARD, *CAROL),
        }
        url = f"{sim}/cityservice/face/identify/queryverifyinfo?access_token={access_token()}"
        return {"param": TOKEN_PARAM, "method": "POST", "table": table, "url": url, "json": body}

    return [
        Case(
            "SessionFunction",
            "session_handler",
            lambda: event("session.json", body={"code": login_code()}),
            session_job,
            2,
            "per-address counter, quota reservation",
        ),
        Case(
            "FaceKeysFunction",
            "keys_handler",
            lambda: event("face_keys.json", token=stack.login(f"o-{uuid.uuid4().hex[:8]}")),
            key_job,
            4,
            "the user's item, hourly and daily quota reservations, key transaction",
        ),
        Case(
            "FaceResultsFunction",
            "results_handler",
            lookup_event,
            lookup_job,
            5,
            "the user's item, result and key read, hourly and daily quota reservations, result transaction",
        ),
    ]
