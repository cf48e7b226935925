"""The mini-program client's tests (Node's built-in runner, no npm install), run by `make test`."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_miniprogram_client_passes_its_node_tests() -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: the mini-program client's tests (node --test) need Node.js 18+")
    out = subprocess.run(
        [node, "--test", str(ROOT / "miniprogram" / "test")],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    assert "# fail 0" in out.stdout
    assert "# pass 0" not in out.stdout
