"""Token refresher: the one writer of the shared access token (schedule, or a reader's invoke)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from wxface.domain.tokens import refresh_token
from wxface.jobs import job_entry
from wxface.runtime import Container

container = Container.for_function("token-refresher")
observed = container.observed
logger, metrics = observed.logger, observed.metrics


def refresh(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    s = container.settings
    refused = event.get("refused_token_sha256") if isinstance(event, dict) else None
    result = refresh_token(
        container.wechat_without_token,
        container.params,
        s.app_id,
        s.app_secret_param,
        s.access_token_param,
        refused_token_sha256=refused if isinstance(refused, str) else None,
        secret_cache_s=s.secret_cache_s,
    )
    observed.count("TokenRefreshes")
    if result["changed"]:
        observed.count("TokenChanged")
    # Alarmed on: below WeChat's 5-minute overlap means the token is not being renewed.
    observed.count("TokenSecondsLeft", result["expires_in"], unit="Seconds")
    logger.info(
        "token checked",
        extra={
            "changed": result["changed"],
            "forced": result["forced"],
            "expires_in": result["expires_in"],
            "trigger": event.get("source", "unknown") if isinstance(event, dict) else "unknown",
        },
    )
    return result


lambda_handler = observed.traced(job_entry(refresh, logger=logger, metrics=metrics))
