"""What every API function shares: one Powertools resolver set up with the contract's errors,
the 16 KiB body limit, and the session check."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel

from ..identity import InvalidIdentity
from ..wechat.errors import WeChatApiError, WeChatError
from .errors import ApiError, api_error, from_identity, from_wechat
from .http import JSON_HEADERS, body_bytes, error_event_response, json_body, request_id
from .sessions import bearer_token, verify_session


def answer(
    status: int, payload: BaseModel | dict[str, Any] | None = None, headers: dict[str, str] | None = None
) -> Response[str]:
    return Response(
        status_code=status,
        headers={**JSON_HEADERS, **(headers or {})},
        body=json_body(payload) if payload is not None else "",
    )


def create_resolver(logger: Logger) -> APIGatewayHttpResolver:
    app = APIGatewayHttpResolver()

    def error(err: ApiError) -> Response[str]:
        return answer(err.status, err.body(request_id(app.current_event.raw_event)), err.headers)

    def _api_error(err: ApiError) -> Response[str]:
        logger.info("request refused", extra={"status": err.status, "code": err.code})
        return error(err)

    def _identity(err: InvalidIdentity) -> Response[str]:
        return _api_error(from_identity(err))

    def _wechat(err: WeChatError) -> Response[str]:
        mapped = from_wechat(err)
        logger.warning(
            "wechat call failed",
            extra={
                "status": mapped.status,
                "code": mapped.code,
                "endpoint": err.endpoint,
                "wechat_errcode": err.errcode if isinstance(err, WeChatApiError) else None,
            },
        )
        return error(mapped)

    def _unexpected(err: Exception) -> Response[str]:
        # The type only: messages of third-party exceptions are not vetted for personal data.
        logger.error("unhandled error", extra={"error_type": type(err).__name__})
        return error(api_error("internal_error"))

    def _not_found(_: Exception) -> Response[str]:
        return error(api_error("not_found"))

    # Registered by call: Powertools' decorators are untyped and would erase these signatures.
    app.exception_handler(ApiError)(_api_error)
    app.exception_handler(InvalidIdentity)(_identity)
    app.exception_handler(WeChatError)(_wechat)
    app.exception_handler(Exception)(_unexpected)
    app.not_found(_not_found)
    return app


def handle(app: APIGatewayHttpResolver, event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Refuse an oversized body before anything parses it, then route."""
    try:
        body_bytes(event)
    except ApiError as err:
        return error_event_response(err, event)
    return app.resolve(event, context)


Handler = Callable[[dict[str, Any], LambdaContext], dict[str, Any]]


def api_entry(app: APIGatewayHttpResolver, logger: Logger, tracer: Tracer, metrics: Metrics) -> Handler:
    """The Lambda entry point of an API function: the request id as correlation id, cold-start
    metric, tracing. Events and responses carry names, numbers and tokens, so neither the
    event (``log_event``) nor the response (``capture_response``) is ever recorded."""

    @logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, log_event=False)
    @tracer.capture_lambda_handler(capture_response=False)
    @metrics.log_metrics(capture_cold_start_metric=True)
    def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        return handle(app, event, context)

    return cast(Handler, lambda_handler)


def caller_openid(app: APIGatewayHttpResolver, signing_keys: Any) -> str:
    """The openid of the session token in the Authorization header (401 otherwise)."""
    token = bearer_token(dict(app.current_event.headers or {}))
    return verify_session(token, signing_keys)
