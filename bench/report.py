"""docs/benchmarks.md: the rows of this run, then the notes kept by hand (docs/benchmarks-notes.md)."""

from __future__ import annotations

import datetime as dt
import os
import platform
import subprocess
from pathlib import Path

from .common import REPEATS, ROOT, Row


def machine() -> str:
    try:
        cpu = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    except (OSError, StopIteration):
        cpu = platform.processor()
    return f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores ({cpu}), Python {platform.python_version()}"


def render(rows: list[Row], runtime: str) -> str:
    version = subprocess.run(
        [runtime, "--version"], capture_output=True, text=True, check=False
    ).stdout.strip()
    return "\n".join(
        [
            "# Benchmarks",
            "",
            f"Produced by `make bench` on {dt.date.today().isoformat()}: {machine()}; functions on "
            f"`{Path(runtime).name} -I -S` ({version}) from the `sam build` artifacts, bytecode included. "
            f"Medians of {REPEATS} interleaved rounds of fresh processes (1, 2) or 400 calls (3). Functions run "
            "as the default deployment does (Tracing=Active: Lambda's own tracing, no SDK in the function).",
            "",
            "| section | measure | value | target |",
            "|---|---|---|---|",
            *[f"| {r.section} | {r.measure} | {r.value} | {r.target} |" for r in rows],
            "",
        ]
    )


def write(text: str) -> None:
    notes = ROOT / "docs" / "benchmarks-notes.md"
    out = text + ("\n" + notes.read_text(encoding="utf-8") if notes.exists() else "")
    (ROOT / "docs" / "benchmarks.md").write_text(out, encoding="utf-8")
