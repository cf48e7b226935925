"""1. Init: each function's imports in a fresh process, against ``import boto3, httpx``."""

from __future__ import annotations

import os
from pathlib import Path

from wxface.observability import SPANS_ENV

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
API_FUNCTIONS = ("SessionFunction", "FaceKeysFunction", "FaceResultsFunction")
# What any API function built on this project's libraries imports before a line of its own code:
# the baseline's boto3 and httpx, msgspec, Powertools' Logger and Metrics (Parameters is imported
# on the first request, so it is not counted here).
FLOOR = "boto3,httpx,msgspec,aws_lambda_powertools.logging,aws_lambda_powertools.metrics"
# A function imports boto3 on its first request (its clients are made then): init is counted as
# the handler module and boto3, which is what the first request has imported before its first
# call. Targets: the API functions within 1.3x of `import boto3, httpx`, the scheduled ones 1.2x.
TARGETS = dict.fromkeys(API_FUNCTIONS, 1.3)


def run(build_dir: Path, python: str) -> dict[str, float]:
    """The rows; answers each function's median init in seconds (the cost model bills it)."""
    layer = str(build_dir / "WeChatLayer" / "python")

    def timed(code_dir: Path | str, modules: str, env: dict[str, str], layer: str = layer) -> float:
        runs = [
            probe(python, "import_time", [str(code_dir), layer, modules], env)["s"] for _ in range(REPEATS)
        ]
        return median(runs)

    base_env = function_env(build_dir, None, "FaceKeysFunction")

    def once(code_dir: Path | str, modules: str, env: dict[str, str], layer: str = layer) -> float:
        seconds: float = probe(python, "import_time", [str(code_dir), layer, modules], env)["s"]
        return seconds

    # Interleaved: each round measures the baseline, then every function, so that a drift of this
    # machine's speed during the run (it is shared) moves both sides of each ratio alike; a
    # function's ratio is the median of its rounds' ratios.
    envs = {logical_id: function_env(build_dir, None, logical_id) for logical_id in FUNCTIONS}
    base_runs: list[float] = []
    floor_runs: list[float] = []
    runs: dict[str, list[float]] = {logical_id: [] for logical_id in FUNCTIONS}
    ratios: dict[str, list[float]] = {logical_id: [] for logical_id in FUNCTIONS}
    over_floor: dict[str, list[float]] = {logical_id: [] for logical_id in API_FUNCTIONS}
    for _ in range(REPEATS):
        base = once(layer, "boto3,httpx", base_env)
        base_runs.append(base)
        floor = once(layer, FLOOR, base_env)
        floor_runs.append(floor)
        for logical_id, module in FUNCTIONS.items():
            value = once(build_dir / logical_id, f"{module},boto3", envs[logical_id])
            runs[logical_id].append(value)
            ratios[logical_id].append(value / base)
            if logical_id in over_floor:
                over_floor[logical_id].append(value / floor)
    baseline_times = import_self_times(python, [layer, layer, "boto3,httpx"], base_env)
    row(SECTION, "baseline: import boto3, httpx", ms(median(base_runs)))
    # The default deployment (Tracing=Active: Lambda's own tracing, no SDK in the function).
    for logical_id, module in FUNCTIONS.items():
        ratio, bound = median(ratios[logical_id]), TARGETS.get(logical_id, 1.2)
        row(
            SECTION,
            f"{logical_id} (its handler module and boto3)",
            f"{ms(median(runs[logical_id]))} ({ratio:.2f}x)",
            target(f"<= {bound}x", ratio <= bound),
        )
        if ratio > bound:  # where the rest goes, measured (docs/benchmarks.md: what was tried)
            own = import_self_times(python, [str(build_dir / logical_id), layer, module], envs[logical_id])
            measure = f"{logical_id}: beyond the baseline (python -X importtime, self time)"
            row(SECTION, measure, import_breakdown(own, baseline_times))
    # How much of the API functions' init is the libraries and how much is this project's code.
    floor_ratio = median([floor / base for floor, base in zip(floor_runs, base_runs, strict=True)])
    row(
        SECTION,
        "floor: the libraries alone (boto3, httpx, msgspec, Powertools' Logger and Metrics), none of "
        "this project's code",
        f"{ms(median(floor_runs))} ({floor_ratio:.2f}x the baseline)",
    )
    row(
        SECTION,
        "the API functions against that floor (what their own code adds)",
        ", ".join(f"{logical_id} {median(over_floor[logical_id]):.2f}x" for logical_id in API_FUNCTIONS),
    )

    # What switching the spans on costs at init (Spans=otlp: the second layer, imported at once;
    # sam build always builds it, the condition only decides whether a deployment attaches it).
    keys_env = envs["FaceKeysFunction"]
    spans_env = {
        **keys_env,
        SPANS_ENV: "otlp",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:9/v1/traces",
    }
    both_layers = f"{layer}{os.pathsep}{build_dir / 'SpansLayer' / 'python'}"
    on, off = [], []
    for _ in range(REPEATS):
        on.append(once(build_dir / "FaceKeysFunction", "keys_handler", spans_env, both_layers))
        off.append(once(build_dir / "FaceKeysFunction", "keys_handler", keys_env))
    row(
        SECTION,
        "FaceKeysFunction with Spans=otlp (the opt-in: OpenTelemetry's SDK and OTLP exporter at init)",
        f"{ms(median(on))}, {ms(median(on) - median(off))} more than the default",
    )

    # What shipping bytecode buys: the same imports from a copy of the build without .pyc files.
    plain = without_bytecode(build_dir)
    env = function_env(build_dir, None, "FaceKeysFunction")
    plain_layer = str(plain / "WeChatLayer" / "python")
    plain_base = timed(plain_layer, "boto3,httpx", env, plain_layer)
    plain_keys = timed(plain / "FaceKeysFunction", "keys_handler,boto3", env, plain_layer)
    row(
        SECTION,
        "without shipped bytecode: FaceKeysFunction vs baseline",
        f"{ms(plain_keys)} vs {ms(plain_base)} ({plain_keys / plain_base:.2f}x)",
    )
    return {logical_id: median(runs[logical_id]) for logical_id in FUNCTIONS}
