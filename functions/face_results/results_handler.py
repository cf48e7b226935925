"""Results: POST /v1/face/results, GET /v1/face/results/latest, and erasure (DELETE /v1/me)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from wxface import runtime
from wxface.api.http import parse_json
from wxface.api.models import ResultRequestV1, ResultRequestV2
from wxface.api.resolver import answer, caller_openid, create_resolver, handle
from wxface.domain import results
from wxface.settings import settings

logger = Logger(service="face-results")
tracer = Tracer(service="face-results")
metrics = Metrics(service="face-results")
app = create_resolver(logger)


@app.post("/v1/face/results")
def lookup() -> Response[str]:
    openid = caller_openid(app, runtime.signing_keys())
    s = settings()
    policy = results.ResultPolicy(retention_s=s.result_retention_days * 86400)
    deps: dict[str, Any] = {
        "table": runtime.table(),
        "wechat": runtime.wechat(),
        "data_key": runtime.data_key(),
    }
    if s.face_api_version == 1:
        v1 = parse_json(app.current_event.raw_event, ResultRequestV1)
        found = results.lookup_v1(openid, v1.verify_result, policy=policy, **deps)
    else:
        v2 = parse_json(app.current_event.raw_event, ResultRequestV2)
        found = results.lookup_v2(openid, v2.verify_id, policy=policy, **deps)
    metrics.add_metric(
        name="ResultsPassed" if found.passed else "ResultsNotPassed", unit=MetricUnit.Count, value=1
    )
    return answer(200, found)


@app.get("/v1/face/results/latest")
def latest() -> Response[str]:
    openid = caller_openid(app, runtime.signing_keys())
    return answer(200, results.latest(openid, table=runtime.table(), data_key=runtime.data_key()))


@app.delete("/v1/me")
def erase_me() -> Response[str]:
    openid = caller_openid(app, runtime.signing_keys())
    results.erase(openid, table=runtime.table(), data_key=runtime.data_key())
    metrics.add_metric(name="Erasures", unit=MetricUnit.Count, value=1)
    return answer(204)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, log_event=False)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(app, event, context)
