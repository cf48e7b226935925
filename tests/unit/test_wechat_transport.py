"""The WeChat transport makes one attempt and answers what came back as data: no retry, no
token, no quota (that is the calling policy's, tests/unit/test_wechat_calls.py)."""

from __future__ import annotations

import httpx
import pytest

from tests.support.people import CAROL
from wxface.wechat import transport as calls
from wxface.wechat.errors import WeChatProtocolError
from wxface.wechat.transport import TransportConfig, WeChatTransport

CONFIG = TransportConfig(base_url="https://primary.test", fallback_base_url="https://fallback.test")


def send_once(answer: httpx.Response | Exception, host: int = 0) -> tuple[calls.Reply, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if isinstance(answer, Exception):
            raise answer
        return answer

    transport = WeChatTransport(CONFIG, transport=httpx.MockTransport(handler))
    reply = transport.send(calls.get_info("vr-1"), token="tok-1", host=host, time_left=5.0)
    return reply, seen


def test_an_errcode_is_data_after_exactly_one_request() -> None:
    reply, seen = send_once(httpx.Response(200, json={"errcode": -1, "errmsg": "system busy"}))
    assert len(seen) == 1  # busy: the transport does not retry
    assert (reply.errcode, reply.errmsg, reply.failure, reply.reached) == (-1, "system busy", None, True)
    assert seen[0].url.params["access_token"] == "tok-1"


@pytest.mark.parametrize(
    ("answer", "failure", "reached"),
    [
        (httpx.Response(502, text="bad gateway"), "HTTP 502", True),
        (httpx.ConnectError("refused"), "ConnectError", False),  # never connected: WeChat saw nothing
        (httpx.ReadTimeout("slow"), "ReadTimeout", True),  # sent: WeChat may have counted it
    ],
)
def test_a_failure_is_data_saying_whether_wechat_may_have_seen_it(
    answer: httpx.Response | Exception, failure: str, reached: bool
) -> None:
    reply, seen = send_once(answer)
    assert len(seen) == 1 and (reply.failure, reply.reached) == (failure, reached)


def test_the_host_it_is_told_is_the_host_it_uses() -> None:
    hosts = [send_once(httpx.Response(200, json={"errcode": 0}), host)[1][0].url.host for host in range(3)]
    assert hosts == ["primary.test", "fallback.test", "primary.test"]


def test_an_answer_that_is_not_wechat_json_is_a_protocol_error() -> None:
    with pytest.raises(WeChatProtocolError):
        send_once(httpx.Response(200, text="{not json", headers={"content-type": "application/json"}))
    with pytest.raises(WeChatProtocolError):
        send_once(httpx.Response(404, text="not found"))


def test_a_call_and_its_reply_show_no_secret_or_personal_data() -> None:
    call = calls.get_verify_id(CAROL[0], CAROL[1], "openid-1", "seq-12345")
    login = calls.code2session("wx-app", "app-secret-value", "js-code-value")
    reply = calls.Reply(call.endpoint, reached=True, content=b'{"access_token": "tok-secret"}')
    shown = f"{call!r} {login!r} {reply!r} {call} {reply}"
    for secret in (CAROL[0], CAROL[1], "app-secret-value", "js-code-value", "tok-secret"):
        assert secret not in shown
