"""1. Init: each function's imports in a fresh process, against ``import boto3, httpx``."""

from __future__ import annotations

from pathlib import Path

from .common import (
    FUNCTIONS,
    REPEATS,
    function_env,
    import_breakdown,
    import_self_times,
    median,
    ms,
    probe,
    row,
    target,
    without_bytecode,
)

SECTION = "1 init"


def run(build_dir: Path, python: str) -> None:
    layer = str(build_dir / "WeChatLayer" / "python")

    def timed(code_dir: Path | str, modules: str, env: dict[str, str], layer: str = layer) -> float:
        runs = [
            probe(python, "import_time", [str(code_dir), layer, modules], env)["s"] for _ in range(REPEATS)
        ]
        return median(runs)

    env = function_env(build_dir, None, "FaceKeysFunction")
    baseline = timed(layer, "boto3,httpx", env)
    baseline_times = import_self_times(python, [layer, layer, "boto3,httpx"], env)
    row(SECTION, "baseline: import boto3, httpx", ms(baseline))
    # The default deployment (Tracing=Active: Lambda's own tracing, no SDK in the function).
    for logical_id, module in FUNCTIONS.items():
        env = function_env(build_dir, None, logical_id)
        value = timed(build_dir / logical_id, module, env)
        ratio = value / baseline
        row(SECTION, logical_id, f"{ms(value)} ({ratio:.2f}x)", target("<= 1.2x", ratio <= 1.2))
        if ratio > 1.2:  # where the rest goes, measured (docs/benchmarks.md: what was tried)
            own = import_self_times(python, [str(build_dir / logical_id), layer, module], env)
            measure = f"{logical_id}: beyond the baseline (python -X importtime, self time)"
            row(SECTION, measure, import_breakdown(own, baseline_times))

    # What shipping bytecode buys: the same imports from a copy of the build without .pyc files.
    plain = without_bytecode(build_dir)
    env = function_env(build_dir, None, "FaceKeysFunction")
    plain_layer = str(plain / "WeChatLayer" / "python")
    plain_base = timed(plain_layer, "boto3,httpx", env, plain_layer)
    plain_keys = timed(plain / "FaceKeysFunction", "keys_handler", env, plain_layer)
    row(
        SECTION,
        "without shipped bytecode: FaceKeysFunction vs baseline",
        f"{ms(plain_keys)} vs {ms(plain_base)} ({plain_keys / plain_base:.2f}x)",
    )
