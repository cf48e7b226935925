"""The phone page (``GET /``): plays the mini-program in a browser with the client module a
mini-program ships (``miniprogram/faceverify``), and ``/api/...``, a pass-through to the
product's API under the simulator's own origin (the product needs no CORS: a mini-program's
``wx.request`` is not subject to it, and neither is a same-origin page).

``POST /sim/business/orders`` creates an order as the business's servers would (``POST
/v1/face/orders`` signed with SigV4 by the local business identity), so the page can play the
order flow: only with the local stack (which hands the simulator that identity), never on another
address than the loopback, never with ``--containers`` or ``--host``.

Nothing here logs a body: the key request and the order carry a name and an ID number."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path

import httpx
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

PAGE = Path(__file__).resolve().parent / "phone"
CLIENT = Path(__file__).resolve().parents[2] / "miniprogram" / "faceverify" / "lib"
MODULES = ("client", "messages")
ASSETS = {"phone.js": "text/javascript", "phone.css": "text/css"}
BASE_LIBRARY = "3.9.0"  # what the page's wx stand-in reports (wx.requestFacialVerify needs 3.8.12)
# What the pass-through forwards, both ways: nothing else (no cookies, no client addresses).
REQUEST_HEADERS = ("content-type", "authorization", "idempotency-key", "accept-language")
ANSWER_HEADERS = ("content-type", "retry-after")


@dataclass(frozen=True)
class PhoneConfig:
    api_url: str | None = None  # the product's API; None: the page says it has no backend
    api_version: int = 2
    # The local business identity (access key id, secret) the local stack hands over for
    # /sim/business/orders; None: that route is not offered.
    business: tuple[str, str] | None = None
    region: str = "us-east-1"

    def __repr__(self) -> str:
        return f"PhoneConfig(api_url={self.api_url!r}, api_version={self.api_version}, business=***)"


def _loopback(request: Request) -> bool:
    try:
        return request.client is not None and ipaddress.ip_address(request.client.host).is_loopback
    except ValueError:
        return False


def _signed_order(
    api_url: str, business: tuple[str, str], region: str, body: bytes
) -> tuple[str, dict[str, str]]:
    """``POST /v1/face/orders`` signed by the local business identity (botocore's signer)."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    url = f"{api_url.rstrip('/')}/v1/face/orders"
    request = AWSRequest(method="POST", url=url, data=body, headers={"Content-Type": "application/json"})
    SigV4Auth(Credentials(*business), "execute-api", region).add_auth(request)
    return url, dict(request.headers)


def routes(config: PhoneConfig) -> list[Route]:
    async def page(request: Request) -> Response:
        return FileResponse(PAGE / "index.html", media_type="text/html; charset=utf-8")

    async def asset(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in ASSETS:
            return JSONResponse({"error": "not found"}, status_code=404)
        return FileResponse(PAGE / name, media_type=f"{ASSETS[name]}; charset=utf-8")

    async def module(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in MODULES:
            return JSONResponse({"error": "not found"}, status_code=404)
        return FileResponse(CLIENT / f"{name}.js", media_type="text/javascript; charset=utf-8")

    async def settings(request: Request) -> Response:
        return JSONResponse(
            {
                "apiVersion": config.api_version,
                "baseLibrary": BASE_LIBRARY,
                "modules": list(MODULES),
                "backend": config.api_url is not None,
                "businessOrders": config.business is not None and config.api_url is not None,
            }
        )

    async def api(request: Request) -> Response:
        if config.api_url is None:
            body = {"error": "no backend: start the whole product with make run to use the phone page"}
            return JSONResponse(body, status_code=503)
        headers = {k: v for k, v in request.headers.items() if k.lower() in REQUEST_HEADERS}
        url = f"{config.api_url.rstrip('/')}/{request.path_params['path']}"
        async with httpx.AsyncClient(timeout=30) as client:
            try:
                answer = await client.request(
                    request.method, url, content=await request.body(), headers=headers
                )
            except httpx.HTTPError:
                return JSONResponse({"error": "the backend did not answer"}, status_code=502)
        out = {k: v for k, v in answer.headers.items() if k.lower() in ANSWER_HEADERS}
        return Response(answer.content, status_code=answer.status_code, headers=out)

    async def business_order(request: Request) -> Response:
        if config.business is None or config.api_url is None or not _loopback(request):
            body = {
                "error": "the business route is served only with the local stack (make run), on the loopback"
            }
            return JSONResponse(body, status_code=404)
        url, headers = _signed_order(config.api_url, config.business, config.region, await request.body())
        async with httpx.AsyncClient(timeout=30) as client:
            try:
                answer = await client.post(url, content=await request.body(), headers=headers)
            except httpx.HTTPError:
                return JSONResponse({"error": "the backend did not answer"}, status_code=502)
        out = {k: v for k, v in answer.headers.items() if k.lower() in ANSWER_HEADERS}
        return Response(answer.content, status_code=answer.status_code, headers=out)

    return [
        Route("/sim/business/orders", business_order, methods=["POST"]),
        Route("/", page, methods=["GET"]),
        Route("/phone/config", settings, methods=["GET"]),
        Route("/phone/{name}", asset, methods=["GET"]),
        Route("/miniprogram/faceverify/{name}.js", module, methods=["GET"]),
        Route("/api/{path:path}", api, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
    ]
