"""The commands the README writes work as written, from the repository root, with nothing but
the virtualenv `make` creates (no PYTHONPATH): a newcomer copies them."""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
VENV_PYTHON = ROOT / ".venv" / "bin" / "python"


def documented(prefix: str) -> list[str]:
    """Every command in the README starting with ``prefix`` (in backticks or a code block)."""
    found = re.findall(rf"`({re.escape(prefix)}[^`]*)`", README)
    found += re.findall(rf"^({re.escape(prefix)}.*?)(?:\s+#.*)?$", README, flags=re.M)
    return sorted(set(found))


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return env


pytestmark = pytest.mark.skipif(
    not VENV_PYTHON.exists() or Path(sys.prefix).resolve() != (ROOT / ".venv").resolve(),
    reason="runs the README's .venv/bin/python commands: needs the virtualenv `make test` creates",
)


def test_the_readme_documents_these_commands() -> None:
    assert documented(".venv/bin/python -m devstack --help")
    assert documented(".venv/bin/python -m devstack --parameter-overrides")
    assert documented(".venv/bin/python -m wechat_sim --port 0")


def test_devstack_help_works_as_written() -> None:
    (command,) = documented(".venv/bin/python -m devstack --help")
    out = subprocess.run(
        shlex.split(command), cwd=ROOT, env=clean_env(), capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert "--parameter-overrides" in out.stdout and "--relaxed-limits" in out.stdout
    assert "FACE_API_VERSION=1 or 2" in " ".join(out.stdout.split())


def test_a_busy_port_says_which_part_and_how_to_pick_others() -> None:
    import socket

    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    try:
        out = subprocess.run(
            [str(VENV_PYTHON), "-m", "devstack", "--api-port", "0", "--sim-port", str(port), "--aws-port", "0"],
            cwd=ROOT, env=clean_env(), capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    finally:
        taken.close()
    assert out.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port} (the WeChat simulator)" in out.stderr
    assert "make run ARGS='--api-port 3100 --sim-port 3101 --aws-port 3102'" in out.stderr


@contextlib.contextmanager
def started(args: list[str]) -> Iterator[str]:
    """Runs a documented command from the repository root as a newcomer would; yields its first
    line of output and stops it (SIGTERM, as Ctrl-C would) afterwards."""
    proc = subprocess.Popen(
        args, cwd=ROOT, env=clean_env(), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    try:
        assert proc.stdout is not None
        yield proc.stdout.readline()
    finally:
        proc.terminate()
        proc.wait(20)


def test_the_simulator_starts_as_written_on_a_free_port() -> None:
    (command,) = documented(".venv/bin/python -m wechat_sim --port 0")
    with started(shlex.split(command)) as first:
        url = re.search(r"http://127\.0\.0\.1:\d+", first)
        assert url, first
        # The simulator answers as WeChat does: a bad AppSecret is an errcode, not a crash.
        answer = httpx.get(
            f"{url.group(0)}/cgi-bin/token", params={"grant_type": "client_credential"}, timeout=10
        )
        assert answer.status_code == 200 and "errcode" in answer.json()


def test_the_stack_starts_as_written_with_parameter_overrides() -> None:
    (command,) = documented(".venv/bin/python -m devstack --parameter-overrides")
    # --quiet: the walkthrough is test_make_run's subject.
    with started([*shlex.split(command), "--quiet"]) as first:
        assert first.startswith("READY api="), first


def test_relaxed_limits_let_one_machine_play_many_users_and_explicit_overrides_still_win(
    tmp_path: Path,
) -> None:
    from tests.support.people import ALICE
    from tests.support.stack import start_stack

    stack = start_stack(2, tmp_path / "relaxed.log", None, "--relaxed-limits")
    try:
        token = stack.login("o-relaxed")
        # The deployed default is 10 keys an hour per user: the 11th would be 429.
        assert all(stack.issue_key(token, ALICE).status_code == 200 for _ in range(11))
    finally:
        stack.stop()
    stack = start_stack(
        2, tmp_path / "explicit.log", None, "--relaxed-limits", "--parameter-overrides", "KeyLimitPerHour=2"
    )
    try:
        token = stack.login("o-explicit")
        codes = [stack.issue_key(token, ALICE).status_code for _ in range(3)]
        assert codes == [200, 200, 429]
    finally:
        stack.stop()
