"""SnapStart's after-restore hook, in fresh processes as Lambda runs them: every API function
registers it where the runtime offers snapshot_restore_py, and it reseeds ``random`` (which
draws the retries' jitter), so environments restored from one snapshot do not retry in step.
Nothing of AWS, no key and no client is made at init, so a snapshot captures none."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.tools import ROOT

FAKE_RUNTIME_HOOKS = """
hooks = []
def register_after_restore(func, *args, **kwargs):
    hooks.append((func, args, kwargs))
    return func
def register_before_snapshot(func, *args, **kwargs):
    return func
"""

PROBE = """
import json, random, sys
sys.path.insert(0, sys.argv[1])
import importlib
handler = importlib.import_module(sys.argv[2])
try:
    import snapshot_restore_py
    hooks = snapshot_restore_py.hooks
except ImportError:
    hooks = None
random.seed(7)  # the snapshot: every restored environment starts from this state
snapshot = [random.random() for _ in range(3)]
restored = []
for _ in range(2):
    random.seed(7)
    for func, args, kwargs in hooks or []:
        func(*args, **kwargs)
    restored.append([random.random() for _ in range(3)])
container = handler.container
print(json.dumps({
    "hooks": None if hooks is None else len(hooks),
    "snapshot": snapshot,
    "restored": restored,
    "built": sorted(k for k in vars(container) if not k.startswith("_") and k not in ("observed", "aws")),
    "clients": len(container.aws._clients),
    "boto3": "boto3" in sys.modules,
}))
"""

HANDLERS = [
    ("session", "session_handler"),
    ("face_keys", "keys_handler"),
    ("face_results", "results_handler"),
    ("face_orders", "orders_handler"),
]


def run(function_dir: str, module: str, fake_runtime: Path | None) -> dict[str, object]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PYTHON"))},
        "PARAM_PATH": "/x",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",  # nothing listens: no call may be made
        "PYTHONPATH": os.pathsep.join(
            [str(p) for p in ([fake_runtime] if fake_runtime else [])] + [str(ROOT / "layers" / "wechat")]
        ),
    }
    out = subprocess.run(
        [sys.executable, "-c", PROBE, str(ROOT / "functions" / function_dir), module],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


@pytest.mark.parametrize(("function_dir", "module"), HANDLERS)
def test_a_restored_environment_reseeds_random_and_init_captured_nothing(
    tmp_path: Path, function_dir: str, module: str
) -> None:
    (tmp_path / "snapshot_restore_py.py").write_text(FAKE_RUNTIME_HOOKS, encoding="utf-8")
    seen = run(function_dir, module, tmp_path)
    assert seen["hooks"] == 1
    restored = seen["restored"]
    assert isinstance(restored, list)
    # Without the hook each restored environment would draw the snapshot's sequence again.
    assert restored[0] != seen["snapshot"] and restored[1] != seen["snapshot"]
    assert restored[0] != restored[1]
    # Init made nothing a snapshot would share: no settings, keys, tables or clients.
    assert seen["built"] == [] and seen["clients"] == 0 and seen["boto3"] is False


def test_without_the_runtimes_hooks_library_nothing_is_registered_and_nothing_breaks() -> None:
    seen = run("face_keys", "keys_handler", None)
    assert seen["hooks"] is None
    assert seen["restored"] == [seen["snapshot"], seen["snapshot"]]
