"""Unknown routes and wrong methods: API Gateway answers them itself, before any function runs,
with its bare 404 {"message": "Not Found"} (no Allow header); the local API does the same. The
product adds no $default route (docs/api.md says why)."""

from __future__ import annotations

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
    before = stack.calls()
    answer = stack.http.request(method, path)
    assert answer.status_code == 404
    assert answer.json() == {"message": "Not Found"}
    assert "allow" not in answer.headers
    assert stack.calls() == before  # nothing reached WeChat (no function ran)
