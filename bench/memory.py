"""8. Memory size: a keys container's first request at Lambda's CPU share of each memory size.

Lambda gives a function CPU in proportion to its memory: the equivalent of one vCPU at 1,769 MB
(AWS's Lambda documentation, "Memory and computing power"). Each size is emulated by holding the
fresh process to memory / 1,769 of one of this machine's cores (SIGSTOP / SIGCONT in 10 ms
periods); the local stack and the simulator it calls run at full speed, as AWS and WeChat do.
"""

from __future__ import annotations

from pathlib import Path

from tests.support.stack import RunningStack

from .common import function_env, median, ms, probe_at_share, row, target
from .first_request import cases

SECTION = "8 memory size"
FULL_VCPU_MB = 1769
SIZES = (512, 768, 1024, 1280, 1769)
ROUNDS = 3
LIMIT_S = 1.0  # a first request under 1 s (issue 15)


def run(build_dir: Path, python: str, stack: RunningStack) -> None:
    table = stack.aws_client("dynamodb").list_tables()["TableNames"][0]
    case = next(c for c in cases(stack, table) if c.logical_id == "FaceKeysFunction")
    env = function_env(build_dir, stack, case.logical_id)
    layer = str(build_dir / "WeChatLayer" / "python")
    times: dict[int, list[float]] = {size: [] for size in SIZES}
    for _ in range(ROUNDS):  # interleaved, as in sections 1 and 2
        for size in SIZES:
            share = min(1.0, size / FULL_VCPU_MB)
            code = [str(build_dir / case.logical_id), layer, case.module]
            answer = probe_at_share(python, "first_request", code, env, share, case.make_event())
            assert answer["status"] == 200, answer
            times[size].append(answer["s"])
    for size in SIZES:
        share = min(1.0, size / FULL_VCPU_MB)
        took = median(times[size])
        measure = f"FaceKeysFunction first request at {size} MB ({share:.2f} of a vCPU)"
        row(SECTION, measure, ms(took), target("< 1 s", took < LIMIT_S))
    fitting = [size for size in SIZES if median(times[size]) < LIMIT_S]
    chosen = f"{fitting[0]} MB" if fitting else "none of these sizes"
    row(
        SECTION,
        "the smallest size with a first request under 1 s (cheapest: see docs/benchmarks.md)",
        chosen,
    )
