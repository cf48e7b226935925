"""POST /v1/face/keys: the key the mini-program hands to WeChat's face check."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Header
from aws_lambda_powertools.metrics import MetricUnit

from wxface import observability, runtime
from wxface.api.models import KeyAnswer, KeyRequest
from wxface.api.openapi import responses
from wxface.api.resolver import answer, api_entry, caller_openid, create_resolver
from wxface.domain.idempotency import at_most_once, idempotency_key
from wxface.domain.issuance import IssuancePolicy, issue_key
from wxface.settings import settings

logger = Logger(service="face-keys")
tracer = observability.tracer("face-keys")
metrics = Metrics(service="face-keys")
app = create_resolver(logger)


@app.post(
    "/v1/face/keys",
    summary="Issue the key for WeChat's face check (1.0 user_id_key, 2.0 verify_id)",
    operation_id="issueFaceKey",
    tags=["face"],
    security=[{"session": []}],
    responses=responses(200, KeyAnswer, "The key, valid for expires_in seconds", 401, 409, 429),
)
def create_key(
    request: Annotated[KeyRequest, Body()],
    idempotency: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            description="One per user action (1-128 visible ASCII): a retry with the same key and "
            "body within 10 minutes gets the same answer without a second WeChat call",
        ),
    ] = None,
) -> Response[str]:
    s = settings()
    openid = caller_openid(app)
    # `idempotency` is declared for the OpenAPI document; the header is read and checked here.
    key = idempotency_key(app.current_event.headers)

    def issue() -> dict[str, Any]:
        issued = issue_key(
            openid,
            request.name,
            request.id_card_number,
            policy=IssuancePolicy(
                s.face_api_version, s.key_limit_per_hour, s.lookup_window_s, s.audit_retention_days * 86400
            ),
            table=runtime.table(),
            wechat=runtime.wechat(),
            data_key=runtime.data_key(),
        )
        metrics.add_metric(name="KeysIssued", unit=MetricUnit.Count, value=1)
        return issued.model_dump(mode="json")

    if key is None:
        return answer(200, issue())
    replayable = at_most_once(
        key,
        openid=openid,
        body=request.model_dump(mode="json"),
        data_key=runtime.data_key(),
        calls=runtime.idempotent_calls(),
        work=issue,
        context=app.lambda_context,
    )
    return answer(200, replayable)


lambda_handler = api_entry(
    app, logger, tracer, metrics, signing_keys=runtime.signing_keys, prefetch=runtime.prefetch_for_api
)
