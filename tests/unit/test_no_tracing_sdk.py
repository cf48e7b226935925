"""No function loads a tracing SDK, whatever the template's Tracing says: Powertools' Tracer
imports the AWS X-Ray SDK (about 200 ms of every cold start, and unsupported from 2027-02-25).
Lambda's own X-Ray integration traces each invocation without code in the function."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HANDLERS = {
    "token_refresher": "refresher_handler",
    "key_rotator": "rotator_handler",
    "session": "session_handler",
    "face_keys": "keys_handler",
    "face_results": "results_handler",
    "face_orders": "orders_handler",
    "event_emitter": "emitter_handler",
    "result_sweeper": "sweeper_handler",
}
PROBE = """
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("handler", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in ("aws_xray_sdk", "opentelemetry"))))
"""


@pytest.mark.parametrize("function_dir", sorted(HANDLERS))
def test_no_function_imports_a_tracing_sdk_with_active_tracing(function_dir: str) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            [str(ROOT / "layers" / "wechat"), str(ROOT / "functions" / function_dir)]
        ),
        # As Lambda sets them for a function with Tracing: Active.
        "_X_AMZN_TRACE_ID": "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
        "AWS_XRAY_DAEMON_ADDRESS": "169.254.79.129:2000",
        "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
        "POWERTOOLS_METRICS_NAMESPACE": "test",
        "PARAM_PATH": "/test",
    }
    env.pop("POWERTOOLS_TRACE_DISABLED", None)
    handler = ROOT / "functions" / function_dir / f"{HANDLERS[function_dir]}.py"
    out = subprocess.run(
        [sys.executable, "-c", PROBE, str(handler)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


def test_every_function_is_checked() -> None:
    assert {p.name for p in (ROOT / "functions").iterdir() if p.is_dir()} == set(HANDLERS)
