"""Results: POST /v1/face/results, GET /v1/face/results/latest, and erasure (DELETE /v1/me)."""

from __future__ import annotations

from typing import Any

import msgspec
from aws_lambda_powertools.utilities.typing import LambdaContext

from wxface.api.models import OPENID_PATTERN, RESULT_REQUEST, ResultAnswer, ResultRequest, UserResultAnswer
from wxface.api.openapi import responses
from wxface.api.resolver import answer, api_entry
from wxface.api.router import IAM, PathParam, Request, Response, Router
from wxface.runtime import Container

container = Container.for_function("face-results")
observed = container.observed
logger, metrics = observed.logger, observed.metrics
app = Router()


@app.route(
    "POST",
    "/v1/face/results",
    summary="Look up the result of a face check (WeChat once, then stored)",
    operation_id="lookUpFaceResult",
    tags=("face",),
    body=RESULT_REQUEST,
    responses=responses(
        200, ResultAnswer, "The result; a failed face check is passed: false", 401, 403, 404, 410, 429
    ),
)
def look_up_result(request: Request, body: ResultRequest) -> Response:
    found = container.results.look_up(request.caller, body.api_version, body.reference)
    observed.count("ResultsPassed" if found.passed else "ResultsNotPassed")
    observed.note("result_code", str(found.result_code))  # by code: Logs Insights, not a metric each
    return answer(200, found)


@app.route(
    "GET",
    "/v1/face/results/latest",
    summary="The caller's most recent stored result",
    operation_id="latestFaceResult",
    tags=("face",),
    responses=responses(200, ResultAnswer, "The newest stored result", 401, 404, 429),
)
def latest(request: Request) -> Response:
    return answer(200, container.results.latest(request.caller))


@app.route(
    "DELETE",
    "/v1/me",
    summary="Erase every key record and result of the caller",
    operation_id="eraseMe",
    tags=("privacy",),
    responses=responses(204, None, "Erased (also when there was nothing to erase)", 401, 429),
)
def erase_me(request: Request) -> Response:
    container.results.erase(request.caller)
    observed.count("Erasures")
    return answer(204)


@app.route(
    "GET",
    "/v1/users/{openid}/face/results/latest",
    summary="A user's most recent stored result, for the business's servers (IAM, not a session)",
    operation_id="latestFaceResultForUser",
    tags=("business",),
    security=IAM,
    path_params=(PathParam("openid", "The user's openid (WeChat's, for this app)", OPENID_PATTERN),),
    responses=responses(
        200, UserResultAnswer, "The user's newest stored result, with the openid", 400, 403, 404
    ),
)
def latest_for_user(request: Request) -> Response:
    found, whose = container.results.for_business(request.path["openid"])
    observed.count("BusinessLookups")
    return answer(200, UserResultAnswer(**msgspec.structs.asdict(found), openid=whose))


entry = api_entry(app, logger, metrics)


def handle(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return entry(event, context, container.edge_for_results)


lambda_handler = observed.traced(handle)
