"""A result must belong to the caller and to the identity the key was issued for."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest

from tests.support.people import ALICE, CAROL
from tests.support.stack import RunningStack, start_stack

pytestmark = pytest.mark.integration


def user() -> str:
    return f"o-{uuid.uuid4().hex[:12]}"


def test_another_users_result_is_403_and_nothing_is_stored_for_the_intruder(stack: RunningStack) -> None:
    owner, intruder = user(), user()
    owner_token, intruder_token = stack.login(owner), stack.login(intruder)
    ref = stack.verify_on_phone(owner, stack.key_of(owner_token, ALICE))
    stolen = stack.lookup(intruder_token, ref)
    assert stolen.status_code == 403
    assert stolen.json()["error"]["code"] == "forbidden"
    assert stack.call("GET", "/v1/face/results/latest", intruder_token).status_code == 404
    assert stack.lookup(owner_token, ref).json()["passed"] is True
    assert stack.lookup(intruder_token, ref).status_code == 403  # also once stored


def test_unknown_reference_is_404(stack: RunningStack) -> None:
    token = stack.login(user())
    ref = "vid_unknown-verify-id" if stack.version == 2 else "vr_" + "0" * 48
    resp = stack.lookup(token, ref)
    assert resp.status_code == 404
    if stack.version == 1:
        assert resp.json()["error"]["wechat_errcode"] == 84001


def test_v1_key_used_by_another_user_does_not_match(stack_v1: RunningStack) -> None:
    """User B obtains user A's user_id_key and passes the face check with it on B's phone."""
    stack_v1.sim_control("/sim/reset")
    a, b = user(), user()
    a_token, b_token = stack_v1.login(a), stack_v1.login(b)
    key_of_a = stack_v1.key_of(a_token, ALICE)
    ref = stack_v1.verify_on_phone(b, key_of_a)
    body = stack_v1.lookup(b_token, ref).json()
    assert body["identity_matched"] is False
    assert body["passed"] is False
    assert body["result_code"] == 0  # WeChat said pass; the binding says no


def test_v1_front_end_name_flow_is_never_passed(stack_v1: RunningStack) -> None:
    stack_v1.sim_control("/sim/reset")
    openid = user()
    token = stack_v1.login(openid)
    ref = stack_v1.sim_control(
        "/sim/verify", {"openid": openid, "name": CAROL[0], "id_card_number": CAROL[1]}
    )["verify_result"]
    body = stack_v1.lookup(token, ref).json()
    assert body["identity_matched"] is None
    assert body["result_code"] == 0  # WeChat's pass, for an identity nobody issued a key for here
    assert body["passed"] is False
    assert "not bound" in body["message"]


def test_v1_still_checking_is_answered_but_not_stored(stack_v1: RunningStack) -> None:
    stack_v1.sim_control("/sim/reset")
    openid = user()
    token = stack_v1.login(openid)
    ref = stack_v1.verify_on_phone(openid, stack_v1.key_of(token, ALICE), result_code=10005)
    for _ in range(2):
        body = stack_v1.lookup(token, ref).json()
        assert (body["passed"], body["result_code"]) == (False, 10005)
    assert stack_v1.calls_to("/cityservice/face/identify/getinfo") == 2
    assert stack_v1.call("GET", "/v1/face/results/latest", token).status_code == 404


def test_v1_result_wechat_no_longer_keeps_is_404_and_one_looked_up_in_time_stays(
    stack_v1: RunningStack,
) -> None:
    """WeChat answers a 1.0 verify_result for about 5 minutes, then 84001 (404). A result looked
    up within them is stored and answered from the table after."""
    stack_v1.sim_control("/sim/reset")
    openid = user()
    token = stack_v1.login(openid)
    late = stack_v1.verify_on_phone(openid, stack_v1.key_of(token, ALICE))
    in_time = stack_v1.verify_on_phone(openid, stack_v1.key_of(token, ALICE))
    assert stack_v1.lookup(token, in_time).json()["passed"] is True
    stack_v1.sim_control("/sim/clock", {"advance_s": 300})
    resp = stack_v1.lookup(token, late)
    assert resp.status_code == 404
    assert resp.json()["error"]["wechat_errcode"] == 84001
    assert stack_v1.lookup(token, in_time).json()["passed"] is True


@pytest.fixture(scope="module")
def short_keys_v2(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    stack = start_stack(2, tmp_path_factory.mktemp("short") / "stack.log", {"WECHAT_SIM_KEY_TTL": "2"})
    yield stack
    stack.stop()


def test_v2_expired_key_is_410_from_the_record_without_asking_wechat(short_keys_v2: RunningStack) -> None:
    stack = short_keys_v2
    openid = user()
    token = stack.login(openid)
    key = stack.key_of(token, ALICE)
    stack.verify_on_phone(openid, key)
    time.sleep(2.2)
    resp = stack.lookup(token, key)
    assert resp.status_code == 410
    assert resp.json()["error"]["code"] == "key_expired"
    assert stack.calls_to("/cityservice/face/identify/queryverifyinfo") == 0
    other = stack.lookup(stack.login(user()), key)
    assert other.status_code == 403  # another user's key, expired or not
