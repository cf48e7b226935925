"""``GET /v1/face/results/latest`` and ``DELETE /v1/me`` on the stored results."""

from __future__ import annotations

import pytest

from tests.domain.conftest import Domain
from tests.support.people import ALICE
from wxface.domain.errors import NoResult, NotFound, SessionEnded


def test_latest_is_the_newest_stored_result_of_the_caller_only(v2: Domain) -> None:
    lookup = v2.lookup()
    with pytest.raises(NoResult):
        lookup.latest(v2.session("alice"))
    first = v2.look_up("alice", v2.face_check("alice", v2.key("alice", ALICE), result_code=10001))
    assert lookup.latest(v2.session("alice")) == first
    second = v2.look_up("alice", v2.face_check("alice", v2.key("alice", ALICE)), now=first.verified_at + 5)
    assert lookup.latest(v2.session("alice"), now=second.verified_at) == second
    with pytest.raises(NoResult):
        lookup.latest(v2.session("bob"))


def test_erasure_removes_keys_and_results_and_says_how_many(v2: Domain) -> None:
    verify_id = v2.face_check("alice", v2.key("alice", ALICE))
    v2.look_up("alice", verify_id)
    assert v2.lookup().erase(v2.session("alice")) == 2  # the key record and the result
    v2.sign_in_again("alice")
    with pytest.raises(NoResult):
        v2.lookup().latest(v2.session("alice"))
    with pytest.raises(NotFound):
        v2.look_up("alice", verify_id)
    assert v2.lookup().erase(v2.session("alice")) == 0  # idempotent


def test_erasure_ends_every_session_issued_before_it(domain: Domain) -> None:
    """A token stolen before the user erased their data is worth nothing after: every use case
    refuses it (401), and a new login works."""
    before = domain.session("alice")
    ref = domain.face_check("alice", domain.key("alice", ALICE))
    domain.lookup().erase(before)
    lookup = domain.lookup()
    for attempt in (
        lambda: lookup.look_up(before, domain.version, ref),
        lambda: lookup.latest(before),
        lambda: lookup.erase(before),
        lambda: domain.issuance()(before, *ALICE),
    ):
        with pytest.raises(SessionEnded):
            attempt()
    with pytest.raises(SessionEnded):
        domain.key("alice", ALICE)
    domain.sign_in_again("alice")
    domain.key("alice", ALICE)
    domain.look_up("bob", domain.face_check("bob", domain.key("bob", ALICE)))  # others are untouched


def test_erasure_forgets_the_idempotency_records_so_an_erased_key_is_never_replayed(domain: Domain) -> None:
    first = domain.key("alice", ALICE, idempotency_key="tap-1")
    domain.lookup().erase(domain.session("alice"))
    domain.sign_in_again("alice")
    assert domain.key("alice", ALICE, idempotency_key="tap-1") != first
