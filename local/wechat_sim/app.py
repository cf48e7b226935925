"""The simulator's HTTP face: WeChat's endpoints plus the ``/sim`` control routes (Starlette)."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .config import SimConfig
from .phone import PhoneConfig
from .phone import routes as phone_routes
from .state import API_UNAUTHORIZED, DATA_FORMAT_ERROR, ControlError, SimState, WxErr

access_log = logging.getLogger("wechat_sim.access")
log = logging.getLogger("wechat_sim")

_SECRET_QUERY = re.compile(r"((?:access_token|secret|js_code)=)[^&]*", re.IGNORECASE)


def redact_query(query: str) -> str:
    """The query string with access_token, secret and js_code values replaced by ***."""
    return _SECRET_QUERY.sub(r"\1***", query)


class AccessLog:
    """One line per request: method, path, redacted query, status, milliseconds. No bodies."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.monotonic()
        status = [0]

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            query = scope.get("query_string", b"").decode("latin-1")
            shown = scope["path"] + ("?" + redact_query(query) if query else "")
            access_log.info(
                "%s %s %d %.1fms", scope["method"], shown, status[0], (time.monotonic() - started) * 1000
            )


def _wx(payload: dict[str, Any]) -> JSONResponse:
    return JSONResponse({"errcode": 0, "errmsg": "ok", **payload})


def _bare(payload: dict[str, Any]) -> JSONResponse:
    """A success answer without errcode / errmsg, as WeChat's token and login endpoints send it."""
    return JSONResponse(payload)


def _wx_error(err: WxErr) -> JSONResponse:
    return JSONResponse({"errcode": err.errcode, "errmsg": err.errmsg})


async def _json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    try:
        body = json.loads(raw) if raw else {}
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise WxErr(DATA_FORMAT_ERROR, "data format error") from None
    if not isinstance(body, dict):
        raise WxErr(DATA_FORMAT_ERROR, "data format error")
    return body


Handler = Callable[[Request, SimState], Awaitable[Response]]


def wechat_endpoint(path: str, method: str, needs_token: bool, handler: Handler) -> Route:
    """A WeChat route: counts the call, applies injected faults, checks the token, maps errors."""

    async def endpoint(request: Request) -> Response:
        state: SimState = request.app.state.sim
        fault = state.begin_call(path)
        if fault is not None:
            if fault.delay_ms:
                await asyncio.sleep(fault.delay_ms / 1000)
            if fault.http_status is not None:
                return PlainTextResponse("simulated upstream failure", status_code=fault.http_status)
            if fault.errcode is not None:
                return JSONResponse({"errcode": fault.errcode, "errmsg": "simulated fault"})
        try:
            if needs_token:
                state.check_token(request.query_params.get("access_token"))
            if path in state.config.disabled:
                raise WxErr(API_UNAUTHORIZED, "api unauthorized")
            return await handler(request, state)
        except WxErr as err:
            log.info("errcode %d on %s", err.errcode, path)
            return _wx_error(err)

    return Route(path, endpoint, methods=[method])


async def _token(request: Request, state: SimState) -> Response:
    q = request.query_params
    return _bare(state.token(q.get("grant_type"), q.get("appid"), q.get("secret")))


async def _stable_token(request: Request, state: SimState) -> Response:
    return _bare(state.stable_token(await _json_body(request)))


async def _jscode2session(request: Request, state: SimState) -> Response:
    q = request.query_params
    return _bare(state.jscode2session(q.get("appid"), q.get("secret"), q.get("js_code"), q.get("grant_type")))


async def _getuseridkey(request: Request, state: SimState) -> Response:
    return _wx(state.getuseridkey(await _json_body(request)))


async def _getinfo(request: Request, state: SimState) -> Response:
    return _wx(state.getinfo(await _json_body(request)))


async def _getverifyid(request: Request, state: SimState) -> Response:
    return _wx(state.getverifyid(await _json_body(request)))


async def _queryverifyinfo(request: Request, state: SimState) -> Response:
    return _wx(state.queryverifyinfo(await _json_body(request)))


async def _getimage(request: Request, state: SimState) -> Response:
    answer = state.getimage(await _json_body(request))
    if isinstance(answer, dict):
        return _wx(answer)
    return Response(answer, media_type="image/jpeg")


# --- /sim control routes ------------------------------------------------------------------------


def control(
    handler: Callable[[dict[str, Any], SimState], dict[str, Any]], method: str = "POST"
) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        state: SimState = request.app.state.sim
        body: dict[str, Any] = {}
        if method == "POST":
            raw = await request.body()
            try:
                parsed = json.loads(raw) if raw.strip() else {}
            except (UnicodeDecodeError, json.JSONDecodeError):
                return JSONResponse({"error": "body must be JSON"}, status_code=400)
            if not isinstance(parsed, dict):
                return JSONResponse({"error": "body must be a JSON object"}, status_code=400)
            body = parsed
        try:
            return JSONResponse(handler(body, state))
        except ControlError as err:
            return JSONResponse({"error": str(err)}, status_code=400)

    return endpoint


def _sim_login(body: dict[str, Any], state: SimState) -> dict[str, Any]:
    return {"code": state.new_login_code(body.get("openid"))}


def _sim_verify(body: dict[str, Any], state: SimState) -> dict[str, Any]:
    if "verify_id" in body:
        state.verify_v2(body)
        return {}
    return {"verify_result": state.verify_v1(body)}


def _sim_faults(body: dict[str, Any], state: SimState) -> dict[str, Any]:
    state.add_fault(body)
    return {}


def _sim_expire_tokens(body: dict[str, Any], state: SimState) -> dict[str, Any]:
    state.expire_tokens()
    return {}


def _sim_clock(body: dict[str, Any], state: SimState) -> dict[str, Any]:
    state.advance_clock(body)
    return {}


def _sim_calls(body: dict[str, Any], state: SimState) -> dict[str, Any]:
    return dict(state.calls)


def _sim_app_secret(body: dict[str, Any], state: SimState) -> dict[str, Any]:
    state.reset_app_secret(body)
    return {}


def _sim_reset(body: dict[str, Any], state: SimState) -> dict[str, Any]:
    state.reset()
    return {}


WECHAT_PATHS = ("/cgi-bin/", "/sns/", "/cityservice/")


class WeChatOnly:
    """On the address containers reach this machine by (``--also-host``), WeChat's endpoints
    only: no ``/sim`` control route (log anyone in, pass any face check), no phone page, no
    ``/api`` pass-through, no business route."""

    def __init__(self, app: ASGIApp, host: str) -> None:
        self.app = app
        self.host = host

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        server = scope.get("server") or ("",)
        if scope["type"] == "http" and server[0] == self.host and not scope["path"].startswith(WECHAT_PATHS):
            await JSONResponse({"error": "not served on this address"}, status_code=404)(scope, receive, send)
            return
        await self.app(scope, receive, send)


def create_app(
    config: SimConfig | None = None, phone: PhoneConfig | None = None, *, containers_host: str | None = None
) -> ASGIApp:
    face = "/cityservice/face/identify"
    routes = [
        wechat_endpoint("/cgi-bin/token", "GET", False, _token),
        wechat_endpoint("/cgi-bin/stable_token", "POST", False, _stable_token),
        wechat_endpoint("/sns/jscode2session", "GET", False, _jscode2session),
        wechat_endpoint(f"{face}/getuseridkey", "POST", True, _getuseridkey),
        wechat_endpoint(f"{face}/getinfo", "POST", True, _getinfo),
        wechat_endpoint(f"{face}/getverifyid", "POST", True, _getverifyid),
        wechat_endpoint(f"{face}/queryverifyinfo", "POST", True, _queryverifyinfo),
        wechat_endpoint(f"{face}/getimage", "POST", True, _getimage),
        Route("/sim/login", control(_sim_login), methods=["POST"]),
        Route("/sim/verify", control(_sim_verify), methods=["POST"]),
        Route("/sim/faults", control(_sim_faults), methods=["POST"]),
        Route("/sim/expire-tokens", control(_sim_expire_tokens), methods=["POST"]),
        Route("/sim/clock", control(_sim_clock), methods=["POST"]),
        Route("/sim/calls", control(_sim_calls, method="GET"), methods=["GET"]),
        Route("/sim/reset", control(_sim_reset), methods=["POST"]),
        Route("/sim/app-secret", control(_sim_app_secret), methods=["POST"]),
        *phone_routes(phone or PhoneConfig()),
    ]
    app = Starlette(routes=routes)
    app.state.sim = SimState(config=config or SimConfig())
    served: ASGIApp = app if containers_host is None else WeChatOnly(app, containers_host)
    return AccessLog(served)
