"""Face API 1.0 (the seed): getuseridkey, the phone's check, getinfo, and its errcodes."""

from __future__ import annotations

import pytest

from tests.support.people import ALICE, BOB
from tests.support.simulator import RunningSim
from tests.support.wechat import Calls
from wxface.identity import id_card_number_md5, name_utf8_md5
from wxface.wechat.catalogue import IDENTIFY_PASS
from wxface.wechat.errors import WeChatApiError, WeChatNotFound, WeChatResultExpired

pytestmark = pytest.mark.integration


def test_key_flow_returns_the_result_bound_to_key_user_and_identity(
    fresh_sim: RunningSim, client: Calls
) -> None:
    name, number = ALICE
    key = client.get_user_id_key(name, number)
    assert key.expires_in == 3600
    verify_result = fresh_sim.control("/sim/verify", {"openid": "o-alice", "user_id_key": key.user_id_key})[
        "verify_result"
    ]
    info = client.get_info(verify_result)
    assert info.identify_ret == IDENTIFY_PASS
    assert info.openid == "o-alice"
    assert info.user_id_key == key.user_id_key
    # The simulator computes WeChat's MD5s on its own; the product's helpers must agree.
    assert info.id_card_number_md5 == id_card_number_md5(number)
    assert info.name_utf8_md5 == name_utf8_md5(name)
    assert info.identify_time and info.finish_time and info.validate_data


def test_front_end_flow_with_name_and_number_has_no_key(fresh_sim: RunningSim, client: Calls) -> None:
    name, number = BOB
    verify_result = fresh_sim.control(
        "/sim/verify", {"openid": "o-bob", "name": name, "id_card_number": number.lower()}
    )["verify_result"]
    info = client.get_info(verify_result)
    assert info.user_id_key == ""
    assert info.id_card_number_md5 == id_card_number_md5(number)  # final x upper-cased


@pytest.mark.parametrize("result_code", [10004, 90100, 10005])
def test_failed_or_unfinished_checks_are_results_not_errors(
    fresh_sim: RunningSim, client: Calls, result_code: int
) -> None:
    key = client.get_user_id_key(*ALICE)
    verify_result = fresh_sim.control(
        "/sim/verify", {"openid": "o-alice", "user_id_key": key.user_id_key, "result_code": result_code}
    )["verify_result"]
    info = client.get_info(verify_result)
    assert info.identify_ret == result_code
    assert (info.finish_time == 0) is (result_code == 10005)


def test_getinfo_errcodes(fresh_sim: RunningSim, client: Calls) -> None:
    """A malformed, unknown or expired verify_result is 84001 (WeChat staff on the developer
    community), a 404 for the product."""
    with pytest.raises(WeChatNotFound) as illegal:
        client.get_info("not-a-verify-result")
    assert illegal.value.errcode == 84001
    with pytest.raises(WeChatNotFound) as missing:
        client.get_info("vr_" + "0" * 48)
    assert missing.value.errcode == 84001
    assert missing.value.http_status == 404


def test_a_verify_result_answers_for_five_minutes_then_is_84001(fresh_sim: RunningSim, client: Calls) -> None:
    key = client.get_user_id_key(*ALICE)
    verify_result = fresh_sim.control("/sim/verify", {"openid": "o", "user_id_key": key.user_id_key})[
        "verify_result"
    ]
    fresh_sim.control("/sim/clock", {"advance_s": 299})
    assert client.get_info(verify_result).identify_ret == IDENTIFY_PASS
    fresh_sim.control("/sim/clock", {"advance_s": 1})
    with pytest.raises(WeChatNotFound) as expired:
        client.get_info(verify_result)
    assert expired.value.errcode == 84001


@pytest.mark.parametrize(
    ("errcode", "error", "status"), [(84002, WeChatResultExpired, 410), (84003, WeChatNotFound, 404)]
)
def test_the_seeds_other_getinfo_errcodes_come_from_the_fault_route(
    fresh_sim: RunningSim, client: Calls, errcode: int, error: type[WeChatApiError], status: int
) -> None:
    fresh_sim.control("/sim/faults", {"path": "/cityservice/face/identify/getinfo", "errcode": errcode})
    with pytest.raises(error) as answered:
        client.get_info("vr_" + "0" * 48)
    assert (answered.value.errcode, answered.value.http_status) == (errcode, status)


def test_empty_name_or_number_is_84006(client: Calls) -> None:
    with pytest.raises(WeChatApiError) as err:
        client.get_user_id_key("", ALICE[1])
    assert err.value.errcode == 84006
    assert err.value.http_status == 400


def test_user_id_key_expires_after_an_hour(fresh_sim: RunningSim, client: Calls) -> None:
    key = client.get_user_id_key(*ALICE)
    fresh_sim.control("/sim/clock", {"advance_s": 3600})
    resp = fresh_sim.post("/sim/verify", {"openid": "o", "user_id_key": key.user_id_key})
    assert resp.status_code == 400
    assert "expired" in resp.json()["error"]


@pytest.mark.parametrize(
    "body",
    [
        {"user_id_key": "whatever"},
        {"openid": "o", "user_id_key": "unknown-key"},
        {"openid": "o"},
        {"openid": "o", "user_id_key": "k", "result_code": "pass"},
    ],
)
def test_malformed_sim_verify_calls_are_400(fresh_sim: RunningSim, body: dict[str, object]) -> None:
    resp = fresh_sim.post("/sim/verify", body)
    assert resp.status_code == 400
    assert isinstance(resp.json()["error"], str)
