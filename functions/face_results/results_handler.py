"""Results: POST /v1/face/results, GET /v1/face/results/latest, and erasure (DELETE /v1/me)."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from aws_lambda_powertools.utilities.typing import LambdaContext

from wxface.api.models import OPENID_PATTERN, ResultAnswer, ResultRequest, UserResultAnswer
from wxface.api.openapi import responses
from wxface.api.resolver import answer, api_entry, caller, create_resolver
from wxface.runtime import Container

container = Container.for_function("face-results")
observed = container.observed
logger, metrics = observed.logger, observed.metrics
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
    found = container.results.look_up(caller(app), request.api_version, request.reference)
    observed.count("ResultsPassed" if found.passed else "ResultsNotPassed")
    observed.note("result_code", str(found.result_code))  # by code: Logs Insights, not a metric each
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
    return answer(200, container.results.latest(caller(app)))


@app.delete(
    "/v1/me",
    summary="Erase every key record and result of the caller",
    operation_id="eraseMe",
    tags=["privacy"],
    security=[{"session": []}],
    responses=responses(204, None, "Erased (also when there was nothing to erase)", 401, 429),
)
def erase_me() -> Response[str]:
    container.results.erase(caller(app))
    observed.count("Erasures")
    return answer(204)


BUSINESS_ROUTE = "GET /v1/users/{openid}/face/results/latest"


@app.get(
    "/v1/users/<openid>/face/results/latest",
    summary="A user's most recent stored result, for the business's servers (IAM, not a session)",
    operation_id="latestFaceResultForUser",
    tags=["business"],
    security=[{"iam": []}],
    responses=responses(
        200, UserResultAnswer, "The user's newest stored result, with the openid", 400, 403, 404
    ),
)
def latest_for_user(
    openid: Annotated[
        str, Path(pattern=OPENID_PATTERN, description="The user's openid (WeChat's, for this app)")
    ],
) -> Response[str]:
    found, whose = container.results.for_business(openid)
    observed.count("BusinessLookups")
    return answer(200, UserResultAnswer(**found.model_dump(), openid=whose))


entry = api_entry(app, logger, metrics, iam_routes=(BUSINESS_ROUTE,))


def handle(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return entry(event, context, container.edge_for_results)


lambda_handler = observed.traced(handle)
