"""The soak's checker fails on a deliberately broken state: each invariant, a state that breaks
it, and the state that holds."""

from __future__ import annotations

from typing import Any

from soak.checker import Answer, Final, Observed, SeenResult, check

OWNER = {"alice": "own-alice", "bob": "own-bob"}


def completed(
    openid: str, rid: str, verified_at: int = 100, code: int = 10000, **extra: Any
) -> dict[str, Any]:
    detail = {
        "result_id": rid,
        "openid": openid,
        "verified_at": verified_at,
        "result_code": code,
        "passed": True,
    }
    return {"detail-type": "FaceVerificationCompleted", "detail": {**detail, **extra}}


def seen(openid: str = "alice", **extra: Any) -> SeenResult:
    values: dict[str, Any] = {
        "openid": openid, "passed": True, "result_code": 10000, "verified_at": 100, "final": True,
        "identity_source": "user", "order_id": None, "asked_order": None,
    }  # fmt: skip
    return SeenResult(**{**values, **extra})


def healthy() -> tuple[Observed, Final]:
    observed = Observed(results=[seen()], checked={"alice"})
    final = Final(items=[], events=[completed("alice", "r1")], owner_of=OWNER.__getitem__, now=1000.0)
    return observed, final


def test_a_healthy_state_has_no_violation() -> None:
    assert check(*healthy()) == []


def test_a_stored_result_without_an_event_fails() -> None:
    observed, final = healthy()
    final.events = []
    assert any("has no event" in v for v in check(observed, final))


def test_an_event_reported_twice_with_different_details_fails() -> None:
    observed, final = healthy()
    final.events.append(completed("alice", "r1", code=10001))
    assert any("different details" in v for v in check(observed, final))


def test_a_doubled_event_with_the_same_result_id_is_at_least_once_not_a_violation() -> None:
    observed, final = healthy()
    final.events.append(completed("alice", "r1"))
    assert check(observed, final) == []


def test_an_event_for_someone_who_never_did_a_face_check_fails() -> None:
    observed, final = healthy()
    final.events.append(completed("mallory", "r9"))
    assert any("never did a face check" in v for v in check(observed, final))


def test_a_pass_of_another_identity_than_asked_fails() -> None:
    observed, final = healthy()
    observed.results.append(seen(identity_source="user", asked_order="ord_x"))
    assert any("having asked for" in v for v in check(observed, final))


def test_another_users_data_answered_fails() -> None:
    observed, final = healthy()
    observed.foreign_reads.append(Answer("mallory", "POST /v1/face/results", 200, {}))
    assert any("another user's data" in v for v in check(observed, final))


def test_a_5xx_other_than_503_with_retry_after_or_the_gateways_500_fails() -> None:
    observed, final = healthy()
    observed.answers += [
        Answer("alice", "POST /v1/face/keys", 503, {"error": {}}, retry_after="2"),  # fine
        Answer("alice", "POST /v1/face/keys", 500, {"message": "Internal Server Error"}),  # fine
    ]
    assert check(observed, final) == []
    observed.answers.append(Answer("alice", "POST /v1/face/keys", 500, {"error": {"code": "internal_error"}}))
    observed.answers.append(Answer("alice", "POST /v1/face/keys", 503, {"error": {}}))
    assert len([v for v in check(observed, final) if "Retry-After" in v]) == 2


def test_an_erased_user_with_items_left_or_no_erasure_event_fails() -> None:
    observed, final = healthy()
    observed.erased["bob"] = 500.0
    final.items.append({"pk": "USER#own-bob", "sk": "KEY#1"})
    violations = check(observed, final)
    assert any("still has 1 items" in v for v in violations) and any(
        "no FaceDataErased" in v for v in violations
    )


def test_an_unsent_event_or_an_overdue_pending_check_fails() -> None:
    observed, final = healthy()
    final.items += [
        {"pk": "OUTBOX#1", "sk": "R#x"},
        {"pk": "PENDING#2", "sk": "ref", "check_at": 999},
        {"pk": "PENDING#3", "sk": "later", "check_at": 5000},  # not due yet: fine
    ]
    violations = check(observed, final)
    assert len(violations) == 2


def test_a_count_below_zero_fails() -> None:
    observed, final = healthy()
    final.items.append({"pk": "LIMITS#own-alice", "sk": "LIMITS", "keys#1": -1, "ttl": 5})
    assert any("below zero" in v for v in check(observed, final))
