"""The scheduled runs' way through the table's queue partitions (the outbox for the emitter, the
pending checks for the sweep): a page from each in turn, again while it has more, until none has
or the run's time is spent."""

from __future__ import annotations

from collections.abc import Callable


def in_turns(shards: list[int], visit: Callable[[int], bool], clock: Callable[[], float], end: float) -> None:
    """``visit(shard)`` for each of ``shards`` in turn, again for those it answers ``True`` (more
    is there), until none is left or ``end`` (on ``clock``) has passed; no new visit after it."""
    while shards and clock() < end:
        busy = []
        for shard in shards:
            if visit(shard):
                busy.append(shard)
            if clock() >= end:
                break
        shards = busy
