"""0. Before and after: with ``BENCH_BEFORE=<commit>`` (``make bench BENCH_BEFORE=758fccb``), that
commit is built as this one is, and the API functions' init and cold first request are measured
for both builds in the same rounds, against the same baselines and the same running stack, so a
change's effect is read from one run on one machine (the sections below describe only this
build)."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

from tests.support.stack import RunningStack

from .common import REPEATS, ROOT, build, function_env, median, probe, row
from .first_request import cases

SECTION = "0 before and after"
API = ("SessionFunction", "FaceKeysFunction", "FaceResultsFunction")


def git() -> str:
    found = shutil.which("git")
    if found is None:
        raise SystemExit("BENCH_BEFORE needs git on PATH")
    return found


def commit() -> str | None:
    return os.environ.get("BENCH_BEFORE") or None


def build_before(rev: str) -> Path:
    """``rev``'s tree (git archive) built as :func:`bench.common.build` builds this one."""
    source = ROOT / ".aws-sam" / "before-src"
    shutil.rmtree(source, ignore_errors=True)
    source.mkdir(parents=True)
    archive = subprocess.run([git(), "archive", rev], cwd=ROOT, check=True, capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tree:
        tree.extractall(source, filter="data")
    return build(source, ROOT / ".aws-sam" / "bench-before")[0]


def run(build_dir: Path, python: str, stack: RunningStack) -> None:
    rev = commit()
    if rev is None:
        return
    before_dir = build_before(rev)
    label = subprocess.run(
        [git(), "rev-parse", "--short", rev], cwd=ROOT, check=True, capture_output=True, text=True
    )
    short = label.stdout.strip()
    table = stack.aws_client("dynamodb").list_tables()["TableNames"][0]
    for case in cases(stack, table):
        if case.logical_id not in API:
            continue
        builds = {"before": before_dir, "after": build_dir}
        init: dict[str, list[float]] = {name: [] for name in builds}
        first: dict[str, list[float]] = {name: [] for name in builds}
        for _ in range(REPEATS):  # interleaved: each round measures both builds and both baselines
            for name, where in builds.items():
                env = function_env(where, stack, case.logical_id)
                layer = str(where / "WeChatLayer" / "python")
                base = probe(python, "import_time", [layer, layer, "boto3,httpx"], env)["s"]
                own = probe(
                    python, "import_time", [str(where / case.logical_id), layer, f"{case.module},boto3"], env
                )
                init[name].append(own["s"] / base)
                answer = probe(python, "first_request", [str(where / case.logical_id), layer, case.module], env,
                               case.make_event())  # fmt: skip
                assert answer["status"] == 200, (name, answer)
                same = {**case.make_job(), "table": table, "writes": case.same_io}
                baseline = probe(python, "baseline_first_request", [layer, layer], env, same)["s"]
                first[name].append(answer["s"] / baseline)
        row(
            SECTION,
            f"{case.logical_id} init (its handler module and boto3) against import boto3, httpx",
            f"before ({short}) {median(init['before']):.2f}x, after {median(init['after']):.2f}x",
        )
        row(
            SECTION,
            f"{case.logical_id} cold first request against a baseline with the same calls",
            f"before ({short}) {median(first['before']):.2f}x, after {median(first['after']):.2f}x",
        )
