"""``python -m bench`` (``make bench``): every section in order, then docs/benchmarks.md."""

from __future__ import annotations

import os
import sys

from tests.support.stack import start_stack

from . import (
    before,
    cost,
    first_request,
    init,
    io_per_request,
    memory,
    report,
    storm,
    throughput,
    token_load,
    usage,
    warm,
)
from .common import CREDENTIALS, ROOT, build, rows


def main() -> int:
    build_dir, python = build()
    init_seconds = init.run(build_dir, python)
    warm.run()
    # The load runs log hundreds of users in from this one address: lift the per-address limit.
    stack = start_stack(
        2,
        ROOT / ".aws-sam" / "bench-stack.log",
        {"DEVSTACK_MAX_WORKERS": "4"},
        "--template",
        str(build_dir / "template.yaml"),
        "--runtime-python",
        python,
        "--write-credentials",
        str(CREDENTIALS),
        "--parameter-overrides",
        "SessionLimitPerAddressPerHour=1000000",
        "KeyLimitPerHour=1000",
    )
    try:
        before.run(build_dir, python, stack)  # BENCH_BEFORE=<commit>: that build beside this one
        first_request.run(build_dir, python, stack)
        memory.run(build_dir, python, stack)
        io_per_request.run(stack)
        cost.run(stack, init_seconds, *cost.template_settings(build_dir / "template.yaml"))
        token_load.run(stack, containers=4, requests=400)
        throughput.run(stack, flows=40)
    finally:
        stack.stop()
    usage.main()  # bench/usage.json: what a verification uses, the capacity planner's input
    containers = int(os.environ.get("BENCH_STORM_CONTAINERS", "24"))
    storm.run(build_dir, python, containers, storm.SSM_STANDARD_TPS, "default (standard throughput)")
    storm.run(build_dir, python, containers, storm.SSM_HIGH_TPS, "ParameterStoreHighThroughput=true")
    text = report.render(rows, python)
    report.write(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
