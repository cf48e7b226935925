"""What every API function shares: one Powertools resolver with the contract's errors, the
checks that come before routing, and the Lambda entry point.

Order of checks for every request, as the contract wants it:
1. a body over 16 KiB: 413, before anything parses it;
2. a body that is not a UTF-8 JSON object (where one is expected): 400 ``malformed_json``;
3. on every route but the public ones, the session token: 401; on a route API Gateway authorises
   with IAM, the IAM caller API Gateway passes (403 as API Gateway answers, if there is none: the
   route was deployed without its authoriser);
4. Powertools' validation of the body against the route's model: 400 ``invalid_request`` naming
   the fields at fault, never their values (Powertools would answer 422 with its own body);
5. the route.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel

from ..domain.errors import AWS_RETRY_AFTER_S, DomainError
from ..domain.sessions import Session
from ..identity import InvalidIdentity
from ..settings import settings
from ..wechat.errors import WeChatApiError, WeChatError
from .checks import EdgeChecks
from .errors import ApiError, api_error, from_domain, from_identity, from_wechat
from .http import (
    JSON_HEADERS,
    bearer_token,
    body_bytes,
    error_event_response,
    invalid_request,
    json_body,
    request_id,
)

SESSION = "session"
IAM_CALLER = "iam_caller"
FORBIDDEN_BY_GATEWAY = {
    "statusCode": 403,
    "headers": {"Content-Type": "application/json"},
    "body": '{"message":"Forbidden"}',
}
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


def answer(
    status: int, payload: BaseModel | dict[str, Any] | None = None, headers: dict[str, str] | None = None
) -> Response[str]:
    if payload is None:  # e.g. 204: no body, so no content type either
        return Response(status_code=status, headers={"Cache-Control": "no-store", **(headers or {})}, body="")
    return Response(status_code=status, headers={**JSON_HEADERS, **(headers or {})}, body=json_body(payload))


def create_resolver(logger: Logger) -> APIGatewayHttpResolver:
    app = APIGatewayHttpResolver(enable_validation=True)

    def error(err: ApiError) -> Response[str]:
        return answer(err.status, err.body(request_id(app.current_event.raw_event)), err.headers)

    def _api_error(err: ApiError) -> Response[str]:
        logger.info("request refused", extra={"status": err.status, "code": err.code})
        return error(err)

    def _invalid(err: RequestValidationError) -> Response[str]:
        # Powertools' errors quote the input (a name, an ID number): only locations and types pass.
        return _api_error(invalid_request(err.errors(), settings().face_api_version))

    def _identity(err: InvalidIdentity) -> Response[str]:
        return _api_error(from_identity(err))

    def _domain(err: DomainError) -> Response[str]:
        return _api_error(from_domain(err))

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

    def _aws(err: Exception) -> Response[str]:
        return error(aws_unavailable(err, logger))

    def _unexpected(err: Exception) -> Response[str]:
        # The type only: messages of third-party exceptions are not vetted for personal data.
        logger.error("unhandled error", extra={"error_type": type(err).__name__})
        return error(api_error("internal_error"))

    def _not_found(_: Exception) -> Response[str]:
        return error(api_error("not_found"))

    # Registered by call: Powertools' decorators are untyped and would erase these signatures.
    app.exception_handler(ApiError)(_api_error)
    app.exception_handler(RequestValidationError)(_invalid)
    app.exception_handler(RequestUnsupportedContentType)(lambda _: _api_error(api_error("malformed_json")))
    app.exception_handler(InvalidIdentity)(_identity)
    app.exception_handler(DomainError)(_domain)
    app.exception_handler(WeChatError)(_wechat)
    app.exception_handler(BotoCoreError)(_aws)
    app.exception_handler(ClientError)(_aws)
    app.exception_handler(Exception)(_unexpected)
    app.not_found(_not_found)
    return app


def aws_unavailable(err: Exception, logger: Logger) -> ApiError:
    """DynamoDB, SSM or Lambda failed (throttling, an outage) after botocore's own bounded
    retries: 503 with ``Retry-After``, the AWS error code logged for the operator."""
    code = getattr(err, "response", {}).get("Error", {}).get("Code", type(err).__name__)
    logger.error("aws call failed", extra={"error_type": type(err).__name__, "aws_error_code": code})
    return api_error("service_unavailable", headers={"Retry-After": str(AWS_RETRY_AFTER_S)})


def _expects_json_object(event: dict[str, Any], raw: bytes) -> None:
    method = ((event.get("requestContext") or {}).get("http") or {}).get("method", "")
    if method not in _BODY_METHODS:
        return
    try:
        data = json.loads(raw.decode("utf-8"), object_pairs_hook=_unique_names, parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError, RecursionError):  # JSONDecodeError is a ValueError
        raise api_error("malformed_json") from None
    if not isinstance(data, dict):
        raise api_error("malformed_json")


def _unique_names(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An object naming a field twice is refused: which value counts would be up to each parser
    on the way (a gateway's, a log pipeline's, this one's last-wins), so no value is chosen."""
    data = dict(pairs)
    if len(data) != len(pairs):
        raise ValueError("a name appears twice")
    return data


def _no_constant(name: str) -> Any:
    """``NaN`` and ``Infinity`` are not JSON (Python's parser accepts them by default)."""
    raise ValueError(f"{name} is not JSON")


NO_CHECKS = EdgeChecks()


def handle(
    app: APIGatewayHttpResolver,
    event: dict[str, Any],
    context: LambdaContext,
    *,
    logger: Logger,
    public_routes: Collection[str] = (),
    iam_routes: Collection[str] = (),
    checks: EdgeChecks = NO_CHECKS,
) -> dict[str, Any]:
    """The checks before routing (see the module's docstring), then the route."""
    verify = checks.verify
    try:
        _expects_json_object(event, body_bytes(event))
        if checks.prefetch is not None:  # what a cold container reads, in one SSM call
            checks.prefetch()
        if event.get("routeKey") in iam_routes:
            iam = ((event.get("requestContext") or {}).get("authorizer") or {}).get("iam") or {}
            if not iam.get("userArn"):
                logger.error("an IAM route was reached without an IAM caller: check its authoriser")
                return dict(FORBIDDEN_BY_GATEWAY)
            app.context[IAM_CALLER] = str(iam["userArn"])
        elif event.get("routeKey") not in public_routes:
            if verify is None:  # pragma: no cover - a wiring mistake
                raise api_error("unauthorized")
            app.context[SESSION] = verify(bearer_token(dict(event.get("headers") or {})))
    except ApiError as err:
        return error_event_response(err, event)
    except DomainError as err:  # the session token
        return error_event_response(from_domain(err), event)
    except (BotoCoreError, ClientError) as err:  # reading the keys before routing
        return error_event_response(aws_unavailable(err, logger), event)
    # The body is JSON whatever the client called it (wx.request sends application/json).
    headers = dict(event.get("headers") or {})
    for name in [n for n in headers if n.lower() == "content-type"]:
        del headers[name]
    headers["content-type"] = "application/json"
    return app.resolve({**event, "headers": headers}, context)


def client_address(app: APIGatewayHttpResolver) -> str:
    """The caller's address as API Gateway saw it (the TCP peer, not a header a client could set)."""
    return str(app.current_event.request_context.http.source_ip or "unknown")


def caller(app: APIGatewayHttpResolver) -> Session:
    """The verified session of this request: the caller's openid and when its token was issued."""
    session: Session = app.context[SESSION]
    return session


Entry = Callable[[dict[str, Any], LambdaContext, EdgeChecks], dict[str, Any]]


def api_entry(
    app: APIGatewayHttpResolver,
    logger: Logger,
    metrics: Metrics,
    *,
    public_routes: Collection[str] = (),
    iam_routes: Collection[str] = (),
) -> Entry:
    """The Lambda entry point of an API function, called with the event, the context and the
    checks the wiring built for the function (its prefetch, its session verifier): the request
    id as correlation id, the function's metrics flushed (no tracing SDK: Lambda's own X-Ray
    integration traces the invocation). Events and responses carry names, numbers and tokens, so
    neither the event (``log_event``) nor the response (``capture_response``) is ever recorded.

    The handler module calls it as a straight line: ``entry(event, context,
    container.edge_for_keys)``."""

    def routed(event: dict[str, Any], context: LambdaContext, checks: EdgeChecks) -> dict[str, Any]:
        return handle(
            app,
            event,
            context,
            logger=logger,
            public_routes=public_routes,
            iam_routes=iam_routes,
            checks=checks,
        )

    entry: Entry = metrics.log_metrics(routed)
    entry = logger.inject_lambda_context(
        correlation_id_path=correlation_paths.API_GATEWAY_HTTP, log_event=False
    )(entry)
    return entry
