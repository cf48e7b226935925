"""``biz_ref``: the business's own reference, given with the key, kept with it and its result,
answered in the result (null when none was given), never another user's."""

from __future__ import annotations

import pytest

from tests.domain.conftest import Domain
from tests.support.people import ALICE, BOB
from wxface.domain.errors import IdempotencyConflict, InvalidBizRef

KEY_ENDPOINT = {1: "/cityservice/face/identify/getuseridkey", 2: "/cityservice/face/identify/getverifyid"}


def test_the_reference_given_with_the_key_comes_back_with_its_result(domain: Domain) -> None:
    ref = domain.face_check("alice", domain.key("alice", ALICE, biz_ref="order:2026-11-30.0042"))
    first = domain.look_up("alice", ref)
    assert first.biz_ref == "order:2026-11-30.0042"
    assert domain.look_up("alice", ref).biz_ref == "order:2026-11-30.0042"  # from the table
    assert domain.lookup().latest(domain.session("alice")).biz_ref == "order:2026-11-30.0042"


def test_without_a_reference_the_result_says_null(domain: Domain) -> None:
    ref = domain.face_check("alice", domain.key("alice", ALICE))
    assert domain.look_up("alice", ref).biz_ref is None


def test_another_users_reference_is_never_shown(v1: Domain) -> None:
    """Bob does the face check with Alice's key: he learns nothing of Alice's business reference."""
    ref = v1.face_check("bob", v1.key("alice", ALICE, biz_ref="account-alice"))
    answer = v1.look_up("bob", ref)
    assert (answer.identity_matched, answer.biz_ref) == (False, None)


@pytest.mark.parametrize("bad", ["", " ", "x" * 65, "订单1", "a b", "a/b", "a\n"])
def test_a_malformed_reference_is_refused_before_anything_happens(v2: Domain, bad: str) -> None:
    v2.keys_per_hour = 1
    with pytest.raises(InvalidBizRef):
        v2.key("alice", ALICE, biz_ref=bad)
    with pytest.raises(InvalidBizRef):
        v2.key("alice", ALICE, biz_ref=bad, idempotency_key="tap")
    assert v2.sim.calls().get(KEY_ENDPOINT[2], 0) == 0
    v2.key("alice", ALICE)  # nothing was counted


def test_the_reference_is_part_of_the_idempotent_body(domain: Domain) -> None:
    domain.key("alice", ALICE, biz_ref="order-1", idempotency_key="tap")
    assert domain.key("alice", ALICE, biz_ref="order-1", idempotency_key="tap")  # the same: replayed
    with pytest.raises(IdempotencyConflict):
        domain.key("alice", ALICE, biz_ref="order-2", idempotency_key="tap")
    with pytest.raises(IdempotencyConflict):
        domain.key("alice", BOB, biz_ref="order-1", idempotency_key="tap")
