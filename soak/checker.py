"""The soak's checker: reads what the clients saw and the final state, and says which invariant
failed where (an empty list: every one held).

It knows only what an operator and the business can know: the clients' own records, the table
read with the operator's credentials (owners as the stack's data-key HMACs of the openids), the
business's queue, and the simulator's call counts.
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# What a 5xx may be: a 503 with Retry-After (AWS or WeChat unavailable after bounded retries), or
# API Gateway's own answer for an invocation that was killed or timed out.
GATEWAY_500 = {"message": "Internal Server Error"}
# FaceDataErased is put on the bus within this many seconds of the erasure's 204 (the contract).
ERASED_EVENT_WITHIN_S = 90


@dataclass(frozen=True)
class Answer:
    """One answer a client got."""

    openid: str
    route: str
    status: int
    body: Any
    retry_after: str | None = None


@dataclass(frozen=True)
class SeenResult:
    """A result a client was answered, with what it had asked for."""

    openid: str
    passed: bool
    result_code: int
    verified_at: int
    final: bool  # stored by the stack (a final code), so it must be reported
    identity_source: str
    order_id: str | None
    asked_order: str | None  # the order the key was asked for (None: a typed identity)


@dataclass
class Observed:
    """Everything the clients recorded."""

    answers: list[Answer] = field(default_factory=list)
    results: list[SeenResult] = field(default_factory=list)
    checked: set[str] = field(default_factory=set)  # openids that did a face check (swept or not)
    erased: dict[str, float] = field(default_factory=dict)  # openid → when its 204 came
    foreign_reads: list[Answer] = field(default_factory=list)  # abusive reads of others' data
    # order_id → (its openid, the status the business's cancel was answered, or None: not cancelled)
    orders: dict[str, tuple[str, int | None]] = field(default_factory=dict)


@dataclass
class Final:
    """The state once the faults stopped and the schedules drained."""

    items: list[dict[str, str | int]]  # the table's items: pk, sk and numeric attributes
    events: list[dict[str, Any]]  # every event the business's queue delivered
    owner_of: Callable[[str], str]  # openid → its owner HMAC (the stack's data key)
    now: float
    result_id_of: Callable[[str], str] = lambda ref: ref  # a RESULT#<ref> item's result_id in events
    wechat_calls: dict[str, int] = field(default_factory=dict)  # the simulator's calls by path
    quotas: dict[str, int] = field(default_factory=dict)  # the guard's daily quota by path
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)  # order_id → the business's GET


def check(observed: Observed, final: Final) -> list[str]:
    """Every invariant, in order; the violations found."""
    return [
        *answers_are_contract_answers(observed.answers),
        *passes_are_the_callers_own(observed.results),
        *no_foreign_data(observed.foreign_reads),
        *every_stored_result_is_reported_once(observed, final.events),
        *every_result_in_the_table_is_reported(final),
        *erased_users_keep_nothing(observed, final),
        *no_event_follows_an_erasure(observed, final.events),
        *nothing_is_left_pending(final),
        *no_count_below_zero(final.items),
        *wechat_calls_within_the_guard(final),
        *orders_end_as_the_business_was_answered(observed, final),
    ]


def answers_are_contract_answers(answers: Iterable[Answer]) -> list[str]:
    out = []
    for a in answers:
        if a.status >= 500:
            gateway = a.status == 500 and a.body == GATEWAY_500
            unavailable = a.status == 503 and a.retry_after is not None
            if not (gateway or unavailable):
                out.append(
                    f"{a.route} answered {a.status} without Retry-After or API Gateway's body: {a.body!r}"
                )
    return out


def passes_are_the_callers_own(results: Iterable[SeenResult]) -> list[str]:
    out = []
    for r in results:
        if not r.passed:
            continue
        expected = ("business", r.asked_order) if r.asked_order else ("user", None)
        if (r.identity_source, r.order_id) != expected:
            out.append(
                f"{r.openid} saw a pass of {(r.identity_source, r.order_id)}, having asked for {expected}"
            )
    return out


def no_foreign_data(reads: Iterable[Answer]) -> list[str]:
    """A read of another user's key or result never answers it."""
    return [f"{a.openid} read another user's data: {a.route} {a.status}" for a in reads if a.status == 200]


def every_stored_result_is_reported_once(observed: Observed, events: list[dict[str, Any]]) -> list[str]:
    out = []
    completed = [e for e in events if e.get("detail-type") == "FaceVerificationCompleted"]
    details_by_id: dict[str, set[str]] = collections.defaultdict(set)
    for e in completed:
        detail = e["detail"]
        details_by_id[detail["result_id"]].add(repr(sorted(detail.items())))
    for rid, details in details_by_id.items():
        if len(details) > 1:
            out.append(f"result_id {rid} was reported with {len(details)} different details")
    reported: dict[tuple[str, int, int], set[str]] = collections.defaultdict(set)
    for e in completed:
        d = e["detail"]
        reported[(d["openid"], d["verified_at"], d["result_code"])].add(d["result_id"])
    stored: dict[tuple[str, int, int], int] = collections.Counter()
    for r in observed.results:
        if r.final and r.openid not in observed.erased:
            stored[(r.openid, r.verified_at, r.result_code)] = 1  # a repeat reads the same result
    for key in stored:
        if not reported.get(key):
            out.append(f"a stored result of {key[0]} (verified_at {key[1]}, code {key[2]}) has no event")
    for openid, verified_at, code in reported:
        if openid not in observed.checked:
            out.append(
                f"an event for {openid}, who never did a face check (verified_at {verified_at}, code {code})"
            )
    return out


def erased_users_keep_nothing(observed: Observed, final: Final) -> list[str]:
    out = []
    erased_events = {
        e["detail"]["openid"]: e for e in final.events if e.get("detail-type") == "FaceDataErased"
    }
    for openid in observed.erased:
        owner = final.owner_of(openid)
        left = [
            f"{i['pk']}/{i['sk']}"
            for i in final.items
            if str(i["pk"]) in (f"USER#{owner}", f"IDEMPOTENCY#{owner}")
            or (str(i["pk"]).startswith(("KEY#", "RESULT#", "ORDER#")) and i.get("owner") == owner)
        ]
        if left:
            out.append(f"erased {openid} still has {len(left)} items: {left[:3]}")
        if openid not in erased_events:
            out.append(f"erased {openid} has no FaceDataErased event")
    return out


def nothing_is_left_pending(final: Final) -> list[str]:
    out = [
        f"an event was never sent: {i['pk']}/{i['sk']}"
        for i in final.items
        if str(i["pk"]).startswith("OUTBOX#")
    ]
    for i in final.items:
        if str(i["pk"]).startswith("PENDING#") and int(i.get("check_at", 0)) <= final.now:
            out.append(f"a pending check is overdue: {i['sk']}")
    return out


def no_count_below_zero(items: Iterable[dict[str, str | int]]) -> list[str]:
    out = []
    for i in items:
        if str(i["pk"]).startswith(("LIMITS#", "RATE#")):
            negative = [k for k, v in i.items() if isinstance(v, int) and k != "ttl" and v < 0]
            if negative:
                out.append(f"{i['pk']} has counts below zero: {negative}")
    return out


def every_result_in_the_table_is_reported(final: Final) -> list[str]:
    """Whoever stored it (a request answered 200, or one killed or timed out after its write, or
    the sweeper), every result in the table has its event: a request that died after storing
    completed, as far as the business can tell."""
    reported = {
        e["detail"]["result_id"] for e in final.events if e.get("detail-type") == "FaceVerificationCompleted"
    }
    out = []
    for i in final.items:
        pk = str(i["pk"])
        stored = pk.startswith("RESULT#") and i.get("sk") == "RESULT"
        if stored and final.result_id_of(pk.removeprefix("RESULT#")) not in reported:
            out.append(f"a result in the table has no event: {pk[:20]}…")
    return out


def event_time(event: dict[str, Any]) -> float:
    """EventBridge's ``time`` (whole seconds, UTC)."""
    return datetime.fromisoformat(str(event["time"]).replace("Z", "+00:00")).timestamp()


def no_event_follows_an_erasure(observed: Observed, events: list[dict[str, Any]]) -> list[str]:
    """No FaceVerificationCompleted of an erased user is put after their FaceDataErased, which is
    put within 90 s of the 204 (EventBridge's ``time``, whole seconds: a same-second pair is not
    an order)."""
    out = []
    erasures: dict[str, float] = {}
    for e in events:
        if e.get("detail-type") == "FaceDataErased":
            erasures[e["detail"]["openid"]] = min(erasures.get(e["detail"]["openid"], 1e18), event_time(e))
    for openid, at in erasures.items():
        answered = observed.erased.get(openid)
        if answered is not None and at > answered + ERASED_EVENT_WITHIN_S:
            out.append(f"FaceDataErased of {openid} put {at - answered:.0f} s after the 204")
    for e in events:
        openid = e.get("detail", {}).get("openid")
        completed = e.get("detail-type") == "FaceVerificationCompleted"
        if completed and openid in erasures and event_time(e) > erasures[openid]:
            out.append(f"a FaceVerificationCompleted of {openid} was put after their FaceDataErased")
    return out


def wechat_calls_within_the_guard(final: Final) -> list[str]:
    """Every call WeChat saw was counted by the quota guard first (the counters in the table hold
    at least the simulator's calls), and no day's count passed the daily quota."""
    counted: dict[str, int] = collections.Counter()
    out = []
    for i in final.items:
        pk = str(i["pk"])
        path, _, day = pk.removeprefix("RATE#quota#").rpartition("#")
        if pk.startswith("RATE#quota#") and not day.startswith("h"):  # a day's count, not an hour's
            n = int(i.get("n", 0))
            counted[path] += n
            quota = final.quotas.get(path, 0)
            if quota and n > quota:
                out.append(f"{path} counted {n} calls on {day}, past its daily quota {quota}")
    for path, calls in final.wechat_calls.items():
        if path in final.quotas and calls > counted.get(path, 0):
            out.append(f"WeChat saw {calls} calls of {path}; the quota guard counted {counted.get(path, 0)}")
    return out


def orders_end_as_the_business_was_answered(observed: Observed, final: Final) -> list[str]:
    """Whom the business chose is who passed: an order the business cancelled (204) ends
    cancelled, however its keys' checks went; one whose cancel was refused (409) passed or
    expired; a passed order's result is a pass of that order."""
    out = []
    for order_id, (openid, cancelled) in observed.orders.items():
        if openid in observed.erased:
            continue  # erased with its user
        state = final.orders.get(order_id)
        if state is None:
            out.append(f"order {order_id} of {openid} is gone, its user not erased")
            continue
        status = state.get("status")
        if cancelled == 204 and status != "cancelled":
            out.append(f"order {order_id} was cancelled (204) and ended {status}")
        if cancelled == 409 and status not in ("passed", "expired"):
            out.append(f"order {order_id}'s cancel was refused (409) and it ended {status}")
        result = state.get("result")
        if status == "passed" and not (
            result and result.get("passed") and result.get("order_id") == order_id
        ):
            out.append(f"order {order_id} passed without a passing result of its own")
    return out
