"""`make bench` takes minutes, so it does not run in `make test`; these keep its parts working:
the probes a fresh process runs, and the report it writes."""

from __future__ import annotations

import importlib
import os
import pkgutil
import sys
from pathlib import Path

import bench
from bench.common import Row, probe
from bench.report import render

ROOT = Path(__file__).resolve().parents[2]


def test_every_section_imports() -> None:
    for module in pkgutil.iter_modules(bench.__path__):
        if module.name != "probes":
            importlib.import_module(f"bench.{module.name}")


def test_the_import_probe_times_a_handler_in_an_isolated_process_without_touching_the_network() -> None:
    env = {"PATH": os.environ["PATH"], "AWS_ENDPOINT_URL": "http://127.0.0.1:9", "PARAM_PATH": "/x"}
    code = [str(ROOT / "functions" / "face_keys"), str(ROOT / "layers" / "wechat"), "keys_handler"]
    # -I -S: no site-packages; the venv's own libraries are reached through the layer argument.
    site = next(p for p in sys.path if p.endswith("site-packages"))
    answer = probe(sys.executable, "import_time", [code[0], f"{code[1]}{os.pathsep}{site}", code[2]], env)
    assert 0 < answer["s"] < 30


def test_the_report_is_a_markdown_table_of_the_rows() -> None:
    text = render(
        [Row("1 init", "baseline", "80.0 ms"), Row("2 first request", "keys", "1.1x", "<= 1.5x: met")],
        sys.executable,
    )
    assert "| 1 init | baseline | 80.0 ms |  |" in text
    assert "| 2 first request | keys | 1.1x | <= 1.5x: met |" in text


def test_the_warm_section_runs_against_its_stubs() -> None:
    """Section 3 drives the real handlers with stubbed AWS answers queued where each write
    happens: a change to the I/O of a route (a new write, a new read) must update the bench, or
    this fails (botocore's Stubber refuses an unexpected call). In its own process: the section
    replaces the runtime's singletons."""
    import subprocess

    script = (
        "import bench.warm as w, bench.common as c\n"
        "w.SAMPLES, w.WARM_UP = 3, 1\n"
        "w.run()\n"
        "assert any(r.section == '3 warm overhead' for r in c.rows)\n"
    )
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "layers" / "wechat"), str(ROOT / "local")]),
    }
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
