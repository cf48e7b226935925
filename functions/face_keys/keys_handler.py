"""POST /v1/face/keys: the key the mini-program hands to WeChat's face check."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.metrics import MetricUnit

from wxface import observability, runtime
from wxface.api.models import KeyAnswer, KeyRequest
from wxface.api.openapi import responses
from wxface.api.resolver import answer, api_entry, caller_openid, create_resolver
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
def create_key(request: Annotated[KeyRequest, Body()]) -> Response[str]:
    s = settings()
    issued = issue_key(
        caller_openid(app),
        request.name,
        request.id_card_number,
        policy=IssuancePolicy(s.face_api_version, s.key_limit_per_hour, s.lookup_window_s),
        table=runtime.table(),
        wechat=runtime.wechat(),
        data_key=runtime.data_key(),
    )
    metrics.add_metric(name="KeysIssued", unit=MetricUnit.Count, value=1)
    return answer(200, issued)


lambda_handler = api_entry(
    app, logger, tracer, metrics, signing_keys=runtime.signing_keys, prefetch=runtime.prefetch_for_api
)
