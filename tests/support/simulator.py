"""Start the WeChat simulator as a real process on a free port, and talk to it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.support.wechat import ClientConfig, wechat_calls

ROOT = Path(__file__).resolve().parents[2]
APPID = "wx0000000000000001"
SECRET = "sim-app-secret"


def pythonpath() -> str:
    return os.pathsep.join([str(ROOT / "layers" / "wechat"), str(ROOT / "local")])


@dataclass
class RunningSim:
    url: str
    log_path: Path
    proc: subprocess.Popen[bytes]
    http: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.http = httpx.Client(base_url=self.url, timeout=10)

    def post(self, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
        return self.http.post(path, json=body if body is not None else {})

    def control(self, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        resp = self.post(path, body)
        assert resp.status_code == 200, resp.text
        result: dict[str, Any] = resp.json()
        return result

    def calls(self) -> dict[str, int]:
        resp = self.http.get("/sim/calls")
        assert resp.status_code == 200
        counts: dict[str, int] = resp.json()
        return counts

    def login_code(self, openid: str) -> str:
        return str(self.control("/sim/login", {"openid": openid})["code"])

    def log_text(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        self.http.close()
        stop_process(self.proc, timeout=10)


def stop_process(proc: subprocess.Popen[bytes], *, timeout: float) -> None:
    """SIGTERM, then SIGKILL if it has not exited within ``timeout`` seconds."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:  # pragma: no cover
        proc.kill()


def start_sim(log_path: Path, env: dict[str, str] | None = None, *args: str) -> RunningSim:
    log = log_path.open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "wechat_sim", "--host", "127.0.0.1", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=log,
        env={**os.environ, "PYTHONPATH": pythonpath(), **(env or {})},
    )
    assert proc.stdout is not None
    first = proc.stdout.readline().decode()
    match = re.search(r"listening on (http://\S+)", first)
    if not match:
        proc.kill()
        raise RuntimeError(f"simulator did not start: {first!r}\n{log_path.read_text()}")
    return RunningSim(match.group(1), log_path, proc)


class SimTokens:
    """A TokenSource for tests: reads stable_token (as the refresher would) and caches it."""

    def __init__(self, url: str) -> None:
        self._client = wechat_calls(ClientConfig.of(base_url=url, fallback_base_url=None))
        self._token: str | None = None
        self.stale_calls = 0

    def get(self) -> str:
        if self._token is None:
            self._token = self._client.stable_token(APPID, SECRET).access_token.get_secret_value()
        return self._token

    def stale(self, token: str) -> None:
        self.stale_calls += 1
        self._token = None


def fast_config(url: str, **overrides: Any) -> ClientConfig:
    """Short timeouts so fault tests finish quickly; the default budget has its own test."""
    settings: dict[str, Any] = {
        "base_url": url,
        "fallback_base_url": None,
        "connect_timeout": 1.0,
        "read_timeout": 0.5,
        "total_budget": 1.5,
        "backoff_base": 0.02,
        "backoff_max": 0.1,
        **overrides,
    }
    return ClientConfig.of(**settings)
