"""Result sweeper (face API 2.0): looks up the results nobody looked up before their keys expire,
so the business hears of a face check even when the mini-program was closed (schedule)."""

from __future__ import annotations

import time
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from wxface.jobs import job_entry, last_start
from wxface.runtime import Container

container = Container.for_function("result-sweeper")
observed = container.observed
logger, metrics = observed.logger, observed.metrics


# Lookups at once in a run (its CPU share, SweeperMemorySize, binds before its connections do).
# With SweepParts > 1, the schedule's run starts the other parts at once, each a run of its own
# (its own Timeout, CPU and connections) over every parts-th partition.
WORKERS = 16


def sweep(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    s = container.settings
    parts = min(s.sweep_parts, s.queue_shards)
    part = event.get("part") if isinstance(event, dict) else None
    if part is None:  # the schedule's run: part 0, and the others side by side
        part = 0
        if parts > 1:
            container.own_runs.start([{"part": k} for k in range(1, parts)])
    elif not (isinstance(part, int) and 0 <= part < parts):
        logger.warning("a sweep part out of range: nothing swept", extra={"parts": parts})
        return {}
    # No new page after this: a lookup begun then still ends (its whole WeChat budget) within the
    # Timeout, which stays under the erasure's event delay (domain/events.ERASED_DELAY_S).
    reserve_s = container.sweep.wechat.policy.total_budget + 1
    outcomes = container.sweep.sweep(
        time.time(),
        deadline=last_start(context, reserve_s),
        workers=WORKERS,
        part=part,
        parts=parts,
    ).as_dict()
    for outcome, n in outcomes.items():
        observed.count("SweptKeys", n, outcome=outcome)
    if outcomes:
        logger.info("keys swept", extra={"outcomes": outcomes})
    return outcomes


lambda_handler = observed.traced(job_entry(sweep, logger=logger, metrics=metrics))
