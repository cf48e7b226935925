"""The simulator's log never holds a name, ID number, secret, access token or session_key."""

from __future__ import annotations

import pytest

from tests.support.people import PEOPLE
from tests.support.simulator import APPID, SECRET, SimTokens, fast_config, start_sim
from tests.support.wechat import wechat_calls
from wxface.wechat.errors import WeChatError

pytestmark = pytest.mark.integration


def test_simulator_log_holds_no_personal_data_or_secrets(tmp_path_factory: pytest.TempPathFactory) -> None:
    sim = start_sim(tmp_path_factory.mktemp("privacy") / "sim.log", None, "--log-level", "debug")
    secrets_seen: list[str] = [SECRET]
    try:
        tokens = SimTokens(sim.url)
        with wechat_calls(fast_config(sim.url), tokens=tokens) as c:
            secrets_seen.append(tokens.get())
            secrets_seen.append(c.token(APPID, SECRET).access_token.get_secret_value())
            code = sim.login_code("o-private")
            secrets_seen.append(c.code2session(APPID, SECRET, code).session_key.get_secret_value())
            for i, (name, number) in enumerate(PEOPLE):
                key = c.get_user_id_key(name, number)
                vr = sim.control("/sim/verify", {"openid": f"o{i}", "user_id_key": key.user_id_key})
                c.get_info(vr["verify_result"])
                sim.control("/sim/verify", {"openid": f"o{i}", "name": name, "id_card_number": number})
                vid = c.get_verify_id(name, number, f"o{i}")
                sim.post("/sim/verify", {"openid": "intruder", "verify_id": vid.verify_id})  # a 400
                # A malformed control call that quotes the person: the error must not echo it.
                sim.post("/sim/verify", {"openid": f"o{i}", "name": name})
            sim.control("/sim/faults", {"path": "/cityservice/face/identify/getuseridkey", "errcode": 40001})
            c.get_user_id_key(*PEOPLE[0])
            sim.control("/sim/expire-tokens")
            with pytest.raises(WeChatError):
                c.get_user_id_key("", PEOPLE[1][1])  # 84006
            secrets_seen.append(tokens.get())
    finally:
        sim.stop()
    log = sim.log_text()
    assert "/cityservice/face/identify/getuseridkey" in log  # the access log is there...
    assert "access_token=***" in log and "secret=***" in log  # ...with query values redacted
    for name, number in PEOPLE:
        assert name not in log
        assert number not in log and number.lower() not in log
    for value in secrets_seen:
        assert value not in log
