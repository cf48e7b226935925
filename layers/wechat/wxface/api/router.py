"""The API functions' routes: a small router of this project's own, in place of Powertools'
event handler (its import and its per-route validation models cost more of a cold start than
these few routes are worth: docs/benchmarks.md). API Gateway has already chosen the route (the
event's ``routeKey``) and read its path parameters (``pathParameters``): the router finds the
handler by that key, checks the path parameters' patterns and the body against the route's
model, and calls the handler with a :class:`Request`. The OpenAPI documents are built from the
same routes (tools/openapi.py)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import api_error
from .http import invalid_request

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext
    from pydantic import TypeAdapter

    from ..domain.sessions import Session

SESSION = "session"  # a route that needs a session token (Authorization: Bearer)
IAM = "iam"  # a route API Gateway authorises with AWS IAM (SigV4), for the business's servers


@dataclass(frozen=True)
class Response:
    """An answer as API Gateway (HTTP API, payload 2.0) takes it."""

    status: int
    body: str = ""
    headers: dict[str, str] = field(default_factory=dict)

    def event(self) -> dict[str, Any]:
        return {
            "statusCode": self.status,
            "headers": dict(self.headers),
            "body": self.body,
            "isBase64Encoded": False,
        }


@dataclass(frozen=True)
class PathParam:
    name: str
    description: str
    pattern: str | None = None  # checked here (400 naming it); None: any value reaches the handler


@dataclass(frozen=True)
class HeaderParam:
    """A request header a route reads (documented; its handler or use case checks its value)."""

    name: str
    description: str
    schema: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Request:
    """What a handler gets: the event, the context, the route's path parameters and the caller
    the edge established (the session's, or the IAM caller API Gateway passed)."""

    event: dict[str, Any]
    context: LambdaContext
    path: dict[str, str] = field(default_factory=dict)
    session: Session | None = None
    iam_caller: str | None = None

    @property
    def caller(self) -> Session:
        if self.session is None:  # pragma: no cover - a route declared without its session
            raise api_error("unauthorized")
        return self.session

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        for key, value in (self.event.get("headers") or {}).items():
            if key.lower() == wanted:
                return str(value)
        return None

    @property
    def source_ip(self) -> str:
        """The caller's address as API Gateway saw it (the TCP peer, not a header a client could set)."""
        http = (self.event.get("requestContext") or {}).get("http") or {}
        return str(http.get("sourceIp") or "unknown")


Handler = Callable[..., Response]


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # as API Gateway names it: /v1/face/orders/{order_id}
    handler: Handler
    summary: str
    operation_id: str
    tags: tuple[str, ...]
    security: str | None  # SESSION, IAM, or None: public
    responses: dict[int, Any]
    body: Any = None  # the body's model (or a union of models); None: no body
    path_params: tuple[PathParam, ...] = ()
    headers: tuple[HeaderParam, ...] = ()

    @property
    def key(self) -> str:
        """The ``routeKey`` API Gateway sends with the route's events."""
        return f"{self.method} {self.path}"


class Router:
    """Routes by ``routeKey``; the body validated by pydantic (strict models, unknown fields
    refused) on the route's first use, its errors mapped to the contract's 400."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self._adapters: dict[str, TypeAdapter[Any]] = {}

    def route(
        self,
        method: str,
        path: str,
        *,
        summary: str,
        operation_id: str,
        tags: tuple[str, ...],
        responses: dict[int, Any],
        security: str | None = SESSION,
        body: Any = None,
        path_params: tuple[PathParam, ...] = (),
        headers: tuple[HeaderParam, ...] = (),
    ) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            route = Route(
                method,
                path,
                handler,
                summary,
                operation_id,
                tags,
                security,
                responses,
                body,
                path_params,
                headers,
            )
            if route.key in self.routes:
                raise ValueError(f"{route.key} is routed twice")
            self.routes[route.key] = route
            return handler

        return register

    def find(self, event: dict[str, Any]) -> Route | None:
        key = event.get("routeKey")
        return self.routes.get(key) if isinstance(key, str) else None

    def call(self, route: Route, request: Request, body: Any) -> Response:
        """The route's handler, after its path parameters and its body are checked (``body``:
        the parsed JSON object, None where the method carries none)."""
        for param in route.path_params:
            value = request.path.get(param.name, "")
            if param.pattern is not None and not re.fullmatch(param.pattern, value):
                raise invalid_request([{"loc": ("path", param.name), "type": "string_pattern_mismatch"}])
        if route.body is None:
            return route.handler(request)
        return route.handler(request, self._validated(route, body))

    def _validated(self, route: Route, body: Any) -> Any:
        from pydantic import ValidationError

        adapter = self._adapters.get(route.key)
        if adapter is None:
            from pydantic import TypeAdapter

            adapter = self._adapters[route.key] = TypeAdapter(route.body)
        try:
            return adapter.validate_python(body if body is not None else {})
        except ValidationError as err:
            # pydantic's errors quote the input (a name, an ID number): only locations and types pass.
            raise InvalidBody(err.errors(include_url=False, include_input=False)) from None


class InvalidBody(Exception):
    """A body that does not fit the route's model: its errors (locations and types only)."""

    def __init__(self, errors: list[Any]) -> None:
        super().__init__("invalid body")
        self.errors = errors
