"""The idempotency records' store, as the domain uses it, and what its persistence layer learns
of the request running now.

Powertools' persistence layer hears only the idempotency key: which user's partition the record
goes to, and which request wrote it, it reads from the two context variables below, set by the
domain around each call (``running``). This is the layer's one piece of request state kept out of
the call's arguments, because Powertools' API leaves no other way to hand it over.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency.persistence.base import BasePersistenceLayer

WRITER_ATTR = "writer"

_OWNER: ContextVar[str] = ContextVar("wxface_idempotency_owner")
_WRITER: ContextVar[str] = ContextVar("wxface_idempotency_writer")


class RecordErased(Exception):
    """The running request's record is gone (an erasure deleted it) or is not its own: it is
    neither completed nor deleted."""


def partition(owner: str) -> str:
    return f"IDEMPOTENCY#{owner}"


def current_owner() -> str:
    """The owner (the openid's HMAC) of the idempotent call running now: its record's partition."""
    return _OWNER.get()


def current_writer() -> str:
    """The writer token of the idempotent call running now: written with its in-progress record,
    required to complete or delete it."""
    return _WRITER.get()


@contextmanager
def running(owner: str, writer: str) -> Iterator[None]:
    """The call inside runs for ``owner`` under ``writer``, as the persistence layer reads it."""
    tokens = (_OWNER.set(owner), _WRITER.set(writer))
    try:
        yield
    finally:
        _WRITER.reset(tokens[1])
        _OWNER.reset(tokens[0])


class IdempotencyStore(Protocol):
    """Where the records live: a Powertools persistence layer (built on first use) and the
    erasure of one owner's records."""

    def layer(self) -> BasePersistenceLayer: ...

    def erase(self, owner: str) -> None: ...
