"""Idempotent calls on the local AWS endpoint: replay, conflicts, a double tap, failures."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import pytest

from tests.support.aws import Deployment, clients
from wxface.api.errors import from_domain
from wxface.dal.aws import AwsClients
from wxface.dal.idempotency import IdempotencyTable
from wxface.domain.errors import DomainError, RateLimited, SessionEnded
from wxface.domain.idempotency import IdempotentCalls


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def calls(dep: Deployment) -> tuple[Callable[..., dict[str, Any]], Clock]:
    """The stack's idempotent calls, for a session of erasure epoch 0 that stays valid."""
    clock = Clock()
    inner = IdempotentCalls(
        IdempotencyTable(dep.table, AwsClients().dynamodb()), sleep=clock.sleep, clock=clock
    )
    return functools.partial(inner, epoch=0, still_valid=lambda: None), clock


def records(dep: Deployment, owner: str) -> list[dict[str, Any]]:
    items = clients(dep.endpoint)["dynamodb"].scan(TableName=dep.table)["Items"]
    return [i for i in items if i["pk"]["S"] == f"IDEMPOTENCY#{owner}"]


def test_the_same_key_and_body_run_once_another_body_is_a_409(deployment: Deployment) -> None:
    idem, _ = calls(deployment)
    runs: list[int] = []

    def work() -> dict[str, Any]:
        runs.append(1)
        return {"verify_id": f"v{len(runs)}"}

    first = idem(owner="o1", key="k", body_mac="b1", work=work)
    assert idem(owner="o1", key="k", body_mac="b1", work=work) == first == {"verify_id": "v1"}
    assert len(runs) == 1
    with pytest.raises(DomainError) as conflict:
        idem(owner="o1", key="k", body_mac="b2", work=work)
    mapped = from_domain(conflict.value)
    assert (mapped.status, mapped.code) == (409, "idempotency_conflict")
    assert idem(owner="o2", key="k", body_mac="b1", work=work) == {"verify_id": "v2"}  # per user
    items = clients(deployment.endpoint)["dynamodb"].scan(TableName=deployment.table)["Items"]
    assert {i["pk"]["S"] for i in items} == {"IDEMPOTENCY#o1", "IDEMPOTENCY#o2"}  # each owner's own
    assert all("b1" not in i.get("validation", {}).get("S", "") for i in items)


def test_a_failed_call_is_not_remembered(deployment: Deployment) -> None:
    idem, _ = calls(deployment)
    attempts: list[int] = []

    def flaky() -> dict[str, Any]:
        attempts.append(1)
        if len(attempts) == 1:
            raise RateLimited(retry_after=1)
        return {"ok": True}

    with pytest.raises(RateLimited):
        idem(owner="o", key="k", body_mac="b", work=flaky)
    assert idem(owner="o", key="k", body_mac="b", work=flaky) == {"ok": True}
    assert len(attempts) == 2


def test_a_double_tap_waits_for_the_first_then_gives_up_with_409(deployment: Deployment) -> None:
    idem, clock = calls(deployment)
    inner: list[BaseException] = []

    def work() -> dict[str, Any]:
        try:  # the same action arrives again while this one is still running
            idem(owner="o", key="k", body_mac="b", work=lambda: {"never": True})
        except DomainError as err:
            inner.append(err)
        return {"verify_id": "v"}

    assert idem(owner="o", key="k", body_mac="b", work=work) == {"verify_id": "v"}
    (err,) = inner
    assert isinstance(err, DomainError)
    mapped = from_domain(err)
    assert (mapped.status, mapped.code) == (409, "idempotency_in_progress")
    assert clock.now >= 3.0  # it waited for the first before giving up


def test_a_session_of_a_later_erasure_epoch_never_meets_an_earlier_record(deployment: Deployment) -> None:
    """The same Idempotency-Key after an erasure and a new login (the shipped client retries
    with the same key after a 401): a record of its own, never the erased session's answer."""
    idem, _ = calls(deployment)
    assert idem(owner="o-ep", key="k", body_mac="b", work=lambda: {"verify_id": "old"}) == {
        "verify_id": "old"
    }
    newer = functools.partial(idem, epoch=1)
    assert newer(owner="o-ep", key="k", body_mac="b", work=lambda: {"verify_id": "new"}) == {
        "verify_id": "new"
    }
    assert newer(owner="o-ep", key="k", body_mac="b", work=lambda: {"verify_id": "never"}) == {
        "verify_id": "new"
    }
    assert len(records(deployment, "o-ep")) == 2


def test_a_replay_checks_the_session_first(deployment: Deployment) -> None:
    idem, _ = calls(deployment)
    idem(owner="o-replay", key="k", body_mac="b", work=lambda: {"verify_id": "v"})

    def ended() -> None:
        raise SessionEnded

    with pytest.raises(SessionEnded):
        idem(owner="o-replay", key="k", body_mac="b", work=lambda: {"never": True}, still_valid=ended)


def test_a_record_erased_while_its_request_ran_is_neither_re_created_nor_answered(
    deployment: Deployment,
) -> None:
    """Powertools completes a record with an unconditional UpdateItem, which would re-create one
    an erasure deleted meanwhile; here the completion needs the writer's own token."""
    inner = IdempotentCalls(IdempotencyTable(deployment.table, AwsClients().dynamodb()))

    def raced() -> dict[str, Any]:
        inner.erase("o-raced")  # the erasure runs while the request is in WeChat
        return {"verify_id": "erased-users-key"}

    with pytest.raises(SessionEnded):
        inner(owner="o-raced", key="k", epoch=0, body_mac="b", work=raced, still_valid=lambda: None)
    assert records(deployment, "o-raced") == []


def test_a_failed_request_deletes_only_its_own_record(deployment: Deployment) -> None:
    """A request whose record was erased and written again by another request (the same key and
    epoch) fails: it must not delete the other's record."""
    idem, _ = calls(deployment)

    def fails_after_another_took_over() -> dict[str, Any]:
        inner_calls = IdempotentCalls(IdempotencyTable(deployment.table, AwsClients().dynamodb()))
        inner_calls.erase("o-two")
        assert inner_calls(
            owner="o-two", key="k", epoch=0, body_mac="b", work=lambda: {"verify_id": "second"},
            still_valid=lambda: None,
        ) == {"verify_id": "second"}  # fmt: skip
        raise RateLimited(retry_after=1)

    with pytest.raises(RateLimited):
        idem(owner="o-two", key="k", body_mac="b", work=fails_after_another_took_over)
    assert idem(owner="o-two", key="k", body_mac="b", work=lambda: {"never": True}) == {"verify_id": "second"}
