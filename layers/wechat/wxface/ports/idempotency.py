"""The idempotency records' store, as the domain uses it, and what its persistence layer learns
of the request running now.

Powertools' persistence layer hears only the idempotency key, and its response hook only the
answer: which user's partition the record goes to, which request wrote it, and how to check the
caller's session before a stored answer is replayed, they read from the context variables
below, set by the domain around each call (``running``). This is the layer's one piece of
request state kept out of the call's arguments, because Powertools' API leaves no other way to
hand it over.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency.persistence.base import BasePersistenceLayer

WRITER_ATTR = "writer"

_OWNER: ContextVar[str] = ContextVar("wxface_idempotency_owner")
_WRITER: ContextVar[str] = ContextVar("wxface_idempotency_writer")
_STILL_VALID: ContextVar[Callable[[], None]] = ContextVar("wxface_idempotency_still_valid")


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


def check_still_valid() -> None:
    """Raise if the running call's session ended since it began (before a replay)."""
    _STILL_VALID.get()()


@contextmanager
def running(owner: str, writer: str, still_valid: Callable[[], None]) -> Iterator[None]:
    """The call inside runs for ``owner`` under ``writer``; ``still_valid`` raises if the
    caller's session ended (checked before a stored answer is replayed)."""
    tokens = (_OWNER.set(owner), _WRITER.set(writer), _STILL_VALID.set(still_valid))
    try:
        yield
    finally:
        _STILL_VALID.reset(tokens[2])
        _WRITER.reset(tokens[1])
        _OWNER.reset(tokens[0])


class Deadline(Protocol):
    """How long the invocation has left (Lambda's context answers it): an in-progress record
    expires with the invocation that wrote it, so a crashed request does not hold its key."""

    def get_remaining_time_in_millis(self) -> int: ...


class IdempotencyStore(Protocol):
    """Where the records live: a Powertools persistence layer (built on first use) and the
    erasure of one owner's records."""

    def layer(self) -> BasePersistenceLayer: ...

    def erase(self, owner: str) -> None: ...
