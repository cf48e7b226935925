"""Results: POST /v1/face/results, GET /v1/face/results/latest, and erasure (DELETE /v1/me)."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.metrics import MetricUnit

from wxface import observability, runtime
from wxface.api.http import parse_json
from wxface.api.models import ResultRequestV1, ResultRequestV2
from wxface.api.resolver import answer, api_entry, caller_openid, create_resolver
from wxface.domain import results
from wxface.settings import settings

logger = Logger(service="face-results")
tracer = Tracer(service="face-results")
metrics = Metrics(service="face-results")
app = create_resolver(logger)


@app.post("/v1/face/results")
def look_up_result() -> Response[str]:
    openid = caller_openid(app, runtime.signing_keys())
    s = settings()
    lookup = results.ResultLookup(
        runtime.table(), runtime.wechat(), runtime.data_key(), retention_s=s.result_retention_days * 86400
    )
    if s.face_api_version == 1:
        found = lookup.v1(openid, parse_json(app.current_event.raw_event, ResultRequestV1).verify_result)
    else:
        found = lookup.v2(openid, parse_json(app.current_event.raw_event, ResultRequestV2).verify_id)
    metrics.add_metric(
        name="ResultsPassed" if found.passed else "ResultsNotPassed", unit=MetricUnit.Count, value=1
    )
    observability.count(
        "Results",
        {
            "service": "face-results",
            "passed": str(found.passed).lower(),
            "result_code": str(found.result_code),
        },
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


lambda_handler = api_entry(app, logger, tracer, metrics)
