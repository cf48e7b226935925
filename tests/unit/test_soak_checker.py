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


def test_a_result_in_the_table_without_its_event_fails() -> None:
    """A request killed after its write stored a result no client saw: its event is still owed."""
    observed, final = healthy()
    final.result_id_of = lambda ref: f"rid-{ref}"
    final.events.append(completed("alice", "rid-stored"))
    final.items.append({"pk": "RESULT#stored", "sk": "RESULT"})
    assert check(observed, final) == []
    final.items.append({"pk": "RESULT#killed", "sk": "RESULT"})
    assert any("in the table has no event" in v for v in check(observed, final))


def erased_at(openid: str, time: str) -> dict[str, Any]:
    return {"detail-type": "FaceDataErased", "time": time, "detail": {"openid": openid, "erased_at": 1}}


def test_an_event_put_after_the_users_erasure_event_fails() -> None:
    observed, final = healthy()
    observed.erased["alice"] = 1_800_000_000.0  # 2027-01-15T08:00:00Z
    final.events = [
        {**completed("alice", "r1"), "time": "2027-01-15T08:00:10Z"},
        erased_at("alice", "2027-01-15T08:00:20Z"),
    ]
    assert check(observed, final) == []
    final.events.append({**completed("alice", "r2"), "time": "2027-01-15T08:00:21Z"})
    assert any("after their FaceDataErased" in v for v in check(observed, final))


def test_an_erasure_event_later_than_90_seconds_after_the_204_fails() -> None:
    observed, final = healthy()
    observed.erased["alice"] = 1_800_000_000.0
    final.events = [{**completed("alice", "r1"), "time": "2027-01-15T07:59:00Z"}]
    final.events.append(erased_at("alice", "2027-01-15T08:01:31Z"))
    assert any("FaceDataErased of alice put 91 s after" in v for v in check(observed, final))


VERIFY = "/cityservice/face/identify/getverifyid"


def test_wechat_calls_the_guard_did_not_count_or_past_the_quota_fail() -> None:
    observed, final = healthy()
    final.quotas = {VERIFY: 100}
    final.items += [
        {"pk": f"RATE#quota#{VERIFY}#20270115", "sk": "RATE", "n": 50},  # a block reserved
        {"pk": f"RATE#quota#{VERIFY}#h480000", "sk": "RATE", "n": 50},  # an hour: not a day
    ]
    final.wechat_calls = {VERIFY: 42, "/cgi-bin/stable_token": 3}  # the token is not guarded
    assert check(observed, final) == []
    final.wechat_calls[VERIFY] = 51
    assert any("the quota guard counted 50" in v for v in check(observed, final))
    final.items.append({"pk": f"RATE#quota#{VERIFY}#20270116", "sk": "RATE", "n": 101})
    assert any("past its daily quota 100" in v for v in check(observed, final))


def test_an_order_not_ending_as_the_business_was_answered_fails() -> None:
    observed, final = healthy()
    observed.orders = {"ord_a": ("alice", 204), "ord_b": ("alice", 409), "ord_c": ("alice", None)}
    mine = {"passed": True, "order_id": "ord_b"}
    final.orders = {
        "ord_a": {"status": "cancelled", "result": {"passed": True, "order_id": "ord_a"}},  # a later pass
        "ord_b": {"status": "passed", "result": mine},
        "ord_c": {"status": "open", "result": None},
    }
    assert check(observed, final) == []
    final.orders["ord_a"]["status"] = "passed"  # cancelled, then passed anyway
    final.orders["ord_b"]["result"] = {"passed": True, "order_id": "ord_x"}  # passed by another's result
    del final.orders["ord_c"]  # gone, its user not erased
    violations = check(observed, final)
    assert any("was cancelled (204) and ended passed" in v for v in violations)
    assert any("ord_b passed without a passing result of its own" in v for v in violations)
    assert any("ord_c of alice is gone" in v for v in violations)
