"""What the domain refuses, as typed errors; the HTTP side (``api/errors.py``) maps each to the
contract through its one table (the refusal's code, status and messages). The domain never
imports the HTTP side.

An error carries only what the answer needs beyond its type (``NotFound("verify_id")`` names
what was not found, ``retry_after`` when to try again), never a value the caller sent.
"""

from __future__ import annotations

from typing import Literal


class DomainError(Exception):
    """A request the domain refuses; ``retry_after`` (seconds) where waiting helps."""

    def __init__(self, *, retry_after: int | None = None) -> None:
        super().__init__(type(self).__name__)
        self.retry_after = retry_after


class RateLimited(DomainError):
    """The caller's own limit for this kind of request is used up until the window ends;
    ``scope`` names the limit ("keys", "lookups", "erasures", "sessions-by-address")."""

    def __init__(self, *, retry_after: int | None = None, scope: str | None = None) -> None:
        super().__init__(retry_after=retry_after)
        self.scope = scope


Refused = Literal["keys", "lookups", "logins", "photos", "calls"]


class QuotaGuardRefused(DomainError):
    """The stack's WeChat budget for this kind of call is used up for now (this hour's budget,
    or today's quota until Beijing midnight); ``what`` names the kind: new face checks ("keys"),
    result lookups ("lookups"), logins, or other calls."""

    def __init__(self, *, retry_after: int | None = None, what: Refused = "calls") -> None:
        super().__init__(retry_after=retry_after)
        self.what: Refused = what


class Forbidden(DomainError):
    """A result or key that belongs to another user."""


class NotFound(DomainError):
    """An unknown reference; ``what`` names it for the message (e.g. "verify_id")."""

    def __init__(self, what: str | None = None) -> None:
        super().__init__()
        self.what = what


class NoResult(DomainError):
    """The caller has no stored result yet."""


class KeyExpired(DomainError):
    """A key past its lifetime: ask for a new one."""


class Unauthorized(DomainError):
    """No valid session token."""


class SessionEnded(DomainError):
    """A session issued before the user erased their data (``DELETE /v1/me``): 401."""


class SessionExpired(DomainError):
    """A session token past its lifetime."""


class InvalidIdempotencyKey(DomainError):
    """An ``Idempotency-Key`` that is not 1-128 visible ASCII characters."""


class IdempotencyConflict(DomainError):
    """An ``Idempotency-Key`` used again with another body."""


class IdempotencyInProgress(DomainError):
    """The first request with this ``Idempotency-Key`` is still running."""


# What a client is told to wait after an AWS failure outlasted botocore's retries.
AWS_RETRY_AFTER_S = 2


class StoreUnavailable(DomainError):
    """The stack's own store failed (after its retries): worth another try shortly."""

    def __init__(self) -> None:
        super().__init__(retry_after=AWS_RETRY_AFTER_S)


class WrongFaceApiVersion(DomainError):
    """A lookup for the other face API version than this deployment uses (a 1.0 verify_result
    sent to a 2.0 deployment, or the reverse): a 400, never a call to WeChat."""

    def __init__(self, deployed: Literal[1, 2]) -> None:
        super().__init__()
        self.deployed: Literal[1, 2] = deployed


class InvalidBizRef(DomainError):
    """A ``biz_ref`` that is not 1-64 of ``[A-Za-z0-9_.:-]``: a 400, before anything is counted."""


class InvalidRequest(DomainError):
    """A body the edge's model admits but the use case cannot take (e.g. ``order_id`` with an
    identity): a 400, before anything is counted or sent."""


class IdentitySourceRefused(DomainError):
    """An identity from a source this deployment does not take (``IdentitySource``): a typed
    identity where only orders are taken, or an order where only typed identities are."""

    def __init__(self, taken: Literal["user", "business"]) -> None:
        super().__init__()
        self.taken: Literal["user", "business"] = taken


class OrderCancelled(DomainError):
    """A key asked for an order the business cancelled."""


class OrderPassed(DomainError):
    """A key asked for an order that has already passed."""


class OrderExpired(DomainError):
    """A key asked for an order past its ``expires_in``."""


class OrderNotCancellable(DomainError):
    """A cancellation of an order that passed or expired (final states of their own)."""

    def __init__(self, status: Literal["passed", "expired"]) -> None:
        super().__init__()
        self.status: Literal["passed", "expired"] = status


class OrderUserErased(DomainError):
    """The order's user erased their data while the order was being created: nothing was kept."""


class PhotoExpired(DomainError):
    """The passing key of the order has expired: WeChat no longer gives its photo."""
