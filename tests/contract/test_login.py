"""jscode2session against the simulator: single-use, 5-minute wx.login codes."""

from __future__ import annotations

import pytest

from tests.support.simulator import APPID, SECRET, RunningSim
from tests.support.wechat import Calls
from wxface.wechat.errors import WeChatCredentialsRejected, WeChatLoginCodeError

pytestmark = pytest.mark.integration


def test_a_login_code_gives_openid_and_session_key_once(fresh_sim: RunningSim, client: Calls) -> None:
    code = fresh_sim.login_code("openid-login-1")
    session = client.code2session(APPID, SECRET, code)
    assert session.openid == "openid-login-1"
    assert len(session.session_key.get_secret_value()) >= 16
    with pytest.raises(WeChatLoginCodeError) as err:
        client.code2session(APPID, SECRET, code)
    assert err.value.errcode == 40163
    assert err.value.http_status == 400


def test_unknown_code_is_40029(client: Calls) -> None:
    with pytest.raises(WeChatLoginCodeError) as err:
        client.code2session(APPID, SECRET, "0" * 32)
    assert err.value.errcode == 40029


def test_codes_expire_after_five_minutes(fresh_sim: RunningSim, client: Calls) -> None:
    code = fresh_sim.login_code("openid-login-2")
    fresh_sim.control("/sim/clock", {"advance_s": 300})
    with pytest.raises(WeChatLoginCodeError) as err:
        client.code2session(APPID, SECRET, code)
    assert err.value.errcode == 40029


def test_codes_are_per_user_and_unique(fresh_sim: RunningSim, client: Calls) -> None:
    a, b = fresh_sim.login_code("user-a"), fresh_sim.login_code("user-b")
    assert a != b
    assert client.code2session(APPID, SECRET, b).openid == "user-b"
    assert client.code2session(APPID, SECRET, a).openid == "user-a"


def test_wrong_secret_is_refused(fresh_sim: RunningSim, client: Calls) -> None:
    code = fresh_sim.login_code("openid-login-3")
    with pytest.raises(WeChatCredentialsRejected) as err:
        client.code2session(APPID, "not-the-secret", code)
    assert err.value.errcode == 40125
    assert client.code2session(APPID, SECRET, code).openid == "openid-login-3"  # still unused


def test_sim_login_needs_an_openid(fresh_sim: RunningSim) -> None:
    resp = fresh_sim.post("/sim/login", {})
    assert resp.status_code == 400
    assert "openid" in resp.json()["error"]
