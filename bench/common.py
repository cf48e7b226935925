"""What the sections share: the rows of the report, statistics, the build, a function's
environment as the template gives it, events, and fresh processes running a probe."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from devstack.template import load
from tests.support.tools import runtime_python, tools_bin

if TYPE_CHECKING:
    from tests.support.stack import RunningStack

ROOT = Path(__file__).resolve().parents[1]
PROBES = Path(__file__).resolve().parent / "probes"
REPEATS = int(os.environ.get("BENCH_REPEATS", "7"))
CREDENTIALS = ROOT / ".aws-sam" / "bench-credentials.json"
# What Lambda sets in a function with Tracing=Active (the template's default): the functions load
# no tracing SDK, so this must cost nothing at init (docs/benchmarks.md).
ACTIVE_TRACING = {
    "_X_AMZN_TRACE_ID": "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
    "AWS_XRAY_DAEMON_ADDRESS": "169.254.79.129:2000",
    "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
}
FUNCTIONS = {
    "TokenRefresherFunction": "refresher_handler",
    "SessionFunction": "session_handler",
    "FaceKeysFunction": "keys_handler",
    "FaceResultsFunction": "results_handler",
    "KeyRotatorFunction": "rotator_handler",
    "EventEmitterFunction": "emitter_handler",
    "ResultSweeperFunction": "sweeper_handler",
}


@dataclass(frozen=True)
class Row:
    section: str
    measure: str
    value: str
    target: str = ""


rows: list[Row] = []


def row(section: str, measure: str, value: str, target: str = "") -> None:
    rows.append(Row(section, measure, value, target))


def median(xs: list[float]) -> float:
    return statistics.median(xs)


def p99(xs: list[float]) -> float:
    ordered = sorted(xs)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def ms(x: float) -> str:
    return f"{x * 1000:.1f} ms"


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def target(limit: str, ok: bool) -> str:
    return f"{limit}: {verdict(ok)}"


# --- the build ------------------------------------------------------------------------------


def build(source: Path = ROOT, build_dir: Path = ROOT / ".aws-sam" / "bench-build") -> tuple[Path, str]:
    """``sam build`` of ``source`` (this tree by default) for this machine's architecture,
    bytecode compiled as ``make build`` does; answers the build directory and the runtime's
    Python."""
    python = runtime_python("3.13")
    if python is None:
        sys.exit("make bench needs python3.13 (the Lambda runtime's Python) on PATH or through pyenv")
    arch = "arm64" if platform.machine() in ("aarch64", "arm64") else "x86_64"
    env = {
        **os.environ,
        "PATH": f"{Path(python).parent}{os.pathsep}{os.environ['PATH']}",
        "SAM_CLI_TELEMETRY": "0",
    }
    sam = [tools_bin("sam"), "build", "--build-dir", str(build_dir), "--cached"]
    sam += ["--cache-dir", str(ROOT / ".aws-sam" / "cache"), "--region", "us-east-1"]
    sam += ["--parameter-overrides", f"Architecture={arch}"]
    subprocess.run(sam, cwd=source, env=env, check=True, capture_output=True)
    # As `make build` does: ship bytecode, since Lambda cannot write it (read-only /opt, /var/task).
    compile_all = [python, "-m", "compileall", "-q", "--invalidation-mode", "unchecked-hash", str(build_dir)]
    subprocess.run(compile_all, check=True, capture_output=True)
    return build_dir, python


def without_bytecode(build_dir: Path) -> Path:
    """A copy of the build without .pyc files: what a cold start compiles when none are shipped."""
    copy = ROOT / ".aws-sam" / "bench-build-nopyc"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(build_dir, copy, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return copy


def function_env(build_dir: Path, stack: RunningStack | None, logical_id: str) -> dict[str, str]:
    """The function's environment as the template gives it, with its role's credentials as the
    local stack issued them (the endpoint enforces IAM); without a stack, nothing reachable."""
    overrides = {"WeChatAppId": "wx0000000000000001", "FaceApiVersion": "2", "WeChatFallbackBaseUrl": "none"}
    if stack is not None:
        overrides["WeChatBaseUrl"] = stack.sim
    template = load(build_dir / "template.yaml", stack_name="wechat-face-local", overrides=overrides)
    fn = template.functions[logical_id]
    credentials = (
        json.loads(CREDENTIALS.read_text())[logical_id]
        if stack
        else {"AWS_ACCESS_KEY_ID": "none", "AWS_SECRET_ACCESS_KEY": "none"}
    )
    return {
        "PATH": os.environ["PATH"],
        **fn.environment,
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        **credentials,
        "AWS_ENDPOINT_URL": stack.aws if stack else "http://127.0.0.1:9",
        "AWS_LAMBDA_FUNCTION_NAME": fn.name,
        **ACTIVE_TRACING,
    }


def event(name: str, token: str | None = None, body: dict[str, Any] | None = None) -> dict[str, Any]:
    """One of ``events/`` with a session token and a body of the bench's own."""
    data: dict[str, Any] = json.loads((ROOT / "events" / name).read_text())
    if token:
        data["headers"]["authorization"] = f"Bearer {token}"
    if body is not None:
        data["body"] = json.dumps(body, ensure_ascii=False)
    return data


def import_self_times(python: str, args: list[str], env: dict[str, str]) -> dict[str, float]:
    """``python -X importtime`` of a fresh process running the import probe: milliseconds spent in
    each top-level package's own modules (self time, so nothing is counted twice)."""
    totals: dict[str, float] = {}
    for line in _fresh(python, ["-X", "importtime"], "import_time", args, env).stderr.splitlines():
        if not line.startswith("import time:") or line.count("|") != 2 or "cumulative" in line:
            continue
        own, _, name = line[len("import time:") :].split("|")
        package = name.strip().split(".")[0]
        totals[package] = totals.get(package, 0.0) + int(own) / 1000
    return totals


def import_breakdown(function: dict[str, float], baseline: dict[str, float], top: int = 6) -> str:
    """The packages a function's init spends more time in than the baseline's, largest first."""
    extra = {k: v - baseline.get(k, 0.0) for k, v in function.items()}
    ranked = sorted(((v, k) for k, v in extra.items() if v >= 1.0), reverse=True)
    return ", ".join(f"{name} +{value:.0f} ms" for value, name in ranked[:top])


def probe(python: str, name: str, args: list[str], env: dict[str, str], stdin: Any = None) -> dict[str, Any]:
    """Run ``bench/probes/<name>.py`` in a fresh, isolated process (a new container); answers the
    JSON object its last line prints."""
    out = _fresh(python, [], name, args, env, stdin)
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def probe_at_share(
    python: str, name: str, args: list[str], env: dict[str, str], share: float, stdin: Any = None
) -> dict[str, Any]:
    """:func:`probe` with the process held to ``share`` of one CPU, as Lambda holds a function to
    a share of a vCPU in proportion to its memory: stopped and continued (SIGSTOP / SIGCONT) in
    10 ms periods. What it calls over the network (the local stack, the simulator) runs at full
    speed, as AWS's services and WeChat do."""
    proc = subprocess.Popen(
        [python, "-I", "-S", "-B", str(PROBES / f"{name}.py"), *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )
    talked: dict[str, str] = {}

    def talk() -> None:
        talked["out"], talked["err"] = proc.communicate(
            None if stdin is None else json.dumps(stdin, ensure_ascii=False)
        )

    talker = threading.Thread(target=talk)
    talker.start()
    period = 0.01
    with contextlib.suppress(ProcessLookupError):
        while talker.is_alive() and share < 1.0:
            time.sleep(period * share)
            os.kill(proc.pid, signal.SIGSTOP)
            time.sleep(period * (1.0 - share))
            os.kill(proc.pid, signal.SIGCONT)
    talker.join()
    if proc.returncode:
        raise RuntimeError(f"a fresh process ({name}) failed:\n{talked.get('err', '')[-3000:]}")
    result: dict[str, Any] = json.loads(talked["out"].strip().splitlines()[-1])
    return result


def _fresh(
    python: str, options: list[str], name: str, args: list[str], env: dict[str, str], stdin: Any = None
) -> subprocess.CompletedProcess[str]:
    """``bench/probes/<name>.py`` in a fresh, isolated process (``-I -S -B``, plus ``options``)."""
    out = subprocess.run(
        [python, "-I", "-S", "-B", *options, str(PROBES / f"{name}.py"), *args],
        input=None if stdin is None else json.dumps(stdin, ensure_ascii=False),
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode:
        raise RuntimeError(f"a fresh process ({name}) failed:\n{out.stderr[-3000:]}")
    return out
