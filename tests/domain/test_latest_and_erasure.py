"""``GET /v1/face/results/latest`` and ``DELETE /v1/me`` on the stored results."""

from __future__ import annotations

import pytest

from tests.domain.conftest import Domain
from tests.support.people import ALICE
from wxface.domain.errors import NoResult, NotFound


def test_latest_is_the_newest_stored_result_of_the_caller_only(v2: Domain) -> None:
    lookup = v2.lookup()
    with pytest.raises(NoResult):
        lookup.latest("alice")
    first = v2.look_up("alice", v2.face_check("alice", v2.key("alice", ALICE), result_code=10001))
    assert lookup.latest("alice") == first
    second = v2.look_up("alice", v2.face_check("alice", v2.key("alice", ALICE)), now=first.verified_at + 5)
    assert lookup.latest("alice", now=second.verified_at) == second
    with pytest.raises(NoResult):
        lookup.latest("bob")


def test_erasure_removes_keys_and_results_and_says_how_many(v2: Domain) -> None:
    verify_id = v2.face_check("alice", v2.key("alice", ALICE))
    v2.look_up("alice", verify_id)
    assert v2.lookup().erase("alice") == 2  # the key record and the result
    with pytest.raises(NoResult):
        v2.lookup().latest("alice")
    with pytest.raises(NotFound):
        v2.look_up("alice", verify_id)
    assert v2.lookup().erase("alice") == 0  # idempotent
