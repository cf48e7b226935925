"""Key rotator: a new session signing key on a schedule (default every 30 days).

The new key signs only once every container has re-read the key set (``KEY_CACHE_SECONDS``
and a margin); the previous keys keep verifying until the last token they signed has expired
(``SESSION_TTL_SECONDS`` and a margin), so no logged-in user is thrown out by a rotation.
"""

from __future__ import annotations

import time
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from wxface.domain.stack_keys import rotate_signing_keys
from wxface.jobs import job_entry
from wxface.runtime import Container

container = Container.for_function("key-rotator")
observed = container.observed
logger, metrics = observed.logger, observed.metrics

MARGIN_S = 60  # clock skew between containers; never more than the cache age itself


def rotate(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """The schedule's event rotates gently; ``{"emergency": true}`` (an operator, after a leak)
    replaces the whole set with a key that signs at once: every older token fails on every
    container within ``KEY_CACHE_SECONDS`` (docs/runbook.md)."""
    s = container.settings
    emergency = isinstance(event, dict) and event.get("emergency") is True
    result = rotate_signing_keys(
        container.params,
        s.signing_key_param,
        int(time.time()),
        activation_delay_s=s.key_cache_s + min(MARGIN_S, s.key_cache_s),
        keep_s=s.session_ttl_s + MARGIN_S,
        emergency=emergency,
    )
    observed.count("SigningKeyRotations")
    if emergency:
        logger.warning(
            "emergency rotation: every session signed before now ends", extra={"kid": result["kid"]}
        )
    # The kid is public (it is in every token's header); the key itself never leaves SSM.
    logger.info("signing key rotated", extra={"kid": result["kid"], "signs_from": result["not_before"],
                                              "keys": result["keys"]})  # fmt: skip
    return result


lambda_handler = observed.traced(job_entry(rotate, logger=logger, metrics=metrics))
