"""Bad input is a 4xx with the contract's error body, never a 5xx, and never reaches WeChat."""

from __future__ import annotations

import base64
import re
import uuid

import jwt
import pytest

from tests.support.people import ALICE
from tests.support.stack import RunningStack

pytestmark = pytest.mark.integration

ISSUE = {1: "/cityservice/face/identify/getuseridkey", 2: "/cityservice/face/identify/getverifyid"}


def user() -> str:
    return f"o-{uuid.uuid4().hex[:12]}"


def assert_error(resp: object, status: int, code: str | None = None) -> dict[str, object]:
    import httpx

    assert isinstance(resp, httpx.Response)
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert set(body) == {"error"}
    error = body["error"]
    assert set(error) == {"code", "message", "message_zh", "wechat_errcode", "request_id"}
    assert re.fullmatch(r"[a-z][a-z0-9_]*", error["code"])
    assert error["message"] and re.search(r"[\u4e00-\u9fff]", error["message_zh"])
    assert error["request_id"]
    if code:
        assert error["code"] == code
    return dict(error)


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"{not json", "malformed_json"),
        (b"[]", "malformed_json"),
        (b"", "malformed_json"),
        ('{"name": "\u5f20\u4e09"}'.encode("gbk"), "malformed_json"),  # not UTF-8
        # A field named twice: no parser on the way gets to choose which value counts.
        (
            b'{"name": "\xe5\xbc\xa0\xe4\xb8\x89", "id_card_number": "11010519491231002X", '
            b'"name": "\xe6\x9d\x8e\xe5\x9b\x9b"}',
            "malformed_json",
        ),
        (b'{"name": NaN, "id_card_number": Infinity}', "malformed_json"),  # not JSON
        (b'{"name": 1, "id_card_number": "x"}', "invalid_request"),
        (b'{"name": "a"}', "invalid_request"),
        (
            b'{"name": "\xe5\xbc\xa0\xe4\xb8\x89", "id_card_number": "11010519491231002X", "extra": 1}',
            "invalid_request",
        ),
        (
            b'{"name": "\xe5\xbc\xa0\xe4\xb8\x89", "id_card_number": "110105194912310021"}',
            "invalid_id_card_number",
        ),
        (
            b'{"name": "\xe5\xbc\xa0\xe4\xb8\x89", "id_card_number": "110105491231002"}',
            "invalid_id_card_number",
        ),
        (b'{"name": "\xe5\xbc\xa03", "id_card_number": "11010519491231002X"}', "invalid_name"),
    ],
)
def test_bad_key_requests_are_400_and_never_reach_wechat(stack: RunningStack, body: bytes, code: str) -> None:
    token = stack.login(user())
    before = stack.calls_to(ISSUE[stack.version])
    resp = stack.http.post(
        "/v1/face/keys",
        content=body,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "text/plain"},
    )
    error = assert_error(resp, 400, code)
    assert stack.calls_to(ISSUE[stack.version]) == before
    assert ALICE[1] not in str(error) and "11010519491231002" not in str(error)


def test_fifteen_digit_numbers_say_why(stack: RunningStack) -> None:
    token = stack.login(user())
    error = assert_error(stack.issue_key(token, ("张三", "110105491231002")), 400, "invalid_id_card_number")
    assert "15" in str(error["message"])


def test_a_body_over_16_kib_is_413(stack: RunningStack) -> None:
    token = stack.login(user())
    big = '{"name": "' + "张" * 6000 + '", "id_card_number": "x"}'
    assert len(big.encode()) > 16 * 1024
    assert_error(stack.call("POST", "/v1/face/keys", token, content=big), 413, "body_too_large")
    assert_error(stack.http.post("/v1/session", content=big), 413)  # before anything parses it


@pytest.mark.parametrize("route", [("POST", "/v1/face/keys"), ("POST", "/v1/face/results"),
                                   ("GET", "/v1/face/results/latest"), ("DELETE", "/v1/me")])  # fmt: skip
def test_every_route_but_session_needs_a_valid_token(stack: RunningStack, route: tuple[str, str]) -> None:
    method, path = route
    assert_error(stack.call(method, path, body={}), 401, "unauthorized")
    assert_error(stack.call(method, path, "not-a-jwt", body={}), 401, "unauthorized")
    forged = jwt.encode({"sub": "o-victim", "aud": "wxface-session", "iat": 1, "exp": 2**31}, "a-guessed-signing-key-of-32-bytes!!",
                        algorithm="HS256", headers={"kid": "nope"})  # fmt: skip
    assert_error(stack.call(method, path, forged, body={}), 401, "unauthorized")
    real = stack.login(user())
    header, _payload, sig = real.split(".")
    tampered = f"{header}.{base64.urlsafe_b64encode(b'{}').decode().rstrip('=')}.{sig}"
    assert_error(stack.call(method, path, tampered, body={}), 401, "unauthorized")
    assert_error(stack.call(method, path, body={}, headers={"Authorization": f"Basic {real}"}), 401)


def test_bad_or_used_login_codes_are_400(stack: RunningStack) -> None:
    error = assert_error(stack.http.post("/v1/session", json={"code": "0" * 32}), 400, "invalid_login_code")
    assert error["wechat_errcode"] == 40029
    code = stack.sim_control("/sim/login", {"openid": user()})["code"]
    assert stack.http.post("/v1/session", json={"code": code}).status_code == 200
    error = assert_error(stack.http.post("/v1/session", json={"code": code}), 400, "login_code_used")
    assert error["wechat_errcode"] == 40163
    assert_error(stack.http.post("/v1/session", json={"code": 12345}), 400, "invalid_request")
    assert_error(stack.http.post("/v1/session", json={"code": "has space"}), 400, "invalid_request")


def test_wrong_lookup_body_for_the_version_is_400(stack: RunningStack) -> None:
    token = stack.login(user())
    other = "verify_result" if stack.version == 2 else "verify_id"
    assert_error(stack.call("POST", "/v1/face/results", token, {other: "x"}), 400, "invalid_request")


def test_a_bad_lookup_body_is_told_only_of_the_deployed_versions_fields(stack: RunningStack) -> None:
    """The lookup body is one version's model or the other's: a body that fits neither must hear
    what is wrong with it for this deployment, not that it lacks the other version's field."""
    token = stack.login(user())
    mine, other = ("verify_id", "verify_result") if stack.version == 2 else ("verify_result", "verify_id")
    for body, says in [
        ({mine: 5}, f"{mine} (must be a string)"),
        ({mine: "x", "extra": 1}, "extra (not allowed)"),
        ({}, f"{mine} (missing)"),
    ]:
        error = assert_error(stack.call("POST", "/v1/face/results", token, body), 400, "invalid_request")
        assert error["message"] == f"The request body has problems: {says}", body
        assert other not in str(error["message_zh"]), body


@pytest.mark.parametrize("bad", ["", "x" * 65, "订单", "a b", 42, None, ["a"]])
def test_a_malformed_biz_ref_is_400_and_reaches_nothing(stack: RunningStack, bad: object) -> None:
    token = stack.login(user())
    stack.sim_control("/sim/reset")
    body = {"name": ALICE[0], "id_card_number": ALICE[1], "biz_ref": bad}
    if bad is None:  # null is "none given": accepted
        assert stack.call("POST", "/v1/face/keys", token, body).status_code == 200
        return
    assert_error(stack.call("POST", "/v1/face/keys", token, body), 400, "invalid_request")
    assert stack.calls_to(ISSUE[stack.version]) == 0
