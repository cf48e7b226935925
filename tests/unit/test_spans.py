"""Spans are opt-in (the template's Spans=otlp): off, nothing of OpenTelemetry is loaded and the
entry point is the handler itself; on, a slow or missing collector never costs the answer."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from tests.support.otlp import otlp_receiver
from tests.support.tools import ROOT
from wxface import observability


@pytest.fixture
def observed() -> Iterator[observability.Observed]:
    """A function's observability as its handler module sets it up; its exporter shut down after."""
    made = observability.Observed("t", logger=None, metrics=None)  # type: ignore[arg-type]
    yield made
    if made.spans is not None:
        made.spans.provider.shutdown()


def loads_opentelemetry(spans: str | None) -> bool:
    """Whether importing an API function's handler (a fresh process, as a cold start) imports
    any of OpenTelemetry."""
    env = {k: v for k, v in os.environ.items() if k != observability.SPANS_ENV}
    env.update(AWS_DEFAULT_REGION="us-east-1", AWS_ENDPOINT_URL="http://127.0.0.1:9", PARAM_PATH="/x")
    if spans is not None:
        env[observability.SPANS_ENV] = spans
    code = (
        "import sys; sys.path.insert(0, 'functions/face_keys'); import keys_handler; "
        "print(any(m.split('.')[0] == 'opentelemetry' for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip() == "True"


def test_off_by_default_nothing_of_opentelemetry_is_imported() -> None:
    assert loads_opentelemetry(None) is False
    assert loads_opentelemetry("off") is False
    assert loads_opentelemetry("otlp") is True


def test_off_the_entry_point_is_the_handler_itself(
    monkeypatch: pytest.MonkeyPatch, observed: observability.Observed
) -> None:
    monkeypatch.delenv(observability.SPANS_ENV, raising=False)

    def handler(event: Any, context: Any) -> Any:
        return event

    assert observed.traced(handler) is handler
    observed.span("WeChat /cgi-bin/token", 3.0, {})  # no span set up: nothing happens
    assert observed.spans is None


def test_an_unreachable_collector_costs_at_most_the_flush_timeout_never_the_answer(
    monkeypatch: pytest.MonkeyPatch, observed: observability.Observed
) -> None:
    monkeypatch.setenv(observability.SPANS_ENV, "otlp")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://127.0.0.1:9/v1/traces")

    def handler(event: Any, context: Any) -> Any:
        observed.span("dynamodb.GetItem", 1.0, {"rpc.service": "dynamodb"})
        return {"statusCode": 200}

    entry = observed.traced(handler)
    started = time.monotonic()
    answer = entry({"routeKey": "POST /v1/session"}, SimpleNamespace(aws_request_id="r1"))
    assert answer == {"statusCode": 200}
    assert time.monotonic() - started < observability.SPANS_FLUSH_TIMEOUT_MS / 1000 + 1.0


def test_an_exception_is_recorded_by_its_type_only_and_still_raised(
    monkeypatch: pytest.MonkeyPatch, observed: observability.Observed
) -> None:
    with otlp_receiver() as receiver:
        monkeypatch.setenv(observability.SPANS_ENV, "otlp")
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", receiver.url)
        observed.service = "job"

        def handler(event: Any, context: Any) -> Any:
            raise ValueError("张三 110105194912310021 must never leave the function")

        entry = observed.traced(handler)
        with pytest.raises(ValueError, match="must never leave"):
            entry({}, SimpleNamespace(aws_request_id="r2"))
        (span,) = receiver.spans()
    assert span.name == "job" and span.service == "job" and span.status_code == 2  # ERROR
    assert span.attributes["exception.type"] == "ValueError"
    assert span.attributes["faas.invocation_id"] == "r2" and span.attributes["faas.coldstart"] is True
    assert b"110105194912310021" not in receiver.raw() and "张三".encode() not in receiver.raw()
