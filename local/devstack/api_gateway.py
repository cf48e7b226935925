"""A local HTTP API (API Gateway, payload format 2.0) in front of the template's functions."""

from __future__ import annotations

import base64
import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

from .awswire import SignatureError, parse_authorization, verify_signature
from .functions import Functions, InvokeError
from .iam import AuthzRequest, LocalIam, Principal, evaluate
from .template import ACCOUNT_ID, API_ID, REGION, Route

log = logging.getLogger("devstack.api")

MAX_PAYLOAD = 10 * 1024 * 1024  # API Gateway's own limit; the functions enforce 16 KiB
# HTTP API quota "Total combined size of request line and header values", not adjustable. AWS
# documents the limit, not its answer: refused here, as there, before any route or function.
MAX_REQUEST_LINE_AND_HEADER_VALUES = 10240
HEADERS_TOO_LARGE = {"message": "Request Header Fields Too Large"}
# Lambda's synchronous invocation payload, each way: an event or an answer past it never reaches
# the handler (or the client); API Gateway answers as for any failed invocation.
MAX_INVOKE_PAYLOAD = 6 * 1024 * 1024
INTERNAL_ERROR = {"message": "Internal Server Error"}


def _compile(path: str) -> re.Pattern[str]:
    pattern = re.sub(r"\\\{([^}+]+)\\\+\\\}", r"(?P<\1>.+)", re.escape(path))
    pattern = re.sub(r"\\\{([^}]+)\\\}", r"(?P<\1>[^/]+)", pattern)
    return re.compile(f"^{pattern}$")


FORBIDDEN = {"message": "Forbidden"}  # what API Gateway answers a request IAM does not authorise
TOO_MANY_REQUESTS = {"message": "Too Many Requests"}  # what API Gateway answers past a route's throttle


class TokenBucket:
    """API Gateway's throttle of one route: ``burst`` requests at once, refilled at ``rate`` a
    second (the token bucket AWS documents for HTTP API route throttling)."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate, self.burst, self.clock = rate, burst, clock
        self.tokens, self.at = float(burst), clock()
        self._lock = threading.Lock()

    def take(self) -> bool:
        with self._lock:
            now = self.clock()
            self.tokens = min(float(self.burst), self.tokens + (now - self.at) * self.rate)
            self.at = now
            if self.tokens < 1:
                return False
            self.tokens -= 1
            return True


class HttpApi:
    """ASGI app: match a route, authorise it (routes with ``AWS_IAM``: SigV4 against the local
    IAM), build the 2.0 event, invoke the function, map its answer."""

    def __init__(self, routes: list[Route], functions: Functions, iam: LocalIam | None = None) -> None:
        self.routes = [(route, _compile(route.path)) for route in routes]
        self.buckets = {r.route_key: TokenBucket(*r.throttle) for r in routes if r.throttle is not None}
        self.functions = functions
        self.iam = iam

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        started = time.monotonic()
        request_id = uuid.uuid4().hex[:16]
        response, function = await self._handle(request, request_id)
        await response(scope, receive, send)
        # The access log: no body, no query string, no headers.
        log.info(
            "%s %s %d %.1fms %s %s",
            request.method, request.url.path, response.status_code,
            (time.monotonic() - started) * 1000, function or "-", request_id,
        )  # fmt: skip

    async def _handle(self, request: Request, request_id: str) -> tuple[Response, str | None]:
        if request_line_and_header_values(request.scope) > MAX_REQUEST_LINE_AND_HEADER_VALUES:
            return JSONResponse(HEADERS_TOO_LARGE, status_code=431), None
        path = request.url.path
        matched = [(r, m) for r, rx in self.routes if (m := rx.match(path))]
        route = next(((r, m) for r, m in matched if r.method == request.method), None)
        if route is None:
            return JSONResponse({"message": "Not Found"}, status_code=404), None
        bucket = self.buckets.get(route[0].route_key)
        if bucket is not None and not bucket.take():  # throttled before anything else runs
            return JSONResponse(TOO_MANY_REQUESTS, status_code=429), None
        body = await request.body()
        if len(body) > MAX_PAYLOAD:
            return JSONResponse({"message": "Request Entity Too Large"}, status_code=413), None
        caller: Principal | None = None
        if route[0].iam:
            caller = self._authorize(request, body)
            if caller is None:
                return JSONResponse(FORBIDDEN, status_code=403), None
        event = build_event(request, route[0], route[1].groupdict(), body, request_id, caller)
        pool = self.functions.pool(route[0].function)
        assert pool is not None
        try:
            if _payload_size(event) > MAX_INVOKE_PAYLOAD:
                raise InvokeError("RequestEntityTooLargeException", "the event is over Lambda's 6 MB")
            result = await run_in_threadpool(pool.invoke, event)
            if _payload_size(result) > MAX_INVOKE_PAYLOAD:
                raise InvokeError("Function.ResponseSizeTooLarge", "the answer is over Lambda's 6 MB")
        except InvokeError as err:
            log.warning("function %s failed: %s", pool.fn.name, err.error_type)
            return JSONResponse(INTERNAL_ERROR, status_code=500), pool.fn.name
        return to_response(result), pool.fn.name

    def _authorize(self, request: Request, body: bytes) -> Principal | None:
        """API Gateway's IAM authorisation: a SigV4 signature (service ``execute-api``) by
        credentials the local IAM issued, whose policies allow ``execute-api:Invoke`` on this
        request's ARN. None (403) otherwise: unsigned, a signature that does not verify, unknown
        credentials, or a caller without the permission."""
        headers = {k.lower(): v for k, v in request.headers.items()}
        auth = parse_authorization(headers.get("authorization", ""))
        if auth is None or self.iam is None or auth.service != "execute-api" or auth.region != REGION:
            return None
        principal = self.iam.authenticate(auth.access_key_id, headers.get("x-amz-security-token"))
        if principal is None:
            return None
        raw_path = request.scope.get("raw_path") or request.url.path.encode()
        query = request.url.query
        url = f"{request.url.scheme}://{headers.get('host', '')}{raw_path.decode()}" + (
            f"?{query}" if query else ""
        )
        try:
            verify_signature(
                auth,
                secret_access_key=principal.secret_access_key,
                method=request.method,
                url=url,
                headers=headers,
                body=body,
            )
        except SignatureError as err:
            log.warning("IAM route: %s", err)
            return None
        arn = (
            f"arn:aws:execute-api:{REGION}:{ACCOUNT_ID}:{API_ID}/$default/{request.method}{request.url.path}"
        )
        decision = evaluate(
            principal.policies, AuthzRequest("execute-api:Invoke", arn, {"aws:RequestedRegion": REGION})
        )
        if decision != "allow":
            log.warning("IAM route: %s may not execute-api:Invoke %s (%s)", principal.arn, arn, decision)
            return None
        return principal


def _payload_size(payload: Any) -> int:
    return len(json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode())


def request_line_and_header_values(scope: Scope) -> int:
    """The bytes API Gateway's quota counts: ``METHOD /path?query HTTP/1.1`` and every header value
    as received (names not counted: the quota names values only)."""
    target = (scope.get("raw_path") or scope["path"].encode()) + (
        b"?" + scope["query_string"] if scope.get("query_string") else b""
    )
    line = len(scope["method"]) + 1 + len(target) + len(" HTTP/") + len(scope.get("http_version", "1.1"))
    return line + sum(len(value) for _name, value in scope["headers"])


def build_event(
    request: Request,
    route: Route,
    params: dict[str, str],
    body: bytes,
    request_id: str,
    caller: Principal | None = None,
) -> dict[str, Any]:
    headers: dict[str, str] = {}
    for key, value in request.headers.items():
        headers[key.lower()] = f"{headers[key.lower()]},{value}" if key.lower() in headers else value
    cookies = [c.strip() for c in headers.pop("cookie", "").split(";") if c.strip()]
    now = datetime.now(UTC)
    query = request.url.query
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route.route_key,
        "rawPath": request.url.path,
        "rawQueryString": query,
        "headers": headers,
        "requestContext": {
            "accountId": ACCOUNT_ID,
            "apiId": "local",
            "domainName": request.url.hostname or "127.0.0.1",
            "domainPrefix": "local",
            "http": {
                "method": request.method,
                "path": request.url.path,
                "protocol": "HTTP/1.1",
                "sourceIp": request.client.host if request.client else "127.0.0.1",
                "userAgent": headers.get("user-agent", ""),
            },
            "requestId": request_id,
            "routeKey": route.route_key,
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        },
        "isBase64Encoded": False,
    }
    if caller is not None:  # as API Gateway passes an IAM-authorised caller
        event["requestContext"]["authorizer"] = {
            "iam": {
                "accessKey": caller.access_key_id,
                "accountId": ACCOUNT_ID,
                "callerId": caller.name,
                "cognitoIdentity": None,
                "principalOrgId": None,
                "userArn": caller.arn,
                "userId": caller.name,
            }
        }
    if cookies:
        event["cookies"] = cookies
    if query:
        event["queryStringParameters"] = {
            k: ",".join(request.query_params.getlist(k)) for k in request.query_params
        }
    if params:
        event["pathParameters"] = params
    if body:
        try:
            event["body"] = body.decode("utf-8")
        except UnicodeDecodeError:
            event["body"] = base64.b64encode(body).decode()
            event["isBase64Encoded"] = True
    return event


def to_response(result: Any) -> Response:
    """Map a payload 2.0 answer: a dict with statusCode, or anything else as a JSON 200."""
    if not isinstance(result, dict) or "statusCode" not in result:
        return JSONResponse(result)
    body = result.get("body") or ""
    content = base64.b64decode(body) if result.get("isBase64Encoded") else str(body).encode()
    response = Response(content=content, status_code=int(result["statusCode"]))
    for key, value in (result.get("headers") or {}).items():
        response.headers[key] = str(value)
    for cookie in result.get("cookies") or []:
        response.headers.append("set-cookie", cookie)
    if content and "content-type" not in response.headers:
        response.headers["content-type"] = "application/json"
    return response
