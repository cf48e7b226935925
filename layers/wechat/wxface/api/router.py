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


@dataclass(frozen=True)
class OneOf:
    """A body of one of several models, which exclude each other (unknown fields are refused).
    A request is read as the member whose fields it names most; on a tie, the member of the
    deployed face API version (``api_version``), else the first. ``name``: the union's own
    component in the OpenAPI document."""

    members: tuple[type[Any], ...]
    name: str = ""
    description: str = ""

    def member_for(self, body: dict[str, Any], deployed: int | None = None) -> type[Any]:
        def score(member: type[Any]) -> tuple[int, bool]:
            named = len(set(body) & set(member.__struct_fields__))
            return named, getattr(member, "API_VERSION", None) == deployed

        return max(self.members, key=score)


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
    """Routes by ``routeKey``; the body validated by msgspec (strict, unknown fields refused),
    its error mapped to the contract's 400."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}

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

    def call(self, route: Route, request: Request, body: Any, deployed: int | None = None) -> Response:
        """The route's handler, after its path parameters and its body are checked (``body``:
        the parsed JSON object, None where the method carries none; ``deployed``: the face API
        version, which decides between the members of a version's pair of bodies)."""
        for param in route.path_params:
            value = request.path.get(param.name, "")
            if param.pattern is not None and not re.fullmatch(param.pattern, value):
                raise invalid_request([{"loc": ("path", param.name), "type": "string_pattern_mismatch"}])
        if route.body is None:
            return route.handler(request)
        return route.handler(request, validated(route.body, body if body is not None else {}, deployed))


def validated(model: Any, body: dict[str, Any], deployed: int | None = None) -> Any:
    """``body`` as the route's model (a Struct, or the member of a :class:`OneOf` it is read as):
    msgspec's strict conversion, no coercion, unknown fields refused. Its error names the field
    at fault and never quotes a value."""
    import msgspec

    kind = model.member_for(body, deployed) if isinstance(model, OneOf) else model
    try:
        return msgspec.convert(body, type=kind, strict=True)
    except msgspec.ValidationError as err:
        raise InvalidBody(errors_of(str(err))) from None


_AT = re.compile(r" - at `\$(?P<path>[^`]*)`$")


def errors_of(message: str) -> list[dict[str, Any]]:
    """msgspec's validation error (one: the first it met) as the location and kind of problem
    the contract's 400 names."""
    at = _AT.search(message)
    path = [p for p in re.split(r"[.\[\]]", at.group("path")) if p] if at else []
    head = message[: at.start()] if at else message
    named = re.match(r"Object (missing required|contains unknown) field `(?P<field>[^`]*)`", head)
    if named:
        kind = "missing" if "missing" in head else "extra_forbidden"
        return [{"loc": (*path, named.group("field")), "type": kind}]
    if "of length >=" in head:
        kind = "string_too_short"
    elif "of length <=" in head:
        kind = "string_too_long"
    elif "matching regex" in head:
        kind = "string_pattern_mismatch"
    elif head.startswith("Expected `str"):
        kind = "string_type"
    elif head.startswith("Expected `object`"):
        kind = "model_attributes_type"
    else:
        kind = "invalid"
    return [{"loc": tuple(path), "type": kind}]


class InvalidBody(Exception):
    """A body that does not fit the route's model: its errors (locations and types only)."""

    def __init__(self, errors: list[Any]) -> None:
        super().__init__("invalid body")
        self.errors = errors
