"""1. Init: each function's imports in a fresh process, against ``import boto3, httpx``."""

from __future__ import annotations

from pathlib import Path

from .common import FUNCTIONS, REPEATS, function_env, median, ms, probe, row, target, without_bytecode

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
    row(SECTION, "baseline: import boto3, httpx", ms(baseline))
    # The default deployment (Tracing=Active: Lambda's own tracing, no SDK in the function).
    for logical_id, module in FUNCTIONS.items():
        value = timed(build_dir / logical_id, module, function_env(build_dir, None, logical_id))
        ratio = value / baseline
        row(SECTION, logical_id, f"{ms(value)} ({ratio:.2f}x)", target("<= 1.2x", ratio <= 1.2))

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
