"""The custom resource behind ParameterStoreHighThroughput: its inline handler, taken from
template.yaml as CloudFormation would run it, answers CloudFormation's presigned URL (a real local
HTTP server here) and turns the account setting on. moto has no UpdateServiceSetting, so the SSM
side is botocore's own Stubber: a narrow unit test of what the handler sends."""

from __future__ import annotations

import json
import threading
import types
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from devstack.template import read

ROOT = Path(__file__).resolve().parents[2]


def handler_module() -> types.ModuleType:
    doc = read(ROOT / "template.yaml")
    code = doc["Resources"]["ParameterStoreThroughputFunction"]["Properties"]["InlineCode"]
    module = types.ModuleType("index")
    exec(compile(code, "index.py", "exec"), module.__dict__)  # noqa: S102 - the template's own inline code
    return module


@pytest.fixture
def cloudformation() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """CloudFormation's side: a presigned URL that takes the handler's PUT."""
    answers: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_PUT(self) -> None:
            length = int(self.headers["Content-Length"])
            answers.append(json.loads(self.rfile.read(length)))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/presigned", answers
    server.shutdown()


def event(kind: str, url: str) -> dict[str, Any]:
    return {
        "RequestType": kind,
        "ResponseURL": url,
        "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/s/1",
        "RequestId": "r-1",
        "LogicalResourceId": "ParameterStoreThroughput",
        "ResourceProperties": {"SettingValue": "true"},
    }


def stubbed_ssm(monkeypatch: pytest.MonkeyPatch) -> Stubber:
    client = boto3.client("ssm", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    stubber = Stubber(client)
    monkeypatch.setattr(boto3, "client", lambda *a, **k: client)
    return stubber


@pytest.mark.parametrize("kind", ["Create", "Update"])
def test_create_and_update_turn_the_setting_on_and_report_success(
    kind: str, cloudformation: tuple[str, list[dict[str, Any]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, answers = cloudformation
    stubber = stubbed_ssm(monkeypatch)
    stubber.add_response(
        "update_service_setting",
        {},
        {"SettingId": "/ssm/parameter-store/high-throughput-enabled", "SettingValue": "true"},
    )
    with stubber:
        handler_module().handler(event(kind, url), None)
        stubber.assert_no_pending_responses()
    assert answers[0]["Status"] == "SUCCESS"
    assert answers[0]["PhysicalResourceId"] == "parameter-store-high-throughput"
    assert (answers[0]["RequestId"], answers[0]["LogicalResourceId"]) == ("r-1", "ParameterStoreThroughput")


def test_delete_leaves_the_account_setting_alone(
    cloudformation: tuple[str, list[dict[str, Any]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, answers = cloudformation
    stubber = stubbed_ssm(monkeypatch)
    with stubber:  # no call expected: the Stubber fails on any
        handler_module().handler(event("Delete", url), None)
    assert answers[0]["Status"] == "SUCCESS"


def test_a_refused_setting_fails_the_stack_change_with_the_reason(
    cloudformation: tuple[str, list[dict[str, Any]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, answers = cloudformation
    stubber = stubbed_ssm(monkeypatch)
    stubber.add_client_error("update_service_setting", "AccessDeniedException", "not authorized")
    with stubber:
        handler_module().handler(event("Create", url), None)
    assert answers[0]["Status"] == "FAILED"
    assert "AccessDeniedException" in answers[0]["Reason"]
