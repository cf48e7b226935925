"""The Lambda entry point of a scheduled function (the token refresher, the key rotator, the event
emitter, the result sweeper), beside ``api.resolver.api_entry`` for the API functions: the
invocation's request id in every log line, the function's own metrics
flushed. The event is never logged. No tracing SDK: Lambda's own X-Ray integration traces each
invocation where tracing is on (docs/architecture.md, "Observability")."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger, Metrics
    from aws_lambda_powertools.utilities.typing import LambdaContext

Job = Callable[[dict[str, Any], "LambdaContext"], dict[str, Any]]


def job_entry(job: Job, *, logger: Logger, metrics: Metrics) -> Job:
    handler: Job = metrics.log_metrics(job)
    wrapped: Job = logger.inject_lambda_context(log_event=False)(handler)
    return wrapped


def last_start(context: LambdaContext, reserve_s: float) -> float:
    """The run's last moment (``time.monotonic()``) to begin new work: its Timeout less
    ``reserve_s`` for the work begun then to end, at least a second from now."""
    left_s = context.get_remaining_time_in_millis() / 1000
    return time.monotonic() + max(1.0, left_s - reserve_s)
