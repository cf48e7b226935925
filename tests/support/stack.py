"""Start the whole local stack (python -m devstack) on free ports, and talk to it over HTTP."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import httpx

from devstack.iam import OPERATOR_ACCESS_KEY_ID, OPERATOR_SECRET_ACCESS_KEY
from tests.support.simulator import pythonpath, stop_process

TIMEOUT = httpx.Timeout(30.0)
OPERATOR = {"aws_access_key_id": OPERATOR_ACCESS_KEY_ID, "aws_secret_access_key": OPERATOR_SECRET_ACCESS_KEY}


@dataclass
class RunningStack:
    version: int
    api: str
    sim: str
    aws: str
    proc: subprocess.Popen[bytes]
    log_path: Path
    http: httpx.Client = field(init=False)
    sim_http: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.http = httpx.Client(base_url=self.api, timeout=TIMEOUT)
        self.sim_http = httpx.Client(base_url=self.sim, timeout=TIMEOUT)

    # --- the simulator (the WeChat app on the phone) ---------------------------------------

    def sim_control(self, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        resp = self.sim_http.post(path, json=body or {})
        assert resp.status_code == 200, resp.text
        result: dict[str, Any] = resp.json()
        return result

    def calls(self) -> dict[str, int]:
        counts: dict[str, int] = self.sim_http.get("/sim/calls").json()
        return counts

    def calls_to(self, endpoint: str) -> int:
        return self.calls().get(endpoint, 0)

    # --- the product's API ---------------------------------------------------------------

    def login(self, openid: str) -> str:
        code = self.sim_control("/sim/login", {"openid": openid})["code"]
        resp = self.http.post("/v1/session", json={"code": code})
        assert resp.status_code == 200, resp.text
        return str(resp.json()["token"])

    def call(
        self, method: str, path: str, token: str | None = None, body: Any = None, **kw: Any
    ) -> httpx.Response:
        headers = dict(kw.pop("headers", {}))
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if body is not None:
            kw["json"] = body
        return self.http.request(method, path, headers=headers, **kw)

    def issue_key(self, token: str, person: tuple[str, str]) -> httpx.Response:
        return self.call("POST", "/v1/face/keys", token, {"name": person[0], "id_card_number": person[1]})

    def key_of(self, token: str, person: tuple[str, str]) -> str:
        resp = self.issue_key(token, person)
        assert resp.status_code == 200, resp.text
        return str(resp.json()["verify_id" if self.version == 2 else "user_id_key"])

    def verify_on_phone(self, openid: str, key: str, result_code: int | None = None) -> str:
        """The user runs the face check; answers what the front end then holds (1.0 verify_result,
        2.0 the verify_id itself)."""
        body: dict[str, Any] = {"openid": openid, ("verify_id" if self.version == 2 else "user_id_key"): key}
        if result_code is not None:
            body["result_code"] = result_code
        answer = self.sim_control("/sim/verify", body)
        return key if self.version == 2 else str(answer["verify_result"])

    def signed(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        credentials: Any = "business",
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        """A call of the API as the business's servers make it: signed with botocore's SigV4
        signer (service execute-api), by the local business identity unless told otherwise
        (``credentials=None``: unsigned)."""
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials

        from devstack.iam import BUSINESS_ACCESS_KEY_ID, BUSINESS_SECRET_ACCESS_KEY

        if credentials == "business":
            credentials = Credentials(BUSINESS_ACCESS_KEY_ID, BUSINESS_SECRET_ACCESS_KEY)
        data = json.dumps(body, ensure_ascii=False).encode() if body is not None else b""
        all_headers = {
            **({"Content-Type": "application/json"} if body is not None else {}),
            **(headers or {}),
        }
        request = AWSRequest(method=method, url=f"{self.api}{path}", data=data, headers=all_headers)
        if credentials is not None:
            SigV4Auth(credentials, "execute-api", "us-east-1").add_auth(request)
        prepared = request.prepare()
        return httpx.request(
            method, prepared.url, headers=dict(prepared.headers), content=data, timeout=TIMEOUT
        )

    def order(self, openid: str, person: tuple[str, str], **extra: Any) -> str:
        """The business's servers create an order for ``openid`` to verify ``person``."""
        resp = self.signed(
            "POST",
            "/v1/face/orders",
            {"openid": openid, "name": person[0], "id_card_number": person[1], **extra},
        )
        assert resp.status_code == 201, resp.text
        return str(resp.json()["order_id"])

    def key_for_order(self, token: str, order_id: str) -> httpx.Response:
        return self.call("POST", "/v1/face/keys", token, {"order_id": order_id})

    def lookup(self, token: str, ref: str) -> httpx.Response:
        field_name = "verify_id" if self.version == 2 else "verify_result"
        return self.call("POST", "/v1/face/results", token, {field_name: ref})

    # --- AWS -----------------------------------------------------------------------------

    def aws_client(self, service: str, **credentials: str) -> Any:
        """A client of the local AWS endpoint, as the local operator unless told otherwise."""
        return boto3.client(
            service,  # type: ignore[call-overload]
            endpoint_url=self.aws,
            region_name="us-east-1",
            **(credentials or OPERATOR),
        )

    def aws_control(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        """The local AWS endpoint's control routes (``/_devstack/...``)."""
        resp = httpx.request(method, f"{self.aws}{path}", json=body, timeout=TIMEOUT)
        assert resp.status_code == 200, resp.text
        result: dict[str, Any] = resp.json()
        return result

    def log_text(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        self.http.close()
        self.sim_http.close()
        stop_process(self.proc, timeout=15)


def start_stack(version: int, log_path: Path, env: dict[str, str] | None = None, *args: str) -> RunningStack:
    """``python -m devstack`` on free ports; ``args`` go to it as they are."""
    log = log_path.open("wb")
    ports = ["--api-port", "0", "--sim-port", "0", "--aws-port", "0"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "devstack", *ports, "--quiet", *args],
        stdout=subprocess.PIPE,
        stderr=log,
        env={**os.environ, "PYTHONPATH": pythonpath(), "FACE_API_VERSION": str(version), **(env or {})},
    )
    assert proc.stdout is not None
    for raw in proc.stdout:
        line = raw.decode()
        match = re.match(r"READY api=(\S+) sim=(\S+) aws=(\S+)", line)
        if match:
            api, sim, aws = match.groups()
            return RunningStack(version, api, sim, aws, proc=proc, log_path=log_path)
    proc.wait()
    raise RuntimeError(f"the local stack did not start:\n{log_path.read_text()}")
