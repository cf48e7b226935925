"""Result sweeper (face API 2.0): looks up the results nobody looked up before their keys expire,
so the business hears of a face check even when the mini-program was closed (schedule)."""

from __future__ import annotations

import time
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from wxface.jobs import job_entry
from wxface.runtime import Container

container = Container.for_function("result-sweeper")
observed = container.observed
logger, metrics = observed.logger, observed.metrics


def sweep(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    outcomes = container.results.sweep(time.time()).as_dict()
    for outcome, n in outcomes.items():
        observed.count("SweptKeys", n, outcome=outcome)
    if outcomes:
        logger.info("keys swept", extra={"outcomes": outcomes})
    return outcomes


lambda_handler = observed.traced(job_entry(sweep, logger=logger, metrics=metrics))
