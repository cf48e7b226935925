"""Idempotent calls on the local AWS endpoint: replay, conflicts, a double tap, failures."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.aws import Deployment, clients
from wxface.api.errors import from_domain
from wxface.dal import aws
from wxface.domain.errors import DomainError, RateLimited
from wxface.domain.idempotency import IdempotentCalls


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def calls(dep: Deployment) -> tuple[IdempotentCalls, Clock]:
    clock = Clock()
    return IdempotentCalls.on_table(dep.table, aws.dynamodb(), sleep=clock.sleep, clock=clock), clock


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
