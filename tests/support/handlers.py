"""Running a function's handler in-process, as a new container would, with the sample events in
events/ (the same files `sam local invoke -e` takes)."""

from __future__ import annotations

import importlib.util
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from tests.support.aws import Deployment
from tests.support.simulator import RunningSim

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events"


@dataclass
class Context:
    function_name: str = "unit"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:unit"
    aws_request_id: str = "req-1"

    def get_remaining_time_in_millis(self) -> int:
        return 15000


def load(function_dir: str, module: str) -> ModuleType:
    """Import a handler module fresh, as a new container would."""
    path = ROOT / "functions" / function_dir / f"{module}.py"
    spec = importlib.util.spec_from_file_location(f"unit_{module}", path)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


def event(name: str, *, token: str | None = None, body: dict[str, Any] | None = None) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EVENTS / name).read_text(encoding="utf-8"))
    if token is not None:
        data["headers"]["authorization"] = f"Bearer {token}"
    if body is not None:
        data["body"] = json.dumps(body, ensure_ascii=False)
    return data


def refresh(dep: Deployment) -> dict[str, Any]:
    handler = load("token_refresher", "refresher_handler").lambda_handler
    result: dict[str, Any] = handler(json.loads((EVENTS / "schedule.json").read_text()), Context())
    return result


def login(sim: RunningSim, openid: str) -> str:
    code = sim.login_code(openid)
    answer = load("session", "session_handler").lambda_handler(
        event("session.json", body={"code": code}), Context()
    )
    assert answer["statusCode"] == 200, answer
    return str(json.loads(answer["body"])["token"])
