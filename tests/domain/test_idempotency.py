"""``Idempotency-Key``: one key per tap, however many times the request arrives."""

from __future__ import annotations

import pytest

from tests.domain.conftest import Domain
from tests.support.people import ALICE, BOB
from wxface.domain.errors import IdempotencyConflict, InvalidIdempotencyKey

KEY_ENDPOINT = {1: "/cityservice/face/identify/getuseridkey", 2: "/cityservice/face/identify/getverifyid"}


def test_the_same_key_and_body_answer_the_first_key_without_asking_wechat_again(domain: Domain) -> None:
    domain.keys_per_hour = 1  # a replay does not count against the limit either
    first = domain.key("alice", ALICE, idempotency_key="tap-1")
    assert domain.key("alice", ALICE, idempotency_key="tap-1") == first
    assert domain.sim.calls()[KEY_ENDPOINT[domain.version]] == 1


def test_the_same_key_with_another_body_is_a_conflict(domain: Domain) -> None:
    domain.key("alice", ALICE, idempotency_key="tap-1")
    with pytest.raises(IdempotencyConflict):
        domain.key("alice", BOB, idempotency_key="tap-1")


def test_keys_are_per_user(domain: Domain) -> None:
    assert domain.key("alice", ALICE, idempotency_key="k") != domain.key("bob", ALICE, idempotency_key="k")


@pytest.mark.parametrize("bad", ["", " ", "x" * 129, "密钥", "a b"])
def test_a_malformed_key_is_refused_before_anything_happens(v2: Domain, bad: str) -> None:
    with pytest.raises(InvalidIdempotencyKey):
        v2.key("alice", ALICE, idempotency_key=bad)
    assert v2.sim.calls().get(KEY_ENDPOINT[2], 0) == 0
