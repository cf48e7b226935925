"""The WeChat quota guard against the local AWS endpoint: blocks per container, the refusal,
WeChat's day."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.aws import Deployment
from wxface.api.errors import from_domain
from wxface.dal.table import Table
from wxface.domain.errors import DomainError
from wxface.domain.limits import QuotaGuard, QuotaPolicy

KEYS = "/cityservice/face/identify/getverifyid"
LOOKUPS = "/cityservice/face/identify/queryverifyinfo"
NOON_BEIJING = 1_795_838_400.0  # 2026-11-28 12:00 +08:00


def counted(table: Table, endpoint: str, day: str) -> int:
    item = table.client.get_item(TableName=table.name, Key={"pk": {"S": f"RATE#quota#{endpoint}#{day}"},
                                                            "sk": {"S": "RATE"}}).get("Item")  # fmt: skip
    return int(item["n"]["N"]) if item else 0


def guard(table: Table, quotas: dict[str, int], clock: list[float], reports: list[Any]) -> QuotaGuard:
    """The daily quota alone (the hourly budget has its own tests in tests/domain)."""
    policy = QuotaPolicy(quotas, hourly_share=0)
    return QuotaGuard(table, policy, report=lambda *a: reports.append(a), clock=lambda: clock[0])


def test_large_quotas_are_reserved_in_blocks_per_container(deployment: Deployment) -> None:
    table = Table(deployment.table)
    clock = [NOON_BEIJING]
    reports: list[Any] = []
    one, two = guard(table, {KEYS: 100_000}, clock, reports), guard(table, {KEYS: 100_000}, clock, reports)
    for _ in range(50):
        one.admit(KEYS)
    assert counted(table, KEYS, "20261128") == 50  # one write for fifty calls
    two.admit(KEYS)
    one.admit(KEYS)
    assert counted(table, KEYS, "20261128") == 150
    assert [r[1] for r in reports] == [0.05, 0.1, 0.15]
    clock[0] += 12 * 3600  # past Beijing midnight: a new day, a new count
    one.admit(KEYS)
    assert counted(table, KEYS, "20261129") == 50


def test_new_keys_are_refused_past_95_percent_lookups_never(deployment: Deployment) -> None:
    table = Table(deployment.table)
    clock = [NOON_BEIJING]
    reports: list[Any] = []
    g = guard(table, {KEYS: 20, LOOKUPS: 20}, clock, reports)
    for _ in range(19):
        g.admit(KEYS)
    with pytest.raises(DomainError) as refused:
        g.admit(KEYS)
    mapped = from_domain(refused.value)
    assert (mapped.status, mapped.code) == (429, "wechat_quota_guard")
    assert mapped.headers["Retry-After"] == str(12 * 3600)  # until Beijing midnight
    assert counted(table, KEYS, "20261128") == 19  # the refused call is not counted
    alarms = [r for r in reports if r[2]]
    assert alarms[0][:2] == (KEYS, 80.0)  # the 16th call raised the alarm metric
    for _ in range(25):
        g.admit(LOOKUPS)  # past the quota even: counted, reported, never refused by the day
    assert counted(table, LOOKUPS, "20261128") == 25
