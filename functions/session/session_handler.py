"""POST /v1/session: a wx.login code for a short-lived session token bound to the openid."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from wxface.api.models import SessionAnswer, SessionRequest
from wxface.api.openapi import responses
from wxface.api.resolver import answer, api_entry
from wxface.api.router import Request, Response, Router
from wxface.runtime import Container

container = Container.for_function("session")
observed = container.observed
logger, metrics = observed.logger, observed.metrics
app = Router()


@app.route(
    "POST",
    "/v1/session",
    summary="Log in with a wx.login code",
    operation_id="createSession",
    tags=("session",),
    security=None,  # public: it is how a session begins
    body=SessionRequest,
    responses=responses(200, SessionAnswer, "A session token for the user", 403, 429),
)
def create_session(request: Request, body: SessionRequest) -> Response:
    session = container.login(body.code, request.source_ip)
    observed.count("SessionsCreated")
    return answer(200, session)


entry = api_entry(app, logger, metrics)


def handle(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return entry(event, context, container.edge_for_login)


lambda_handler = observed.traced(handle)
