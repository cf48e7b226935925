"""A face check WeChat has not finished is not a result: 2.0's verify_ret 10300 (not done) and
10005 (still checking), 1.0's identify_ret 10005. Answered, never stored, no event, and a later
lookup asks WeChat again; the sweeper looks again later. WeChat's own failures (system failures,
a repeated request) are final failures, never a pass. On both backends."""

from __future__ import annotations

import time

import pytest

from tests.domain.conftest import Domain
from tests.domain.test_events import QUERY, outbox_of, pending_of
from tests.support.people import ALICE
from wxface.domain.errors import NoResult
from wxface.wechat.catalogue import VERIFY_PASS

NOT_FINISHED, STILL_CHECKING = 10300, 10005


def assert_nothing_stored(domain: Domain, openid: str) -> None:
    with pytest.raises(NoResult):
        domain.lookup().latest(domain.session(openid))
    with pytest.raises(NoResult):
        domain.lookup().for_business(openid)
    assert domain.bus.taken == [] and outbox_of(domain.backend.store) == []


def test_a_lookup_before_the_face_check_is_done_stores_nothing_and_the_later_one_passes(v2: Domain) -> None:
    verify_id = v2.key("uf-early", ALICE, biz_ref="order-1")
    early = v2.look_up("uf-early", verify_id)  # the mini-program polls before the user is done
    assert (early.passed, early.result_code) == (False, NOT_FINISHED)
    assert early.message_zh == "未完成核身"
    assert_nothing_stored(v2, "uf-early")
    assert len(pending_of(v2.backend.store)) == 1  # the sweeper still looks for it
    again = v2.look_up("uf-early", verify_id)
    assert again.result_code == NOT_FINISHED
    assert v2.sim.calls()[QUERY] == 2  # asked again, not answered from the table

    v2.face_check("uf-early", verify_id)
    done = v2.look_up("uf-early", verify_id)
    assert (done.passed, done.result_code, done.identity_matched) == (True, VERIFY_PASS, True)
    assert v2.lookup().latest(v2.session("uf-early")).passed
    assert [d["passed"] for d in v2.bus.details()] == [True]
    assert pending_of(v2.backend.store) == []
    assert v2.look_up("uf-early", verify_id).passed  # from the table now
    assert v2.sim.calls()[QUERY] == 3


def test_still_checking_is_not_stored_either(v2: Domain) -> None:
    verify_id = v2.face_check("uf-checking", v2.key("uf-checking", ALICE), result_code=STILL_CHECKING)
    answer = v2.look_up("uf-checking", verify_id)
    assert (answer.passed, answer.result_code) == (False, STILL_CHECKING)
    assert_nothing_stored(v2, "uf-checking")
    v2.face_check("uf-checking", verify_id)  # WeChat finishes
    assert v2.look_up("uf-checking", verify_id).passed


def test_1_0_still_checking_is_not_stored_and_the_later_lookup_passes(v1: Domain) -> None:
    key = v1.key("uf-v1", ALICE)
    checking = v1.face_check("uf-v1", key, result_code=STILL_CHECKING)
    answer = v1.look_up("uf-v1", checking)
    assert (answer.passed, answer.result_code) == (False, STILL_CHECKING)
    assert_nothing_stored(v1, "uf-v1")
    assert v1.look_up("uf-v1", v1.face_check("uf-v1", key)).passed


def test_the_sweep_before_the_face_check_is_done_stores_nothing_and_the_users_lookup_then_passes(
    v2: Domain,
) -> None:
    verify_id = v2.key("uf-sweep", ALICE)
    issued = time.time()
    lookup = v2.lookup()
    assert lookup.sweep(issued + v2.sweep_after_s + 1).as_dict() == {"unfinished": 1}
    assert_nothing_stored(v2, "uf-sweep")
    (check,) = pending_of(v2.backend.store)
    assert check.check_at == check.expires_at - 300  # looked at once more in the key's last minutes
    v2.face_check("uf-sweep", verify_id)
    assert v2.look_up("uf-sweep", verify_id).passed
    assert pending_of(v2.backend.store) == []
    assert [d["passed"] for d in v2.bus.details()] == [True]


def test_the_sweeps_last_look_stores_a_check_finished_after_its_first(v2: Domain) -> None:
    verify_id = v2.key("uf-last", ALICE, biz_ref="order-2")
    lookup = v2.lookup()
    assert lookup.sweep(time.time() + v2.sweep_after_s + 1).as_dict() == {"unfinished": 1}
    v2.face_check("uf-last", verify_id)  # the user finished, the app never looked it up
    (check,) = pending_of(v2.backend.store)
    assert lookup.sweep(check.check_at).as_dict() == {"stored": 1}
    (detail,) = v2.bus.details()
    assert (detail["passed"], detail["biz_ref"]) == (True, "order-2")


@pytest.mark.parametrize("code", [10008, 10013, 10014, 10015, 10045, 10021])
def test_wechats_own_failures_and_a_repeated_request_are_final_failures(v2: Domain, code: int) -> None:
    openid = f"uf-fail-{code}"
    verify_id = v2.face_check(openid, v2.key(openid, ALICE), result_code=code)
    answer = v2.look_up(openid, verify_id)
    assert (answer.passed, answer.result_code) == (False, code)
    assert "new face check" in answer.message and "重新发起核身" in answer.message_zh
    stored = v2.lookup().latest(v2.session(openid))
    assert (stored.passed, stored.result_code) == (False, code)
    assert [d["passed"] for d in v2.bus.details()] == [False]
    # A new key from the same user is a new face check, and may pass.
    second = v2.face_check(openid, v2.key(openid, ALICE))
    assert v2.look_up(openid, second).passed
