"""``Idempotency-Key`` on ``POST /v1/face/keys``: Powertools Idempotency on the stack's table.

The same key from the same user with the same body within 10 minutes answers what the first
request answered, without calling WeChat or counting against any limit again; the same key with
another body is a 409. Only HMACs enter the record's hashes: Powertools hashes what it is
given, and an unkeyed hash of a name and an ID number could be brute-forced.

Records live in the owner's own partition (``IDEMPOTENCY#<owner>``, the openid's HMAC), so an
erasure finds and deletes them (they hold the key answered), and no partition is shared by every
user's key requests.

Erasure wins every race with them (docs/architecture.md, "Erasure wins every race"):

- the session's erasure epoch is part of the record's id, so a session issued after an erasure
  never meets a record of a request begun before it, even with the same ``Idempotency-Key`` (the
  shipped client retries with the same key after logging in again);
- a record is completed, or deleted after a failure, only by the request that wrote it (a writer
  token set with the in-progress record, checked in the same write): Powertools' own layer
  completes with an unconditional ``UpdateItem``, which would re-create a record an erasure
  deleted meanwhile;
- a stored answer is replayed only after the session is checked against the user's erasure epoch.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ..ports.idempotency import Deadline, IdempotencyStore, RecordErased, check_still_valid, running
from .errors import (
    IdempotencyConflict,
    IdempotencyInProgress,
    InvalidIdempotencyKey,
    SessionEnded,
    StoreUnavailable,
)
from .stack_keys import DataKey

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord

HEADER = "idempotency-key"
TTL_S = 600
_VALID = re.compile(r"[\x21-\x7e]{1,128}")
IN_PROGRESS_WAIT_S = 3.0
IN_PROGRESS_POLL_S = 0.2


def _replay(response: Any, idempotent_data: DataRecord) -> Any:
    """Powertools' response hook, called only for a replayed answer: the session first."""
    check_still_valid()
    return response


def checked_key(value: str | None) -> str | None:
    """An ``Idempotency-Key`` as sent (None: absent); refused unless 1-128 visible ASCII."""
    if value is not None and not _VALID.fullmatch(value):
        raise InvalidIdempotencyKey
    return value


class IdempotentCalls:
    """Runs ``work()`` at most once per (owner, key) in :data:`TTL_S`, replaying its answer.

    ``store`` holds the records (:class:`wxface.ports.idempotency.IdempotencyStore`: the stack's
    table in the functions, memory in the domain tests). Powertools' Idempotency is set up on the
    first call, so a request without an ``Idempotency-Key`` never imports it.
    """

    def __init__(
        self,
        store: IdempotencyStore,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self._sleep = sleep
        self._clock = clock
        self._run: Callable[..., dict[str, Any]] | None = None
        self._config: Any = None

    def erase(self, owner: str) -> None:
        """Delete every record of ``owner`` (erasure)."""
        self.store.erase(owner)

    def _powertools(self) -> Callable[..., dict[str, Any]]:
        if self._run is None:
            from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function

            self._config = IdempotencyConfig(
                event_key_jmespath="[owner, key, epoch]",
                payload_validation_jmespath="body",
                raise_on_no_idempotency_key=True,
                expires_after_seconds=TTL_S,
                response_hook=_replay,
            )

            def run(*, request: dict[str, str], work: Callable[[], dict[str, Any]]) -> dict[str, Any]:
                return work()

            self._run = idempotent_function(
                data_keyword_argument="request", persistence_store=self.store.layer(), config=self._config
            )(run)
        return self._run

    def __call__(
        self,
        *,
        owner: str,
        key: str,
        epoch: int,
        body_mac: str,
        work: Callable[[], dict[str, Any]],
        still_valid: Callable[[], None],
        deadline: Deadline | None = None,
    ) -> dict[str, Any]:
        """``work()`` once per (owner, key, erasure epoch); ``still_valid()`` raises if the
        caller's session ended, and runs before any stored answer is replayed."""
        run = self._powertools()
        if deadline is not None:
            self._config.register_lambda_context(deadline)  # in-progress records end with the invocation
        with running(owner, uuid.uuid4().hex, still_valid):
            return self._once(run, {"owner": owner, "key": key, "epoch": str(epoch), "body": body_mac}, work)

    def _once(
        self, run: Callable[..., dict[str, Any]], request: dict[str, str], work: Callable[[], dict[str, Any]]
    ) -> dict[str, Any]:
        from aws_lambda_powertools.utilities.idempotency.exceptions import (
            IdempotencyAlreadyInProgressError,
            IdempotencyPersistenceLayerError,
            IdempotencyValidationError,
        )

        deadline = self._clock() + IN_PROGRESS_WAIT_S
        while True:
            try:
                answer: dict[str, Any] = run(request=request, work=work)
                return answer
            except IdempotencyValidationError:
                raise IdempotencyConflict from None
            except IdempotencyPersistenceLayerError as err:
                if isinstance(err.__cause__, RecordErased):
                    raise SessionEnded from None  # erased while it ran: its answer is not kept
                raise StoreUnavailable from None
            except IdempotencyAlreadyInProgressError:
                # A double tap: the first request is still running. Wait a little for its answer.
                if self._clock() >= deadline:
                    raise IdempotencyInProgress from None
                self._sleep(IN_PROGRESS_POLL_S)


def at_most_once(
    key: str,
    *,
    openid: str,
    epoch: int,
    body: Mapping[str, Any],
    data_key: DataKey,
    calls: IdempotentCalls,
    work: Callable[[], dict[str, Any]],
    still_valid: Callable[[], None],
    deadline: Deadline | None = None,
) -> dict[str, Any]:
    """``work()`` through :class:`IdempotentCalls`, keyed by the user, the Idempotency-Key and
    the session's erasure epoch, the body compared by its HMAC (never by a plain hash of a name
    and an ID number)."""
    canonical = json.dumps(dict(body), sort_keys=True, ensure_ascii=False)
    return calls(
        owner=data_key.owner(openid),
        key=key,
        epoch=epoch,
        body_mac=data_key.mac("idempotency-body", canonical),
        work=work,
        still_valid=still_valid,
        deadline=deadline,
    )
