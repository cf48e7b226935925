"""Shared counters (rate limits, the quota guard's blocks) and short leases."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from .batches import batch_get
from .items import values_of
from .table_base import TableBase, _n, _s

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef


class CounterItems(TableBase):
    """Shared counters (rate limits, the quota guard's blocks) and short leases."""

    def take(self, counter: str, limit: int, ttl: int) -> bool:
        """Count one against ``counter`` unless it already reached ``limit``."""
        return self.reserve(counter, 1, below=limit, ttl=ttl) is not None

    def reserve(self, counter: str, amount: int, *, below: int | None, ttl: int) -> int | None:
        """Add ``amount`` to ``counter`` and answer its new total; with ``below``, only while the
        total is still below it (None when refused)."""
        client = self.client
        condition = (
            {} if below is None else {"ConditionExpression": "attribute_not_exists(#n) OR #n < :below"}
        )
        values: dict[str, AttributeValueTypeDef] = {":add": _n(amount), ":ttl": _n(ttl)}
        if below is not None:
            values[":below"] = _n(below)
        try:
            resp = client.update_item(
                TableName=self.name,
                Key={"pk": _s(f"RATE#{counter}"), "sk": _s("RATE")},
                UpdateExpression="ADD #n :add SET #ttl = :ttl",
                ExpressionAttributeNames={"#n": "n", "#ttl": "ttl"},
                ExpressionAttributeValues=values,
                ReturnValues="UPDATED_NEW",
                **condition,  # type: ignore[arg-type]
            )
        except client.exceptions.ConditionalCheckFailedException:
            return None
        total: int = values_of(resp["Attributes"])["n"]
        return total

    def give_back(self, counter: str) -> None:
        """Undo one :meth:`take` (the request it counted did not go through)."""
        self._decrement(f"RATE#{counter}", "RATE", "n")

    def counters(self, counters: list[str]) -> list[int]:
        """The counts of ``counters`` (0 where none), in one consistent read."""
        wanted = [{"pk": _s(f"RATE#{c}"), "sk": _s("RATE")} for c in dict.fromkeys(counters)]
        found: dict[str, int] = {}
        for item in batch_get(self.client, self.name, wanted, projection="pk, n"):
            v = values_of(item)
            found[str(v["pk"]).removeprefix("RATE#")] = int(v.get("n", 0))
        return [found.get(c, 0) for c in counters]

    def acquire_lease(self, name: str, holder: str, now: float, lease_s: float) -> bool:
        client = self.client
        try:
            client.put_item(
                TableName=self.name,
                Item={
                    "pk": _s(f"LOCK#{name}"),
                    "sk": _s("LOCK"),
                    "holder": _s(holder),
                    "until": _n(now + lease_s),
                    "ttl": _n(now + 3600),
                },
                ConditionExpression="attribute_not_exists(pk) OR #until < :now",
                ExpressionAttributeNames={"#until": "until"},
                ExpressionAttributeValues={":now": _n(now)},
            )
        except client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def release_lease(self, name: str, holder: str) -> None:
        client = self.client
        # If the lease ran out and someone else holds it now, leave theirs alone.
        with contextlib.suppress(client.exceptions.ConditionalCheckFailedException):
            client.delete_item(
                TableName=self.name,
                Key={"pk": _s(f"LOCK#{name}"), "sk": _s("LOCK")},
                ConditionExpression="holder = :holder",
                ExpressionAttributeValues={":holder": _s(holder)},
            )
