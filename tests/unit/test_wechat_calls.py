"""The calling policy (wxface.domain.wechat_calls) over the one-attempt transport: retries, the
fallback host, token-stale handling and privacy, with httpx.MockTransport."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable

import httpx
import pytest

from tests.support.container import container, new_container
from tests.support.people import CAROL
from tests.support.wechat import Calls, ClientConfig, wechat_calls
from wxface.api.errors import from_wechat
from wxface.domain.limits import Priority
from wxface.wechat.errors import (
    WeChatApiError,
    WeChatBusy,
    WeChatCredentialsRejected,
    WeChatLoginCodeError,
    WeChatProtocolError,
    WeChatTokenError,
    WeChatUnavailable,
)

PRIMARY = "https://primary.test"
FALLBACK = "https://fallback.test"
CONFIG = ClientConfig.of(base_url=PRIMARY, fallback_base_url=FALLBACK, max_attempts=4, total_budget=5.0)


class Tokens:
    def __init__(self, *values: str) -> None:
        self.values = list(values)
        self.stale_calls: list[str] = []

    def get(self) -> str:
        return self.values[0]

    def stale(self, token: str) -> None:
        self.stale_calls.append(token)
        if len(self.values) > 1:
            self.values.pop(0)


class Recorder:
    """A MockTransport handler that answers from a script and records every request."""

    def __init__(self, *answers: Callable[[httpx.Request], httpx.Response] | dict[str, object]) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if callable(answer):
            return answer(request)
        return httpx.Response(200, json=answer)


def make(
    recorder: Recorder, tokens: Tokens | None = None, config: ClientConfig = CONFIG
) -> tuple[Calls, list[float]]:
    sleeps: list[float] = []
    client = wechat_calls(
        config,
        tokens=tokens or Tokens("tok-1"),
        transport=httpx.MockTransport(recorder),
        sleep=sleeps.append,
    )
    return client, sleeps


OK_INFO = {"errcode": 0, "errmsg": "ok", "identify_ret": 0, "openid": "o1"}


def test_busy_is_retried_with_bounded_backoff_then_succeeds() -> None:
    rec = Recorder({"errcode": -1, "errmsg": "system busy"}, {"errcode": -1, "errmsg": "busy"}, OK_INFO)
    client, sleeps = make(rec)
    assert client.get_info("vr_x").identify_ret == 0
    assert len(rec.requests) == 3
    assert len(sleeps) == 2
    assert all(0 <= s <= CONFIG.policy.backoff_max for s in sleeps)


def test_busy_every_time_gives_up_after_max_attempts_with_503() -> None:
    rec = Recorder({"errcode": -1, "errmsg": "busy"})
    client, sleeps = make(rec)
    with pytest.raises(WeChatBusy) as err:
        client.get_info("vr_x")
    assert len(rec.requests) == CONFIG.policy.max_attempts
    assert len(sleeps) == CONFIG.policy.max_attempts - 1
    assert err.value.http_status == 503


def test_5xx_and_connection_errors_move_to_the_fallback_host() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    rec = Recorder(lambda r: httpx.Response(502, text="bad gateway"), refuse, OK_INFO)
    client, _ = make(rec)
    client.get_info("vr_x")
    hosts = [r.url.host for r in rec.requests]
    assert hosts == ["primary.test", "fallback.test", "primary.test"]


def test_timeouts_are_retried_and_then_reported_unavailable() -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    rec = Recorder(slow)
    client, _ = make(rec)
    with pytest.raises(WeChatUnavailable) as err:
        client.get_info("vr_x")
    assert len(rec.requests) == CONFIG.policy.max_attempts
    assert from_wechat(err.value).status == 503
    assert "vr_x" not in str(err.value)


def test_total_time_is_bounded_by_the_budget() -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        time.sleep(0.15)
        return httpx.Response(503)

    config = ClientConfig.of(
        base_url=PRIMARY,
        fallback_base_url=None,
        max_attempts=50,
        total_budget=0.5,
        backoff_base=0.05,
        backoff_max=0.1,
    )
    rec = Recorder(slow)
    client = wechat_calls(config, tokens=Tokens("t"), transport=httpx.MockTransport(rec))
    started = time.monotonic()
    with pytest.raises(WeChatUnavailable):
        client.get_info("vr_x")
    elapsed = time.monotonic() - started
    assert elapsed < 0.5 + 0.2  # one attempt may be in flight when the budget runs out
    assert 2 <= len(rec.requests) < 50


def test_per_attempt_timeout_never_exceeds_the_remaining_budget() -> None:
    seen: list[float] = []

    def record_timeout(request: httpx.Request) -> httpx.Response:
        seen.append(request.extensions["timeout"]["read"])
        return httpx.Response(200, json=OK_INFO)

    config = ClientConfig.of(base_url=PRIMARY, read_timeout=5.0, total_budget=1.0)
    client = wechat_calls(config, tokens=Tokens("t"), transport=httpx.MockTransport(Recorder(record_timeout)))
    client.get_info("vr_x")
    assert seen and seen[0] <= 1.0


def test_token_error_marks_the_token_stale_once_and_retries_once() -> None:
    tokens = Tokens("old-token", "new-token")
    rec = Recorder({"errcode": 40001, "errmsg": "invalid credential"}, OK_INFO)
    client, sleeps = make(rec, tokens)
    client.get_info("vr_x")
    assert tokens.stale_calls == ["old-token"]
    assert [r.url.params["access_token"] for r in rec.requests] == ["old-token", "new-token"]
    assert sleeps == []  # no backoff for a token retry


@pytest.mark.parametrize("errcode", [40001, 40014, 42001])
def test_a_second_token_error_is_raised_never_looped(errcode: int) -> None:
    tokens = Tokens("old-token", "new-token")
    rec = Recorder({"errcode": errcode, "errmsg": "token"})
    client, _ = make(rec, tokens)
    with pytest.raises(WeChatTokenError) as err:
        client.get_info("vr_x")
    assert len(rec.requests) == 3  # two token retries, then the refusal is raised
    assert tokens.stale_calls == ["old-token", "new-token"] and err.value.errcode == errcode


def test_a_cached_token_and_the_next_both_retired_still_get_through() -> None:
    """Found by the fault soak: WeChat changed tokens twice within a second, so the token a
    container re-read after the first refusal was already retired too; the call answered 503.
    A second refused token is told to the token source as well (whose refresher then mends it)."""
    tokens = Tokens("cached-token", "ssm-token", "refreshed-token")
    rec = Recorder({"errcode": 40001}, {"errcode": 40001}, OK_INFO)
    client, sleeps = make(rec, tokens)
    assert client.get_info("vr_x").identify_ret == 0
    assert tokens.stale_calls == ["cached-token", "ssm-token"]
    assert [r.url.params["access_token"] for r in rec.requests] == [
        "cached-token",
        "ssm-token",
        "refreshed-token",
    ]
    assert sleeps == []


def test_token_retries_are_bounded_at_two() -> None:
    tokens = Tokens("t1", "t2", "t3", "t4")
    rec = Recorder({"errcode": 42001})
    client, _ = make(rec, tokens)
    with pytest.raises(WeChatTokenError):
        client.get_info("vr_x")
    assert [r.url.params["access_token"] for r in rec.requests] == ["t1", "t2", "t3"]
    assert tokens.stale_calls == ["t1", "t2"]


def test_non_retryable_errcodes_raise_at_once_with_their_type() -> None:
    rec = Recorder({"errcode": 40163, "errmsg": "code been used"})
    client, _ = make(rec)
    with pytest.raises(WeChatLoginCodeError) as err:
        client.code2session("wx1", "secret", "code")
    assert len(rec.requests) == 1
    assert err.value.http_status == 400


def test_unknown_errcode_is_an_api_error_of_502() -> None:
    client, _ = make(Recorder({"errcode": 84103, "errmsg": "mismatch"}))
    with pytest.raises(WeChatApiError) as err:
        client.query_verify_info("vid", "seq-12345", "a" * 64, "o1")
    assert err.value.errcode == 84103
    assert err.value.http_status == 502


def test_an_unknown_errcode_is_logged_with_its_endpoint_never_with_the_bodies(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """How an operator finds the real codes WeChat answers (docs/runbook.md): endpoint and
    errcode in the log; neither what was sent (a name, an ID number) nor WeChat's errmsg."""
    client, _ = make(Recorder({"errcode": 84999, "errmsg": f"cert of {CAROL[0]} {CAROL[1]} rejected"}))
    with caplog.at_level(logging.DEBUG), pytest.raises(WeChatApiError):
        client.get_verify_id(CAROL[0], CAROL[1], "openid-1")
    (logged,) = [r for r in caplog.records if r.getMessage() == "wechat errcode"]
    assert (logged.endpoint, logged.errcode) == ("/cityservice/face/identify/getverifyid", 84999)  # type: ignore[attr-defined]
    everything = caplog.text + " ".join(str(vars(r)) for r in caplog.records)
    assert CAROL[0] not in everything and CAROL[1] not in everything and "rejected" not in everything


def test_retried_getverifyid_sends_a_fresh_out_seq_no_and_reports_the_accepted_one() -> None:
    rec = Recorder(lambda r: httpx.Response(500), {"errcode": 0, "verify_id": "vid-1", "expires_in": 3600})
    client, _ = make(rec)
    answer = client.get_verify_id(CAROL[0], CAROL[1], "openid-1")
    sent = [json.loads(r.content)["out_seq_no"] for r in rec.requests]
    assert len(sent) == 2 and sent[0] != sent[1]
    assert answer.out_seq_no == sent[1]
    body = json.loads(rec.requests[1].content)
    assert body["cert_info"] == {"cert_type": "IDENTITY_CARD", "cert_name": CAROL[0], "cert_no": CAROL[1]}
    assert body["openid"] == "openid-1"


def test_answers_that_are_not_wechat_json_are_protocol_errors_not_retried() -> None:
    rec = Recorder(
        lambda r: httpx.Response(200, text="<html>proxy</html>", headers={"content-type": "text/html"})
    )
    client, _ = make(rec)
    with pytest.raises(WeChatProtocolError):
        client.get_info("vr_x")
    rec2 = Recorder(lambda r: httpx.Response(403, text="forbidden"))
    client2, _ = make(rec2)
    with pytest.raises(WeChatProtocolError):
        client2.get_info("vr_x")
    assert len(rec2.requests) == 1


def test_a_malformed_success_never_quotes_the_secret_it_carried() -> None:
    rec = Recorder({"errcode": 0, "session_key": "SESSION-KEY-VALUE"})  # openid missing
    client, _ = make(rec)
    with pytest.raises(WeChatProtocolError) as err:
        client.code2session("wx1", "secret", "code")
    assert "SESSION-KEY-VALUE" not in str(err.value) + repr(err.value)
    assert err.value.__cause__ is None and err.value.__suppress_context__


def test_getimage_returns_bytes_and_raises_on_errcodes() -> None:
    jpeg = b"\xff\xd8\xff\xe0fake"
    client, _ = make(
        Recorder(lambda r: httpx.Response(200, content=jpeg, headers={"content-type": "image/jpeg"}))
    )
    assert client.get_image("vid", "seq-12345", "a" * 64, "o1") == jpeg
    client2, _ = make(Recorder({"errcode": 84105, "errmsg": "not found"}))
    with pytest.raises(WeChatApiError):
        client2.get_image("vid", "seq-12345", "a" * 64, "o1")


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(200, content=b"", headers={"content-type": "image/jpeg"}),  # empty: no photo
        httpx.Response(200, content=b""),
        httpx.Response(200, json={"errcode": 0, "errmsg": "ok", "verify_ret": 10300}),  # not finished
        httpx.Response(200, content=b' {"verify_ret": 10005}', headers={"content-type": "text/plain"}),
    ],
)
def test_getimage_never_takes_an_empty_or_json_answer_for_a_photo(answer: httpx.Response) -> None:
    client, _ = make(Recorder(lambda r: answer))
    with pytest.raises(WeChatProtocolError):
        client.get_image("vid", "seq-12345", "a" * 64, "o1")


def test_success_answers_without_errcode_are_read_as_success() -> None:
    """WeChat's token and login answers carry no errcode when they succeed."""
    rec = Recorder(
        {"access_token": "T" * 100, "expires_in": 7200},
        {"access_token": "U" * 100, "expires_in": 7000},
        {"openid": "o-1", "session_key": "c2Vzc2lvbi1rZXk="},
    )
    client = wechat_calls(CONFIG, transport=httpx.MockTransport(rec))
    assert client.stable_token("wx1", "s").expires_in == 7200
    assert client.token("wx1", "s").expires_in == 7000
    assert client.code2session("wx1", "s", "code").openid == "o-1"


@pytest.mark.parametrize("call", ["stable_token", "token"])
def test_40001_at_a_token_endpoint_is_the_appsecret_not_a_stale_token(call: str) -> None:
    """WeChat's getAccessToken page: 40001 there is a wrong AppSecret. A configuration fault (502
    and the alarm), not a stale token (503), and never retried."""
    rec = Recorder({"errcode": 40001, "errmsg": "invalid credential"})
    client = wechat_calls(CONFIG, transport=httpx.MockTransport(rec))
    with pytest.raises(WeChatCredentialsRejected) as err:
        getattr(client, call)("wx1", "wrong-secret")
    assert err.value.http_status == 502
    assert err.value.info.config_error and not err.value.info.token_error
    assert len(rec.requests) == 1


def test_40001_on_a_face_call_is_still_a_stale_token() -> None:
    rec = Recorder({"errcode": 40001, "errmsg": "invalid credential"}, OK_INFO)
    tokens = Tokens("tok-old", "tok-new")
    client, _ = make(rec, tokens)
    assert client.get_info("vr_x").identify_ret == 0
    assert tokens.stale_calls == ["tok-old"]


def test_token_endpoints_send_credentials_and_no_access_token() -> None:
    rec = Recorder({"access_token": "T" * 100, "expires_in": 7200})
    client = wechat_calls(CONFIG, transport=httpx.MockTransport(rec))  # no TokenSource needed
    client.stable_token("wx1", "s3cret", force_refresh=True)
    client.token("wx1", "s3cret")
    stable, plain = rec.requests
    assert stable.method == "POST" and stable.url.path == "/cgi-bin/stable_token"
    assert json.loads(stable.content) == {
        "grant_type": "client_credential", "appid": "wx1", "secret": "s3cret", "force_refresh": True,
    }  # fmt: skip
    assert "access_token" not in stable.url.params
    assert plain.method == "GET" and plain.url.params["secret"] == "s3cret"


def test_nothing_logged_carries_tokens_secrets_or_identity(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    secret, token = "APP-SECRET-VALUE", "ACCESS-TOKEN-VALUE-0123456789"
    rec = Recorder(
        {"errcode": -1},
        {"errcode": 0, "openid": "o1", "session_key": "SESSION-KEY-VALUE"},
        {"errcode": 40001},
        {"errcode": 0, "user_id_key": "k", "expires_in": 3600},
    )
    client, _ = make(rec, Tokens(token))
    client.code2session("wx1", secret, "JS-CODE-VALUE")
    client.get_user_id_key(CAROL[0], CAROL[1])
    assert "HTTP Request" in caplog.text  # httpx did log the requests...
    for value in (secret, token, "SESSION-KEY-VALUE", "JS-CODE-VALUE", CAROL[0], CAROL[1]):
        assert value not in caplog.text  # ...with the values redacted


def test_config_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from wxface.settings import Settings

    for key, value in {
        "PARAM_PATH": "/p",
        "WECHAT_BASE_URL": "http://127.0.0.1:3001/",
        "WECHAT_FALLBACK_BASE_URL": "none",
        "WECHAT_READ_TIMEOUT": "1.5",
    }.items():
        monkeypatch.setenv(key, value)
    cfg = container().wechat_transport.config
    new_container()
    assert cfg.base_urls == ("http://127.0.0.1:3001",)
    assert cfg.read_timeout == 1.5
    default = Settings.from_env({"PARAM_PATH": "/p"})
    assert (default.wechat_base_url, default.wechat_fallback_base_url) == (
        "https://api.weixin.qq.com",
        "https://api2.weixin.qq.com",
    )
    assert (
        Settings.from_env({"PARAM_PATH": "/p", "WECHAT_FALLBACK_BASE_URL": ""}).wechat_fallback_base_url
        is None
    )


def test_the_quota_guard_admits_every_attempt_wechat_may_see() -> None:
    """Retries and the retry with a fresh token use WeChat's quota like the first call."""
    admitted: list[tuple[str, str | None]] = []

    class Guard:
        def admit(self, endpoint: str, priority: Priority | None = None) -> None:
            admitted.append((endpoint, priority))

    rec = Recorder({"errcode": -1}, {"errcode": 40001}, {"errcode": 0, "verify_id": "v", "expires_in": 3600})
    transport = httpx.MockTransport(rec)
    client = wechat_calls(CONFIG, tokens=Tokens("T1", "T2"), transport=transport, sleep=lambda s: None,
                          guard=Guard())  # fmt: skip
    client.get_verify_id(CAROL[0], CAROL[1], "openid-1", priority="new")
    assert len(rec.requests) == 3
    assert admitted == [("/cityservice/face/identify/getverifyid", "new")] * 3  # the caller's priority


def test_a_failure_says_whether_anything_reached_wechat() -> None:
    def refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    def timed_out(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    for handler, reached in ((refused, False), (timed_out, True)):
        client, _ = make(Recorder(handler))
        with pytest.raises(WeChatUnavailable) as err:
            client.get_verify_id(CAROL[0], CAROL[1], "openid-1")
        assert err.value.reached is reached
    client, _ = make(Recorder({"errcode": 45009, "errmsg": "quota"}))
    with pytest.raises(WeChatApiError) as api:
        client.get_verify_id(CAROL[0], CAROL[1], "openid-1")
    assert api.value.reached is True
