"""The local AWS endpoint: moto's server app, plus the Lambda Invoke API for the template's
functions, so ``boto3.client("lambda").invoke(...)`` works through ``AWS_ENDPOINT_URL``."""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import unquote

from werkzeug.serving import BaseWSGIServer, make_server

from .functions import Functions, InvokeError

log = logging.getLogger("devstack.aws")

_INVOKE = re.compile(r"^/2015-03-31/functions/([^/]+)/invocations$")

StartResponse = Callable[[str, list[tuple[str, str]]], Any]


class CallCounter:
    """AWS calls by service and action (``AmazonSSM.GetParameter``, ``DynamoDB_20120810.PutItem``,
    ``Lambda.Invoke``), for benchmarks: ``GET /_devstack/calls``; ``POST`` resets."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.counts: dict[str, int] = {}

    def count(self, environ: dict[str, Any]) -> None:
        target = environ.get("HTTP_X_AMZ_TARGET") or (
            "Lambda.Invoke" if _INVOKE.match(environ.get("PATH_INFO", "")) else "other"
        )
        with self._lock:
            self.counts[target] = self.counts.get(target, 0) + 1

    def answer(
        self, environ: dict[str, Any], start_response: StartResponse, functions: Functions
    ) -> list[bytes]:
        with self._lock:
            if environ.get("REQUEST_METHOD") == "POST":
                self.counts.clear()
                for pool in functions.pools.values():
                    pool.reset_stats()
                return _json(start_response, "200 OK", {}, [])
            body = {
                "aws": dict(self.counts),
                "functions": {name: pool.stats() for name, pool in functions.pools.items()},
            }
        return _json(start_response, "200 OK", body, [])


class LambdaInvoke:
    """WSGI middleware: answers Lambda Invoke for local functions, hands the rest to moto."""

    def __init__(self, app: Callable[..., Iterable[bytes]], functions: Functions) -> None:
        self.app = app
        self.functions = functions
        self.counter = CallCounter()
        # moto's backends are not thread-safe (concurrent DynamoDB writes race in deepcopy):
        # one AWS call at a time. Lambda invocations run outside this lock.
        self._moto_lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == "/_devstack/calls":
            return self.counter.answer(environ, start_response, self.functions)
        self.counter.count(environ)
        match = _INVOKE.match(environ.get("PATH_INFO", ""))
        if not match or environ.get("REQUEST_METHOD") != "POST":
            with self._moto_lock:
                return list(self.app(environ, start_response))
        name = unquote(match.group(1))
        pool = self.functions.pool(name)
        if pool is None:
            return _json(
                start_response,
                "404 Not Found",
                {"Type": "User", "message": f"Function not found: {name}"},
                [("x-amzn-ErrorType", "ResourceNotFoundException")],
            )
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length else b""
        try:
            event = json.loads(raw) if raw.strip() else {}
        except json.JSONDecodeError:
            return _json(
                start_response,
                "400 Bad Request",
                {"Type": "User", "message": "Could not parse request body into json"},
                [("x-amzn-ErrorType", "InvalidRequestContentException")],
            )
        invocation_type = environ.get("HTTP_X_AMZ_INVOCATION_TYPE", "RequestResponse")
        if invocation_type == "Event":
            threading.Thread(target=self._quietly, args=(pool.invoke, event), daemon=True).start()
            start_response("202 Accepted", [("Content-Length", "0")])
            return [b""]
        log.info("lambda invoke %s", pool.fn.name)
        try:
            result = pool.invoke(event)
        except InvokeError as err:
            return _json(
                start_response,
                "200 OK",
                {"errorType": err.error_type, "errorMessage": err.message},
                [("X-Amz-Function-Error", "Unhandled"), ("X-Amz-Executed-Version", "$LATEST")],
            )
        return _json(start_response, "200 OK", result, [("X-Amz-Executed-Version", "$LATEST")])

    @staticmethod
    def _quietly(fn: Callable[[dict[str, Any]], Any], event: dict[str, Any]) -> None:
        try:
            fn(event)
        except InvokeError:
            log.warning("asynchronous invocation failed")


def _json(
    start_response: StartResponse, status: str, body: Any, headers: list[tuple[str, str]]
) -> list[bytes]:
    data = json.dumps(body).encode()
    start_response(
        status, [("Content-Type", "application/json"), ("Content-Length", str(len(data))), *headers]
    )
    return [data]


class AwsEndpoint:
    def __init__(self, host: str, port: int, functions: Functions) -> None:
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )

        moto_app = DomainDispatcherApplication(create_backend_app)
        self.server: BaseWSGIServer = make_server(
            host, port, LambdaInvoke(moto_app, functions), threaded=True, request_handler=MotoRequestHandler
        )
        self.port = self.server.server_port
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()
