"""Time pieces of a request where they run (inside the handler), not in a loop of their own: in
a tight loop a piece has the CPU's caches to itself and looks about half as long."""

from __future__ import annotations

import time
from typing import Any

from .common import median


class Spans:
    def __init__(self) -> None:
        self.on = False
        self.times: dict[str, list[float]] = {}

    def add(self, label: str, seconds: float) -> None:
        if self.on:
            self.times.setdefault(label, []).append(seconds)

    def wrap(self, owner: Any, attribute: str, label: str) -> None:
        """Replace ``owner.attribute`` by a timed call of the original (for this process only)."""
        original = getattr(owner, attribute)
        spans = self

        def timed(*args: Any, **kwargs: Any) -> Any:
            if not spans.on:
                return original(*args, **kwargs)
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                spans.add(label, time.perf_counter() - started)

        setattr(owner, attribute, timed)

    def median(self, label: str) -> float:
        return median(self.times[label])
