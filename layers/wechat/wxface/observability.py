"""EMF metrics the layer emits (Powertools ``single_metric``: each is its own EMF record with its
own dimensions, flushed at once). The namespace comes from POWERTOOLS_METRICS_NAMESPACE, which the
template sets per stack, so the stack's alarms watch only their own stack."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aws_lambda_powertools import Tracer


def tracing_enabled() -> bool:
    return os.environ.get("POWERTOOLS_TRACE_DISABLED", "").strip().lower() not in ("true", "1")


def tracer(service: str) -> Tracer | None:
    """Powertools' Tracer, only where tracing is on: constructing it imports the X-Ray SDK,
    about a third of a function's cold start (docs/benchmarks.md)."""
    if not tracing_enabled():
        return None
    from aws_lambda_powertools import Tracer

    return Tracer(service=service)


def count(name: str, dimensions: dict[str, str], value: float = 1.0, unit: str = "Count") -> None:
    """Emit one metric (a count unless ``unit`` says otherwise) with exactly ``dimensions``
    (no-op when the namespace is not set)."""
    from aws_lambda_powertools.metrics import MetricUnit, single_metric

    namespace = os.environ.get("POWERTOOLS_METRICS_NAMESPACE")
    if not namespace:
        return
    with single_metric(
        name=name, unit=MetricUnit(unit), value=value, namespace=namespace, default_dimensions=dimensions
    ):
        pass


def wechat_event(kind: str, endpoint: str, code: int | None) -> None:
    """The WeChat client's observer: every errcode and every retry, by endpoint."""
    if kind == "errcode":
        count("WeChatErrcodes", {"service": "wechat"})
        count("WeChatErrcodesByCode", {"service": "wechat", "endpoint": endpoint, "errcode": str(code)})
    elif kind == "retry":
        count("WeChatRetries", {"service": "wechat", "endpoint": endpoint})


def quota_used(endpoint: str, percent: float, over_alarm: bool) -> None:
    """The quota guard's report: the share of today's WeChat quota used (a gauge), and a count
    past the alarm share, which the stack's ``WeChatQuotaAlarm`` watches."""
    count("WeChatQuotaUsedPercent", {"service": "wechat", "endpoint": endpoint}, percent, unit="Percent")
    if over_alarm:
        count("WeChatQuotaNearlyUsed", {"service": "wechat"})
