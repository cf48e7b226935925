"""The deployment tools' virtualenv (.venv-tools, created by `make test`), and the runtime's Python."""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ROOT / ".venv-tools" / "bin"


def tools_bin(name: str) -> str:
    path = TOOLS / name
    if not path.exists():
        raise AssertionError(
            f"{path} is missing: run the tests through `make test`, which creates .venv-tools"
        )
    return str(path)


def transform(*overrides: str) -> dict[str, Any]:
    """template.yaml as CloudFormation sees it after the SAM transform (offline)."""
    out = subprocess.run(
        [
            tools_bin("python"),
            str(ROOT / "tools" / "sam_transform.py"),
            str(ROOT / "template.yaml"),
            *overrides,
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    result: dict[str, Any] = json.loads(out.stdout)
    return result


def runtime_python(version: str = "3.13") -> str | None:
    """An interpreter of the Lambda runtime's Python version: on PATH, or installed by pyenv."""
    root = os.environ.get("PYENV_ROOT", str(Path.home() / ".pyenv"))
    candidates = [
        shutil.which(f"python{version}"),
        *sorted(glob.glob(f"{root}/versions/{version}*/bin/python{version}")),
    ]
    for candidate in candidates:
        if not candidate:
            continue
        probe = subprocess.run(
            [
                candidate,
                "-c",
                f"import sys; assert sys.version_info[:2] == {tuple(map(int, version.split('.')))}",
            ],
            capture_output=True,
            check=False,
        )
        if probe.returncode == 0:
            return candidate
    return None
