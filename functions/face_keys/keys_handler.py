"""POST /v1/face/keys: the key the mini-program hands to WeChat's face check."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from wxface import runtime
from wxface.api.http import parse_json
from wxface.api.models import KeyRequest
from wxface.api.resolver import answer, caller_openid, create_resolver, handle
from wxface.domain.issuance import IssuancePolicy, issue_key
from wxface.settings import settings

logger = Logger(service="face-keys")
tracer = Tracer(service="face-keys")
metrics = Metrics(service="face-keys")
app = create_resolver(logger)


@app.post("/v1/face/keys")
def create_key() -> Response[str]:
    openid = caller_openid(app, runtime.signing_keys())
    request = parse_json(app.current_event.raw_event, KeyRequest)
    s = settings()
    issued = issue_key(
        openid,
        request.name,
        request.id_card_number,
        policy=IssuancePolicy(s.face_api_version, s.key_limit_per_hour, s.lookup_window_s),
        table=runtime.table(),
        wechat=runtime.wechat(),
        data_key=runtime.data_key(),
    )
    metrics.add_metric(name="KeysIssued", unit=MetricUnit.Count, value=1)
    return answer(200, issued)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, log_event=False)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(app, event, context)
