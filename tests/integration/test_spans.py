"""Spans=otlp: the functions export OpenTelemetry spans over OTLP/HTTP (here to a receiver on the
loopback, as to a collector extension in Lambda): one span per invocation, the WeChat and AWS
calls as its children, and nothing personal or secret in any of it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.test_privacy_of_the_whole_log_and_table import drive_everything
from tests.support.otlp import ReceivedSpan, Receiver, otlp_receiver
from tests.support.people import ALICE, PEOPLE
from tests.support.stack import RunningStack, start_stack
from wxface.identity import CERT_TYPE_IDENTITY_CARD, cert_hash, id_card_number_md5, name_utf8_md5

pytestmark = pytest.mark.integration

SERVER, CLIENT = 2, 3  # OTLP's SpanKind values


@pytest.fixture(scope="module")
def traced(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningStack, Receiver]]:
    where: Path = tmp_path_factory.mktemp("spans")
    with otlp_receiver() as receiver:
        stack = start_stack(
            2,
            where / "stack.log",
            None,
            "--parameter-overrides",
            "Spans=otlp",
            f"SpansEndpoint={receiver.url}",
        )
        try:
            yield stack, receiver
        finally:
            stack.stop()


def roots(spans: list[ReceivedSpan], name: str) -> list[ReceivedSpan]:
    return [s for s in spans if s.name == name and not s.parent_span_id]


def children(spans: list[ReceivedSpan], root: ReceivedSpan) -> list[ReceivedSpan]:
    return [s for s in spans if s.trace_id == root.trace_id and s.parent_span_id == root.span_id]


def test_each_request_is_a_span_with_its_wechat_and_aws_calls_as_children(
    traced: tuple[RunningStack, Receiver],
) -> None:
    stack, receiver = traced
    openid = f"o-spans-{uuid.uuid4().hex[:8]}"
    token = stack.login(openid)
    key = stack.key_of(token, ALICE)
    ref = stack.verify_on_phone(openid, key)
    assert stack.lookup(token, ref).status_code == 200

    spans = receiver.spans()  # each invocation flushed its spans before it answered
    (login,) = roots(spans, "POST /v1/session")
    assert login.service == "session" and login.kind == SERVER
    assert login.attributes["http.route"] == "/v1/session"
    assert login.attributes["http.response.status_code"] == 200
    assert "WeChat /sns/jscode2session" in {s.name for s in children(spans, login)}

    (issuance,) = roots(spans, "POST /v1/face/keys")
    assert issuance.service == "face-keys"
    calls = {s.name: s for s in children(spans, issuance)}
    wechat = calls["WeChat /cityservice/face/identify/getverifyid"]
    assert wechat.kind == CLIENT and wechat.attributes["url.path"] == "/cityservice/face/identify/getverifyid"
    write = calls["dynamodb.TransactWriteItems"]
    assert write.attributes == {
        "rpc.system": "aws-api",
        "rpc.service": "dynamodb",
        "rpc.method": "TransactWriteItems",
    }
    assert all(0 <= s.duration_ms <= issuance.duration_ms for s in calls.values())

    lookups = roots(spans, "POST /v1/face/results")
    assert lookups and {"WeChat /cityservice/face/identify/queryverifyinfo", "events.PutEvents"} <= {
        s.name for lookup in lookups for s in children(spans, lookup)
    }


def test_a_failed_request_is_marked_as_an_error_with_its_status(
    traced: tuple[RunningStack, Receiver],
) -> None:
    stack, receiver = traced
    stack.sim_control(
        "/sim/faults", {"path": "/cityservice/face/identify/getverifyid", "errcode": -1, "times": 5}
    )
    token = stack.login(f"o-spans-{uuid.uuid4().hex[:8]}")
    resp = stack.issue_key(token, ALICE)
    stack.sim_control("/sim/reset")
    assert resp.status_code >= 500

    failed = [s for s in roots(receiver.spans(), "POST /v1/face/keys") if s.status_code == 2]  # ERROR
    assert failed and failed[-1].attributes["http.response.status_code"] == resp.status_code


def test_no_personal_data_or_secret_in_the_spans(traced: tuple[RunningStack, Receiver]) -> None:
    stack, receiver = traced
    secrets = drive_everything(stack)
    raw = receiver.raw()
    text = raw.decode("utf-8", errors="replace")
    assert "POST /v1/face/keys" in text
    for name, number in PEOPLE:
        assert name.encode() not in raw and number.encode() not in raw and number.lower().encode() not in raw
        assert cert_hash(CERT_TYPE_IDENTITY_CARD, name, number).encode() not in raw
        assert id_card_number_md5(number).encode() not in raw and name_utf8_md5(name).encode() not in raw
    assert b"o-privacy-" not in raw  # no openid either: routes are the template's, not the request's
    for secret in secrets:
        assert secret.encode() not in raw
