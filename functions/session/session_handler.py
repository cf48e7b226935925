"""POST /v1/session: a wx.login code for a short-lived session token bound to the openid."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.metrics import MetricUnit

from wxface import observability, runtime
from wxface.api.models import SessionAnswer, SessionRequest
from wxface.api.openapi import responses
from wxface.api.resolver import answer, api_entry, create_resolver
from wxface.api.sessions import issue_session
from wxface.settings import settings

logger = Logger(service="session")
tracer = observability.tracer("session")
metrics = Metrics(service="session")
app = create_resolver(logger)


@app.post(
    "/v1/session",
    summary="Log in with a wx.login code",
    operation_id="createSession",
    tags=["session"],
    responses=responses(200, SessionAnswer, "A session token for the user", 429),
)
def create_session(request: Annotated[SessionRequest, Body()]) -> Response[str]:
    s = settings()
    # session_key stays inside this call: never returned, stored or logged.
    login = runtime.wechat_without_token().code2session(s.app_id, runtime.app_secret(), request.code)
    token = issue_session(login.openid, runtime.signing_keys(), s.session_ttl_s)
    metrics.add_metric(name="SessionsCreated", unit=MetricUnit.Count, value=1)
    return answer(200, SessionAnswer(token=token, expires_in=s.session_ttl_s))


lambda_handler = api_entry(app, logger, tracer, metrics, public_routes={"POST /v1/session"})
