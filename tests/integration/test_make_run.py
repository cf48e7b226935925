"""`make run` as a newcomer uses it: default ports, the READY line, the walkthrough pasted into a
shell, and Ctrl-C stopping everything. Needs ports 3000-3002 free."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
READY = "READY api=http://127.0.0.1:3000 sim=http://127.0.0.1:3001 aws=http://127.0.0.1:3002"


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def make_run(version: str | None, log: Path) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("FACE_API_VERSION", "PYTHONPATH")}
    if version is not None:
        env["FACE_API_VERSION"] = version
    return subprocess.Popen(
        ["make", "-s", "run"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=log.open("w"),
        text=True,
        start_new_session=True,  # so Ctrl-C can go to the whole group, as from a terminal
    )


@pytest.mark.parametrize("version", [None, "1"], ids=["default-2.0", "1.0"])
def test_make_run_walkthrough_and_ctrl_c(version: str | None, tmp_path: Path) -> None:
    for port in (3000, 3001, 3002):
        assert not port_open(port), f"port {port} is taken: make run needs 3000-3002"
    proc = make_run(version, tmp_path / "run.log")
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline().strip()
        assert first == READY, (tmp_path / "run.log").read_text()
        walkthrough: list[str] = []
        for line in proc.stdout:
            if line.startswith("Ctrl-C"):
                break
            walkthrough.append(line.rstrip("\n"))
        assert f"Face API {version or '2'}.0" in walkthrough[0]
        commands = [
            line.strip() for line in walkthrough if line.startswith("  ") and not line.strip().startswith("#")
        ]
        # On a fresh clone after make run alone: nothing from make venv's tools (.venv-tools: the AWS
        # CLI), and nothing exported into the user's shell.
        assert not [c for c in commands if ".venv-tools" in c or c.startswith("export ")]
        script = "set -euo pipefail\n" + "\n".join(commands)
        out = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=120, check=False)
        assert out.returncode == 0, out.stderr + out.stdout
        printed = outputs(out.stdout)
        looked_up = next(i for i, p in enumerate(printed) if isinstance(p, dict) and "passed" in p)
        lookup, latest = printed[looked_up], printed[looked_up + 1]
        assert lookup["passed"] is True and lookup["identity_matched"] is True
        assert lookup["biz_ref"] == "order-1001"
        assert latest == lookup
        erased = printed.index("204")
        # The business's view: the event of the check from its queue, then the signed lookup.
        completed = [p for p in printed[looked_up:erased] if isinstance(p, dict) and p.get("detail-type")]
        assert [e["detail-type"] for e in completed] == ["FaceVerificationCompleted"]
        assert completed[0]["detail"]["openid"] == "demo-user"
        assert completed[0]["detail"]["biz_ref"] == "order-1001"
        assert printed[erased - 1] == {**lookup, "openid": "demo-user"}
        # The erasure: the emitter run at once (what it sent), and the business hearing of it.
        assert printed[erased + 1]["sent"] >= 1
        assert printed[erased + 2]["detail-type"] == "FaceDataErased"
        assert set(printed[erased + 2]["detail"]) == {"openid", "erased_at"}
        assert printed[erased + 2]["detail"]["openid"] == "demo-user"
        # The business's order: created by its servers, the key asked for by the order alone, the
        # result saying whose identity it was; the order read back passed; in 2.0 its photo.
        ordered = next(
            i for i, p in enumerate(printed) if i > erased + 2 and isinstance(p, dict) and "passed" in p
        )
        result, order = printed[ordered], printed[ordered + 1]
        assert result["passed"] is True and result["identity_source"] == "business"
        assert result["biz_ref"] == "loan-42" and result["order_id"].startswith("ord_")
        assert (order["order_id"], order["status"], order["result"]) == (result["order_id"], "passed", result)
        assert order["openid"] == "demo-user" and "张三" not in json.dumps(order, ensure_ascii=False)
        if (version or "2") == "2":
            photo = printed[ordered + 2]
            assert photo["content_type"] == "image/jpeg" and photo["bytes"] > 0
            Path(photo["file"]).unlink()
        # The operator's part: the AWS CLI as the local operator, then the endpoint's call counts.
        scanned = printed[-2]  # the stack's table by kind of item, read with the operator's identity
        assert scanned["RESULT"] >= 1 and scanned["ORDER"] >= 1 and scanned["AUDIT"] >= 1
        calls = printed[-1]
        assert calls["denied"] == 0
        # Two keys: the typed identity's and the order's, each in one transaction.
        assert calls["by_function"]["wechat-face-local-face-keys"]["dynamodb:TransactWriteItems"] == 2
        assert calls["by_function"]["wechat-face-local-face-orders"]["dynamodb:TransactWriteItems"] == 1
    finally:
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C in the terminal
        proc.wait(timeout=20)
    # make reports the interrupt itself; what matters is that everything it started is gone.
    deadline = time.monotonic() + 15
    while group_alive(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not group_alive(proc.pid), "a process make run started is still running"
    assert not any(port_open(p) for p in (3000, 3001, 3002)), "something make run started is still listening"


def outputs(text: str) -> list[Any]:
    """What the pasted lines printed, in order: each JSON value (also several on one line, as the
    AWS CLI prints message bodies) parsed, any other word (an HTTP status) as it is."""
    decoder = json.JSONDecoder()
    found: list[Any] = []
    at = 0
    while at < len(text):
        if text[at].isspace():
            at += 1
        elif text[at] in "{[":
            value, at = decoder.raw_decode(text, at)
            found.append(value)
        else:
            end = at
            while end < len(text) and not text[end].isspace():
                end += 1
            found.append(text[at:end])
            at = end
    return found


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def test_make_run_refuses_an_unknown_face_api_version(tmp_path: Path) -> None:
    proc = make_run("3", tmp_path / "run.log")
    assert proc.wait(timeout=60) != 0
    assert "FACE_API_VERSION must be 1 or 2" in (tmp_path / "run.log").read_text()
    assert not port_open(3000)


def test_the_runner_exits_cleanly_on_sigint_and_sigterm(tmp_path: Path) -> None:
    from tests.support.stack import start_stack

    for sig in (signal.SIGINT, signal.SIGTERM):
        stack = start_stack(2, tmp_path / f"stack-{sig}.log")
        stack.proc.send_signal(sig)
        assert stack.proc.wait(timeout=20) == 0
        assert "stopping" in stack.log_text()
