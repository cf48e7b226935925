"""The stack's parameters (SSM Parameter Store in AWS) and its one token writer, as the domain
uses them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol


class ParameterMissing(LookupError):
    """The parameter does not exist (yet)."""


class SecureParams(Protocol):
    """Secret parameters, read through a per-container cache."""

    def read(self, name: str, *, max_age: int, force: bool = False) -> str:
        """The value, cached ``max_age`` seconds (``force``: read now); :class:`ParameterMissing`
        when there is none."""
        ...

    def read_or_create(self, name: str, make: Callable[[], str], *, max_age: int, force: bool = False) -> str:
        """A secret this stack owns, created with ``make()`` by whoever reads it first (exactly
        one creator wins; everyone reads the winner's value)."""
        ...

    def write(self, name: str, value: str) -> None:
        """Write (overwrite) the value."""
        ...


class Refresher(Protocol):
    """The access token's one writer, run now and waited for (a Lambda invoke in AWS)."""

    def run_now(self, payload: dict[str, Any]) -> dict[str, Any]:
        """What the refresher answered; ``{"ok": False}`` when it failed."""
        ...
