"""Observability, set up once per function: Powertools' Logger (the layer's own loggers log
through it: JSON, its level, the request's correlation id) and Metrics (flushed per invocation;
no ColdStart metric: Lambda's REPORT line already has each cold start's Init Duration, and a
metric per function would be billed every month); no tracing SDK (Powertools' Tracer loads the AWS X-Ray SDK, whose
support ends on 2027-02-25: Lambda's own X-Ray integration traces each invocation, and latency
metrics say where a request's time went); and the one way to emit a metric,
:func:`count` (Powertools ``single_metric``: each is its own EMF record with exactly its
dimensions). The namespace comes from POWERTOOLS_METRICS_NAMESPACE, which the template sets per
stack, so the stack's alarms watch only their own stack."""

from __future__ import annotations

import logging
import os
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger, Metrics


@dataclass(frozen=True)
class Observed:
    """One function's logger and metrics."""

    service: str
    logger: Logger
    metrics: Metrics

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


_FUNCTION: list[Observed] = []  # this container's function (one per container)


def metric(name: str, value: float = 1.0, unit: str = "Count", **dimensions: str) -> None:
    """A metric of the function this container runs (see :meth:`Observed.count`); for code of
    the layer that is not a handler (a use case's hook)."""
    if _FUNCTION:
        _FUNCTION[-1].count(name, value, unit, **dimensions)


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
    observed = Observed(service, logger, Metrics(service=service))
    _FUNCTION.append(observed)
    return observed


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


def latency(metric: str, ms: float) -> None:
    """One timing, added to this invocation's metrics: every value of a metric lands in the one
    EMF record the entry point flushes (no log line per call), and CloudWatch keeps the values'
    distribution, so p50/p90/p99 of each metric can be graphed and alarmed on."""
    if _FUNCTION:
        from aws_lambda_powertools.metrics import MetricUnit

        _FUNCTION[-1].metrics.add_metric(name=metric, unit=MetricUnit.Milliseconds, value=round(ms, 2))


def wechat_latency(endpoint: str, ms: float) -> None:
    """Each attempt at a WeChat endpoint: ``WeChatMs.<last path segment>`` (e.g.
    ``WeChatMs.getverifyid``)."""
    latency(f"WeChatMs.{endpoint.rstrip('/').rsplit('/', 1)[-1]}", ms)


def aws_latency(service: str, operation: str, ms: float) -> None:
    """Each AWS call, retries included: ``AwsMs.<service>.<operation>`` (e.g.
    ``AwsMs.dynamodb.TransactWriteItems``)."""
    latency(f"AwsMs.{service}.{operation}", ms)
