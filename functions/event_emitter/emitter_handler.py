"""Event emitter: sends the business's events EventBridge did not take at once (schedule)."""

from __future__ import annotations

import time
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from wxface.jobs import job_entry, last_start
from wxface.runtime import Container

container = Container.for_function("event-emitter")
observed = container.observed
logger, metrics = observed.logger, observed.metrics


# Left at the end of a run: a last page's retries within the run (events.RUN_RETRY_WINDOW_S and
# its pauses) and its deletes, inside the function's Timeout.
RESERVE_S = 5.0


def emit(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    report = container.outbox.drain(time.time(), deadline=last_start(context, RESERVE_S))
    # Alarmed on (EventsBacklogAlarm): events EventBridge keeps refusing.
    observed.count("EventsPending", report.deferred)
    if report.sent or report.deferred or report.dropped:
        logger.info(
            "outbox drained",
            extra={"sent": report.sent, "deferred": report.deferred, "dropped": report.dropped},
        )
    return {"sent": report.sent, "deferred": report.deferred, "dropped": report.dropped}


lambda_handler = observed.traced(job_entry(emit, logger=logger, metrics=metrics))
