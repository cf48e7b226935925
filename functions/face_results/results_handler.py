"""Results: POST /v1/face/results, GET /v1/face/results/latest, and erasure (DELETE /v1/me)."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body

from wxface import observability, runtime
from wxface.api.errors import api_error
from wxface.api.models import ResultAnswer, ResultRequest, ResultRequestV1
from wxface.api.openapi import responses
from wxface.api.resolver import answer, api_entry, caller_openid, create_resolver
from wxface.settings import settings

observed = observability.for_function("face-results")
logger, metrics, tracer = observed.logger, observed.metrics, observed.tracer
app = create_resolver(logger)


@app.post(
    "/v1/face/results",
    summary="Look up the result of a face check (WeChat once, then stored)",
    operation_id="lookUpFaceResult",
    tags=["face"],
    security=[{"session": []}],
    responses=responses(
        200, ResultAnswer, "The result; a failed face check is passed: false", 401, 403, 404, 410, 429
    ),
)
def look_up_result(request: Annotated[ResultRequest, Body()]) -> Response[str]:
    s = settings()
    if isinstance(request, ResultRequestV1) != (s.face_api_version == 1):
        field = "verify_result" if s.face_api_version == 1 else "verify_id"
        raise api_error(
            "invalid_request",
            message=f"This deployment uses face API {s.face_api_version}.0: send {field}",
            message_zh=f"本服务使用人脸核身 {s.face_api_version}.0 接口：请提供 {field}",
        )
    openid, lookup = caller_openid(app), runtime.results()
    found = (
        lookup.v1(openid, request.verify_result)
        if isinstance(request, ResultRequestV1)
        else lookup.v2(openid, request.verify_id)
    )
    observed.count("ResultsPassed" if found.passed else "ResultsNotPassed")
    observed.count("Results", passed=str(found.passed).lower(), result_code=str(found.result_code))
    return answer(200, found)


@app.get(
    "/v1/face/results/latest",
    summary="The caller's most recent stored result",
    operation_id="latestFaceResult",
    tags=["face"],
    security=[{"session": []}],
    responses=responses(200, ResultAnswer, "The newest stored result", 401, 404, 429),
)
def latest() -> Response[str]:
    return answer(200, runtime.results().latest(caller_openid(app)))


@app.delete(
    "/v1/me",
    summary="Erase every key record and result of the caller",
    operation_id="eraseMe",
    tags=["privacy"],
    security=[{"session": []}],
    responses=responses(204, None, "Erased (also when there was nothing to erase)", 401, 429),
)
def erase_me() -> Response[str]:
    runtime.results().erase(caller_openid(app))
    observed.count("Erasures")
    return answer(204)


lambda_handler = api_entry(
    app, logger, tracer, metrics, signing_keys=runtime.signing_keys, prefetch=runtime.prefetch_for_api
)
