"""Observability, set up once per function: Powertools' Logger (the layer's own loggers log
through it: JSON, its level, the request's correlation id) and Metrics (flushed per invocation;
no ColdStart metric: Lambda's REPORT line already has each cold start's Init Duration, and a
metric per function would be billed every month); no tracing SDK by default (Powertools' Tracer
loads the AWS X-Ray SDK, whose support ends on 2027-02-25: Lambda's own X-Ray integration traces
each invocation, and latency metrics say where a request's time went); OpenTelemetry spans only
when the template's ``Spans=otlp`` asks for them (:meth:`Observed.traced`); and the one way to
emit a metric, :func:`count` (Powertools ``single_metric``: each is its own EMF record with
exactly its dimensions). The namespace comes from POWERTOOLS_METRICS_NAMESPACE, which the
template sets per stack, so the stack's alarms watch only their own stack."""

from __future__ import annotations

import contextlib
import logging
import os
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger, Metrics
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.trace import Tracer

# Spans (the template's Spans parameter): "otlp" exports OpenTelemetry spans over OTLP/HTTP to
# OTEL_EXPORTER_OTLP_TRACES_ENDPOINT; anything else loads nothing of OpenTelemetry.
SPANS_ENV = "WXFACE_SPANS"
# Each invocation waits for its spans' export before answering (Lambda freezes the container
# after the answer, so a batch left for later may never leave): a collector extension on the
# loopback takes a few milliseconds; an unreachable one costs at most this, never the answer.
SPANS_FLUSH_TIMEOUT_MS = 1000
SPANS_EXPORT_TIMEOUT_S = 1.0

Handler = TypeVar("Handler", bound=Callable[[Any, Any], Any])


@dataclass
class Observed:
    """One function's logger and metrics, its spans once :meth:`traced` set them up, and the hooks
    the wiring hands to what it builds (:meth:`count`, :meth:`wechat_latency`,
    :meth:`aws_latency`): they reach this function's metrics through this object, never through
    module state."""

    service: str
    logger: Logger
    metrics: Metrics
    spans: _Spans | None = None

    def note(self, key: str, value: str) -> None:
        """A property of the invocation's metrics record that is not a dimension: it costs no
        custom metric (each name with each set of dimension values is one, billed per month) and
        Logs Insights can still count by it (``stats count() by <key>``)."""
        self.metrics.add_metadata(key=key, value=value)

    def count(self, name: str, value: float = 1.0, unit: str = "Count", **dimensions: str) -> None:
        """A metric of this function (dimension ``service``, plus any given). Without further
        dimensions it joins the invocation's one EMF record (flushed by the entry point)."""
        if dimensions:
            count(name, {"service": self.service, **dimensions}, value, unit)
            return
        from aws_lambda_powertools.metrics import MetricUnit

        self.metrics.add_metric(name=name, unit=MetricUnit(unit), value=value)

    def traced(self, handler: Handler) -> Handler:
        """The function's entry point, in a span per invocation when ``Spans=otlp`` (the WeChat
        and AWS calls' spans are its children); otherwise ``handler`` itself, and nothing of
        OpenTelemetry is imported. Span names and attributes are route keys (the template's
        paths, never the request's), WeChat endpoint paths (never their query: it carries the
        access token), AWS service and operation names, status codes and the request id."""
        if os.environ.get(SPANS_ENV, "off") != "otlp":
            return handler
        spans = self.spans = _start_spans(self.service)
        cold = [True]

        def invoke(event: Any, context: Any) -> Any:
            from opentelemetry.trace import SpanKind, Status, StatusCode

            route = event.get("routeKey") if isinstance(event, dict) else None
            attributes: dict[str, str | bool] = {
                "faas.invocation_id": str(getattr(context, "aws_request_id", "")),
                "faas.coldstart": cold[0],
            }
            cold[0] = False
            if isinstance(route, str) and " " in route:
                attributes["http.request.method"], attributes["http.route"] = route.split(" ", 1)
            try:
                with spans.tracer.start_as_current_span(
                    route if isinstance(route, str) else self.service,
                    kind=SpanKind.SERVER if route else SpanKind.INTERNAL,
                    attributes=attributes,
                    # An exception's message may quote input: record its type only (below).
                    record_exception=False,
                    set_status_on_exception=False,
                ) as span:
                    try:
                        answer = handler(event, context)
                    except BaseException as exc:
                        span.set_status(Status(StatusCode.ERROR))
                        span.set_attribute("exception.type", type(exc).__qualname__)
                        raise
                    status = answer.get("statusCode") if isinstance(answer, dict) else None
                    if isinstance(status, int):
                        span.set_attribute("http.response.status_code", status)
                        if status >= 500:
                            span.set_status(Status(StatusCode.ERROR))
                    return answer
            finally:
                spans.provider.force_flush(SPANS_FLUSH_TIMEOUT_MS)

        return invoke  # type: ignore[return-value]

    def latency(self, metric: str, ms: float) -> None:
        """One timing, added to this invocation's metrics: every value of a metric lands in the one
        EMF record the entry point flushes (no log line per call), and CloudWatch keeps the
        values' distribution, so p50/p90/p99 of each metric can be graphed and alarmed on."""
        from aws_lambda_powertools.metrics import MetricUnit

        self.metrics.add_metric(name=metric, unit=MetricUnit.Milliseconds, value=round(ms, 2))

    def wechat_latency(self, endpoint: str, ms: float) -> None:
        """Each attempt at a WeChat endpoint: ``WeChatMs.<last path segment>`` (e.g.
        ``WeChatMs.getverifyid``)."""
        self.latency(f"WeChatMs.{endpoint.rstrip('/').rsplit('/', 1)[-1]}", ms)
        self.span(f"WeChat {endpoint}", ms, {"peer.service": "wechat", "url.path": endpoint})

    def aws_latency(self, service: str, operation: str, ms: float) -> None:
        """Each AWS call, retries included: ``AwsMs.<service>.<operation>`` (e.g.
        ``AwsMs.dynamodb.TransactWriteItems``)."""
        self.latency(f"AwsMs.{service}.{operation}", ms)
        self.span(
            f"{service}.{operation}",
            ms,
            {"rpc.system": "aws-api", "rpc.service": service, "rpc.method": operation},
        )

    def span(self, name: str, ms: float, attributes: dict[str, str]) -> None:
        """A finished call's span (a child of the invocation's), from the time it took; nothing
        unless :meth:`traced` set the spans up."""
        if self.spans is None:
            return
        from opentelemetry.trace import SpanKind

        with contextlib.suppress(Exception):  # a span is never worth a failed request
            ended = time.time_ns()
            span = self.spans.tracer.start_span(
                name, kind=SpanKind.CLIENT, start_time=ended - int(ms * 1_000_000), attributes=attributes
            )
            span.end(end_time=ended)


@dataclass(frozen=True)
class _Spans:
    tracer: Tracer
    provider: TracerProvider


def _start_spans(service: str) -> _Spans:
    """OpenTelemetry's SDK with a batch of spans exported over OTLP/HTTP (endpoint from
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT); imported here only, when the spans are switched on."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    resource = Resource.create(
        {
            "service.name": service,
            "cloud.provider": "aws",
            "cloud.platform": "aws_lambda",
            "cloud.region": os.environ.get("AWS_REGION", ""),
            "faas.name": os.environ.get("AWS_LAMBDA_FUNCTION_NAME", ""),
        }
    )
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(timeout=SPANS_EXPORT_TIMEOUT_S)))
    return _Spans(provider.get_tracer("wxface"), provider)


def for_function(service: str) -> Observed:
    """Logger and Metrics for a function, created once at its import."""
    from aws_lambda_powertools import Logger, Metrics
    from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers

    # An invocation with nothing to count (no AWS or WeChat call) is normal here: Powertools' warning
    # about it would be a log line billed per container for nothing.
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    logger = Logger(service=service)
    # The layer's loggers (wxface.*) propagate to "wxface", which logs through Powertools' handler.
    logging.getLogger("wxface")
    copy_config_to_registered_loggers(source_logger=logger, include={"wxface"})
    return Observed(service, logger, Metrics(service=service))


def count(
    name: str,
    dimensions: dict[str, str],
    value: float = 1.0,
    unit: str = "Count",
    properties: dict[str, str] | None = None,
) -> None:
    """Emit one metric (a count unless ``unit`` says otherwise) with exactly ``dimensions``, and
    ``properties`` in its record that are not dimensions (no custom metric of their own; Logs
    Insights counts by them). No-op when the namespace is not set."""
    from aws_lambda_powertools.metrics import MetricUnit, single_metric

    namespace = os.environ.get("POWERTOOLS_METRICS_NAMESPACE")
    if not namespace:
        return
    with single_metric(
        name=name, unit=MetricUnit(unit), value=value, namespace=namespace, default_dimensions=dimensions
    ) as record:
        for key, text in (properties or {}).items():
            record.add_metadata(key=key, value=text)


def wechat_event(kind: str, endpoint: str, code: int | None) -> None:
    """The WeChat client's observer: every errcode and every retry, by endpoint. Errcodes about
    the caller (``caller_errcode``: a bad login code, a high-risk user, an unknown verify_result)
    are counted by endpoint but stay out of ``WeChatErrcodes``, which the WeChat-errors alarm
    watches. The errcode itself is a property of the record, not a dimension: WeChat has dozens of
    codes and each distinct dimension value would be a custom metric billed every month (the
    runbook counts them by code with Logs Insights)."""
    if kind in ("errcode", "caller_errcode"):
        if kind == "errcode":
            count("WeChatErrcodes", {"service": "wechat"})
        count(
            "WeChatErrcodesByEndpoint",
            {"service": "wechat", "endpoint": endpoint},
            properties={"errcode": str(code)},
        )
    elif kind == "retry":
        count("WeChatRetries", {"service": "wechat", "endpoint": endpoint})


def quota_used(endpoint: str, percent: float, over_alarm: bool) -> None:
    """The quota guard's report: the share of today's WeChat quota used (a gauge), and a count
    past the alarm share, which the stack's ``WeChatQuotaAlarm`` watches."""
    count("WeChatQuotaUsedPercent", {"service": "wechat", "endpoint": endpoint}, percent, unit="Percent")
    if over_alarm:
        count("WeChatQuotaNearlyUsed", {"service": "wechat"})
