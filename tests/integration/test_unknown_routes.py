"""Unknown routes and wrong methods: API Gateway answers them itself, before any function runs,
with its bare 404 {"message": "Not Found"} (no Allow header); the local API does the same. The
product adds no $default route (docs/api.md says why)."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.support.stack import RunningStack


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/"),
        ("GET", "/v1/nothing-here"),
        ("POST", "/v1/face/keys/extra"),
        ("GET", "/v1/session"),  # a route that exists, with a method it does not have
        ("PUT", "/v1/face/results"),
        ("POST", "/v1/me"),
    ],
)
def test_what_no_route_serves_gets_api_gateways_own_404(stack: RunningStack, method: str, path: str) -> None:
    def face_and_login_calls() -> dict[str, int]:  # the token refresher runs on its own schedule
        return {k: v for k, v in stack.calls().items() if not k.startswith("/cgi-bin/")}

    before = face_and_login_calls()
    answer = stack.http.request(method, path)
    assert answer.status_code == 404
    assert answer.json() == {"message": "Not Found"}
    assert "allow" not in answer.headers
    assert face_and_login_calls() == before  # nothing reached WeChat (no function ran)


def invocations(stack: RunningStack, function: str) -> int:
    """One API function's invocations (the scheduled functions run on their own clock)."""
    pools = stack.aws_control("GET", "/_devstack/calls")["invocations"]
    return int(pools[function]["invocations"])


def test_a_request_past_the_http_apis_header_quota_is_refused_before_any_function(
    stack: RunningStack,
) -> None:
    """HTTP APIs take at most 10,240 bytes of request line and header values (a quota AWS does not
    raise): a client that works locally with more would fail deployed, so the local API refuses
    it too, before routing, and no function runs."""
    path = "/v1/face/results/latest"  # a session route: its function answers 401 without a token
    line = len(f"GET {path} HTTP/1.1")

    def with_values_of(total: int) -> dict[str, str]:
        # The client's own headers (host, accept, ...) count too: pad up to the total asked for.
        base = stack.http.build_request("GET", path, headers={"x-pad": ""}).headers
        return {"x-pad": "p" * (total - line - sum(len(v) for v in base.values()))}

    before = invocations(stack, "FaceResultsFunction")
    refused = stack.http.get(path, headers=with_values_of(10241))
    assert refused.status_code == 431
    assert refused.json() == {"message": "Request Header Fields Too Large"}
    assert invocations(stack, "FaceResultsFunction") == before

    served = stack.http.get(path, headers=with_values_of(10240))
    assert served.status_code == 401  # the function ran and asked for a session
    assert invocations(stack, "FaceResultsFunction") == before + 1


def test_an_event_past_lambdas_6_mb_never_reaches_the_function(stack: RunningStack) -> None:
    """API Gateway takes bodies up to 10 MB, Lambda a synchronous event up to 6 MB: between the
    two the invocation fails before the handler, and API Gateway answers as for any failed
    invocation (not the product's 413). Below it the function refuses the body itself."""
    token = stack.login(f"o-{uuid.uuid4().hex[:12]}")
    keys = "/v1/face/keys"

    def posted(size: int) -> httpx.Response:
        body = b'{"name": "' + b"a" * size + b'"}'
        return stack.http.post(keys, content=body, headers={"Authorization": f"Bearer {token}"})

    before = invocations(stack, "FaceKeysFunction")
    failed = posted(6 * 1024 * 1024 + 1)
    assert failed.status_code == 500
    assert failed.json() == {"message": "Internal Server Error"}
    assert invocations(stack, "FaceKeysFunction") == before

    refused = posted(5 * 1024 * 1024)
    assert refused.status_code == 413
    assert refused.json()["error"]["code"] == "body_too_large"
