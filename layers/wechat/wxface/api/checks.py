"""What the edge runs before routing a request, as the wiring hands it over: the function's
prefetch (its parameters read together) and, for the session routes, the token verifier.

Both are objects of the layers below (``dal``'s ``Prefetch``, the domain's ``SessionVerifier``),
so the edge calls down into them, never back up into the wiring."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..domain.sessions import Session


@dataclass(frozen=True)
class EdgeChecks:
    prefetch: Callable[[], None] | None = None
    verify: Callable[[str], Session] | None = None  # None: the function has no session routes
