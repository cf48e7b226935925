"""Whose result is it, and for which identity: the rules behind 403, 404, 410 and
``identity_matched``, on both face API versions and both backends."""

from __future__ import annotations

import time
from typing import Literal

import pytest
from msgspec.structs import replace

from tests.domain.conftest import Domain
from tests.support.people import ALICE, BOB
from wxface.domain.errors import Forbidden, KeyExpired, NotFound, WrongFaceApiVersion
from wxface.domain.stack_keys import sha256_hex
from wxface.wechat.catalogue import IDENTIFY_PASS, VERIFY_PASS
from wxface.wechat.errors import WeChatNotFound

QUERY_ENDPOINT = {1: "/cityservice/face/identify/getinfo", 2: "/cityservice/face/identify/queryverifyinfo"}


def test_a_pass_for_the_identity_issued_is_bound_and_answered_from_the_table_after(domain: Domain) -> None:
    ref = domain.face_check("alice", domain.key("alice", ALICE))
    first = domain.look_up("alice", ref)
    wechat_pass = IDENTIFY_PASS if domain.version == 1 else VERIFY_PASS
    assert (first.passed, first.identity_matched, first.result_code) == (True, True, wechat_pass)
    again = domain.look_up("alice", ref)
    assert again == first
    assert domain.sim.calls().get(QUERY_ENDPOINT[domain.version], 0) == 1  # the repeat came from the table


def test_another_users_result_is_forbidden_before_and_after_it_is_stored(domain: Domain) -> None:
    ref = domain.face_check("alice", domain.key("alice", ALICE))
    with pytest.raises(Forbidden):
        domain.look_up("mallory", ref)
    domain.look_up("alice", ref)
    with pytest.raises(Forbidden):
        domain.look_up("mallory", ref)


def test_a_verify_id_nobody_issued_here_is_not_found_without_asking_wechat(v2: Domain) -> None:
    with pytest.raises(NotFound):
        v2.look_up("alice", "a" * 32)
    assert v2.sim.calls().get(QUERY_ENDPOINT[2], 0) == 0


def test_a_verify_result_wechat_does_not_know_is_its_not_found(v1: Domain) -> None:
    with pytest.raises(WeChatNotFound):  # 84001/84003: the edge answers 404
        v1.look_up("alice", "vr_" + "0" * 48)


def test_a_key_checked_by_another_user_does_not_match_the_identity(v1: Domain) -> None:
    """Bob holds Alice's user_id_key (leaked, or a shared phone) and does the face check himself.
    (In 2.0 WeChat itself refuses a verify_id on another openid than it was issued for.)"""
    ref = v1.face_check("bob", v1.key("alice", ALICE))
    answer = v1.look_up("bob", ref)
    assert (answer.passed, answer.identity_matched) == (False, False)


def test_a_face_check_without_a_key_issued_here_is_never_passed(v1: Domain) -> None:
    """A tampered mini-program skips the key this backend issued (for the identity the user
    claimed) and has WeChat check any name and number itself: WeChat passes it, the backend
    must not."""
    v1.key("alice", ALICE)  # the key issued for the identity Alice claimed, never used
    answer = v1.sim.control("/sim/verify", {"openid": "alice", "name": BOB[0], "id_card_number": BOB[1]})
    result = v1.look_up("alice", str(answer["verify_result"]))
    assert (result.result_code, result.identity_matched, result.passed) == (IDENTIFY_PASS, None, False)
    assert "not bound" in result.message and "未绑定" in result.message_zh


def test_a_face_check_looked_up_after_erasure_is_not_passed_or_not_found(domain: Domain) -> None:
    """``DELETE /v1/me`` erased the key record: the face check can no longer be bound to it."""
    ref = domain.face_check("alice", domain.key("alice", ALICE))
    domain.lookup().erase(domain.session("alice"))
    domain.sign_in_again("alice")
    if domain.version == 2:  # the verify_id's record was this backend's only knowledge of it
        with pytest.raises(NotFound):
            domain.look_up("alice", ref)
        return
    result = domain.look_up("alice", ref)  # 1.0: WeChat still answers getinfo, the binding is gone
    assert (result.identity_matched, result.passed) == (None, False)


def test_a_stored_result_records_the_key_it_was_bound_to(domain: Domain) -> None:
    key = domain.key("alice", ALICE)
    ref = domain.face_check("alice", key)
    domain.look_up("alice", ref)
    stored = domain.backend.store.get_result(sha256_hex(ref))
    assert stored is not None and stored.key_ref == sha256_hex(key)


def test_a_verify_id_past_its_expiry_is_gone_and_past_the_lookup_window_not_found(v2: Domain) -> None:
    verify_id = v2.key("alice", ALICE)
    record = v2.backend.store.get_key(sha256_hex(verify_id))
    assert record is not None
    assert record.ttl - record.expires_at == v2.lookup_window_s
    assert record.issued_at <= time.time()
    with pytest.raises(KeyExpired):
        v2.look_up("alice", verify_id, now=record.expires_at + 1)
    with pytest.raises(NotFound):
        v2.look_up("alice", verify_id, now=record.ttl + 1)
    assert v2.sim.calls().get(QUERY_ENDPOINT[2], 0) == 0


def test_the_other_face_api_versions_reference_is_refused_before_it_counts_or_reaches_wechat(
    domain: Domain,
) -> None:
    domain.lookups_per_hour = 1
    ref = domain.face_check("alice", domain.key("alice", ALICE))
    other: Literal[1, 2] = 2 if domain.version == 1 else 1
    with pytest.raises(WrongFaceApiVersion) as refused:
        domain.lookup().look_up(domain.session("alice"), other, ref)
    assert refused.value.deployed == domain.version
    assert domain.look_up("alice", ref).passed  # the refused one did not use up the hourly lookup


def test_the_stored_cert_hash_is_sealed_and_bound_to_its_record(v2: Domain) -> None:
    """A table dump must not hold a SHA-256 of a name and an ID number (reversed by brute force in
    seconds); a sealed value copied onto another key's record does not open there."""
    from wxface.identity import CERT_TYPE_IDENTITY_CARD, cert_hash

    first, second = v2.key("alice", ALICE), v2.key("alice", BOB)
    record = v2.backend.store.get_key(sha256_hex(first))
    assert record is not None and record.cert_hash is not None
    assert record.cert_hash.startswith("v1:")
    assert cert_hash(CERT_TYPE_IDENTITY_CARD, *ALICE) not in record.cert_hash
    v2.face_check("alice", first)
    assert v2.look_up("alice", first).passed  # WeChat received the real cert_hash back
    other = v2.backend.store.get_key(sha256_hex(second))
    assert other is not None
    v2.backend.store.put_key(
        sha256_hex(second), replace(other, cert_hash=record.cert_hash), issued_ms=1, epoch=0
    )
    with pytest.raises(NotFound):
        v2.look_up("alice", second)
