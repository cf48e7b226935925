"""The Lambda entry point of a scheduled function (the token refresher, the key rotator), beside
``api.resolver.api_entry`` for the API functions: the invocation's request id in every log line,
the cold-start metric and the function's own metrics flushed, tracing where it is on. The event
is never logged."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger, Metrics, Tracer
    from aws_lambda_powertools.utilities.typing import LambdaContext

Job = Callable[[dict[str, Any], "LambdaContext"], dict[str, Any]]


def job_entry(job: Job, *, logger: Logger, metrics: Metrics, tracer: Tracer | None) -> Job:
    handler: Job = metrics.log_metrics(capture_cold_start_metric=True)(job)
    if tracer is not None:
        handler = tracer.capture_lambda_handler(capture_response=False)(handler)
    wrapped: Job = logger.inject_lambda_context(log_event=False)(handler)
    return wrapped
