"""What every API function shares: the router (api/router.py) with the contract's errors, the
checks that come before routing, and the Lambda entry point.

Order of checks for every request, as the contract wants it:
1. a body over 16 KiB: 413, before anything parses it;
2. a body that is not a UTF-8 JSON object (where one is expected): 400 ``malformed_json``;
3. on a route that needs a session, the session token: 401; on a route API Gateway authorises
   with IAM, the IAM caller API Gateway passes (403 as API Gateway answers, if there is none: the
   route was deployed without its authoriser);
4. the path parameters' patterns and the body against the route's model: 400 ``invalid_request``
   naming the field at fault (the first found), never its value;
5. the route.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import msgspec
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import BotoCoreError, ClientError

from ..domain.errors import AWS_RETRY_AFTER_S, DomainError
from ..identity import InvalidIdentity
from ..settings import settings
from ..wechat.errors import WeChatApiError, WeChatError
from .checks import EdgeChecks
from .errors import ApiError, api_error, from_domain, from_identity, from_wechat
from .http import JSON_HEADERS, bearer_token, body_bytes, invalid_request, json_body, request_id
from .router import IAM, SESSION, InvalidBody, Request, Response, Router

FORBIDDEN_BY_GATEWAY = {
    "statusCode": 403,
    "headers": {"Content-Type": "application/json"},
    "body": '{"message":"Forbidden"}',
}
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


def answer(
    status: int, payload: msgspec.Struct | dict[str, Any] | None = None, headers: dict[str, str] | None = None
) -> Response:
    if payload is None:  # e.g. 204: no body, so no content type either
        return Response(status, "", {"Cache-Control": "no-store", **(headers or {})})
    return Response(status, json_body(payload), {**JSON_HEADERS, **(headers or {})})


def _error(err: ApiError, event: dict[str, Any]) -> dict[str, Any]:
    return answer(err.status, err.body(request_id(event)), err.headers).event()


def _refused(err: ApiError, event: dict[str, Any], logger: Logger) -> dict[str, Any]:
    logger.info("request refused", extra={"status": err.status, "code": err.code})
    return _error(err, event)


def _answer_error(err: Exception, event: dict[str, Any], logger: Logger) -> dict[str, Any]:
    """What a route's failure answers: each kind of error mapped from its one table
    (api/errors.py), and logged without its message (third-party messages are not vetted for
    personal data)."""
    if isinstance(err, ApiError):
        return _refused(err, event, logger)
    if isinstance(err, InvalidBody):
        return _refused(invalid_request(err.errors), event, logger)
    if isinstance(err, InvalidIdentity):
        return _refused(from_identity(err), event, logger)
    if isinstance(err, DomainError):
        return _refused(from_domain(err), event, logger)
    if isinstance(err, WeChatError):
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
        return _error(mapped, event)
    if isinstance(err, BotoCoreError | ClientError):
        return _error(aws_unavailable(err, logger), event)
    logger.error("unhandled error", extra={"error_type": type(err).__name__})
    return _error(api_error("internal_error"), event)


def aws_unavailable(err: Exception, logger: Logger) -> ApiError:
    """DynamoDB, SSM or Lambda failed (throttling, an outage) after botocore's own bounded
    retries: 503 with ``Retry-After``, the AWS error code logged for the operator."""
    code = getattr(err, "response", {}).get("Error", {}).get("Code", type(err).__name__)
    logger.error("aws call failed", extra={"error_type": type(err).__name__, "aws_error_code": code})
    return api_error("service_unavailable", headers={"Retry-After": str(AWS_RETRY_AFTER_S)})


def _json_object(event: dict[str, Any], raw: bytes) -> dict[str, Any] | None:
    """The body of a method that carries one, as one JSON object (400 otherwise); None for the
    others."""
    method = ((event.get("requestContext") or {}).get("http") or {}).get("method", "")
    if method not in _BODY_METHODS:
        return None
    try:
        data = json.loads(raw.decode("utf-8"), object_pairs_hook=_unique_names, parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError, RecursionError):  # JSONDecodeError is a ValueError
        raise api_error("malformed_json") from None
    if not isinstance(data, dict):
        raise api_error("malformed_json")
    return data


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
    router: Router,
    event: dict[str, Any],
    context: LambdaContext,
    *,
    logger: Logger,
    checks: EdgeChecks = NO_CHECKS,
) -> dict[str, Any]:
    """The checks before routing (see the module's docstring), then the route."""
    try:
        body = _json_object(event, body_bytes(event))
        route = router.find(event)
        if route is None:  # API Gateway sends a function only its own routes
            raise api_error("not_found")
        if checks.prefetch is not None:  # what a cold container reads, in one SSM call
            checks.prefetch()
        request = Request(event, context, dict(event.get("pathParameters") or {}))
        if route.security == IAM:
            iam = ((event.get("requestContext") or {}).get("authorizer") or {}).get("iam") or {}
            if not iam.get("userArn"):
                logger.error("an IAM route was reached without an IAM caller: check its authoriser")
                return dict(FORBIDDEN_BY_GATEWAY)
            request = Request(event, context, request.path, iam_caller=str(iam["userArn"]))
        elif route.security == SESSION:
            if checks.verify is None:  # pragma: no cover - a wiring mistake
                raise api_error("unauthorized")
            session = checks.verify(bearer_token(dict(event.get("headers") or {})))
            request = Request(event, context, request.path, session=session)
    except ApiError as err:
        return _error(err, event)
    except DomainError as err:  # the session token
        return _error(from_domain(err), event)
    except (BotoCoreError, ClientError) as err:  # reading the keys before routing
        return _error(aws_unavailable(err, logger), event)
    try:
        return router.call(route, request, body, settings().face_api_version).event()
    except Exception as err:  # every failure of a route answers the contract's error body
        return _answer_error(err, event, logger)


Entry = Callable[[dict[str, Any], LambdaContext, EdgeChecks], dict[str, Any]]


def api_entry(router: Router, logger: Logger, metrics: Metrics) -> Entry:
    """The Lambda entry point of an API function, called with the event, the context and the
    checks the wiring built for the function (its prefetch, its session verifier): the request
    id as correlation id, the function's metrics flushed (no tracing SDK: Lambda's own X-Ray
    integration traces the invocation). Events and responses carry names, numbers and tokens, so
    neither the event (``log_event``) nor the response (``capture_response``) is ever recorded.

    The handler module calls it as a straight line: ``entry(event, context,
    container.edge_for_keys)``."""

    def routed(event: dict[str, Any], context: LambdaContext, checks: EdgeChecks) -> dict[str, Any]:
        return handle(router, event, context, logger=logger, checks=checks)

    entry: Entry = metrics.log_metrics(routed)
    entry = logger.inject_lambda_context(
        correlation_id_path=correlation_paths.API_GATEWAY_HTTP, log_event=False
    )(entry)
    return entry
