"""The product's one DynamoDB table (on-demand, TTL on ``ttl``).

Items (``pk`` / ``sk``); no name, ID number or openid is stored in clear:

- ``KEY#<sha256 of user_id_key or verify_id>`` / ``KEY``: what a lookup needs to bind a result
  (``owner``: HMAC of the openid; 1.0: HMACs of WeChat's MD5s; 2.0: ``out_seq_no``, ``cert_hash``).
- ``RESULT#<sha256 of verify_result or verify_id>`` / ``RESULT``: a final result, no identity.
- ``USER#<owner>`` / ``KEY#…`` and ``RESULT#…``: the user's index, for ``latest`` and erasure.
- ``RATE#<limit>#<owner>#<window>`` / ``RATE``: rate-limit counters.
- ``LOCK#<name>`` / ``LOCK``: short leases (the coordinated token refresh).
"""

from __future__ import annotations

import contextlib
import json
from typing import TYPE_CHECKING, Any

from . import aws

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef


def _s(value: str) -> AttributeValueTypeDef:
    return {"S": value}


def _n(value: int | float) -> AttributeValueTypeDef:
    return {"N": str(int(value))}


def _item_to_dict(item: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in item.items():
        if "S" in value:
            out[key] = value["S"]
        elif "N" in value:
            out[key] = int(value["N"])
        elif "BOOL" in value:
            out[key] = value["BOOL"]
    return out


class Table:
    def __init__(self, name: str, client: DynamoDBClient | None = None) -> None:
        self.name = name
        self._client = client

    @property
    def client(self) -> DynamoDBClient:
        if self._client is None:
            self._client = aws.dynamodb()
        return self._client

    # --- keys -------------------------------------------------------------------------------

    def put_key(self, ref: str, owner: str, fields: dict[str, str | int], issued_ms: int, ttl: int) -> None:
        item: dict[str, AttributeValueTypeDef] = {
            "pk": _s(f"KEY#{ref}"),
            "sk": _s("KEY"),
            "owner": _s(owner),
            "ttl": _n(ttl),
        }
        for key, value in fields.items():
            item[key] = _n(value) if isinstance(value, int) else _s(value)
        index: dict[str, AttributeValueTypeDef] = {
            "pk": _s(f"USER#{owner}"),
            "sk": _s(f"KEY#{issued_ms:015d}#{ref}"),
            "target": _s(f"KEY#{ref}"),
            "ttl": _n(ttl),
        }
        self.client.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": self.name, "Item": item}},
                {"Put": {"TableName": self.name, "Item": index}},
            ]
        )

    def get_key(self, ref: str) -> dict[str, Any] | None:
        resp = self.client.get_item(
            TableName=self.name, Key={"pk": _s(f"KEY#{ref}"), "sk": _s("KEY")}, ConsistentRead=True
        )
        return _item_to_dict(resp["Item"]) if "Item" in resp else None

    # --- results ----------------------------------------------------------------------------

    def get_result(self, ref: str) -> dict[str, Any] | None:
        resp = self.client.get_item(
            TableName=self.name, Key={"pk": _s(f"RESULT#{ref}"), "sk": _s("RESULT")}, ConsistentRead=True
        )
        if "Item" not in resp:
            return None
        item = _item_to_dict(resp["Item"])
        item["data"] = json.loads(item["data"])
        return item

    def put_result(self, ref: str, owner: str, data: dict[str, Any], verified_at: int, ttl: int) -> bool:
        """Store a final result once. False if one is already stored under ``ref``."""
        body = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
        result: dict[str, AttributeValueTypeDef] = {
            "pk": _s(f"RESULT#{ref}"),
            "sk": _s("RESULT"),
            "owner": _s(owner),
            "data": _s(body),
            "ttl": _n(ttl),
        }
        index: dict[str, AttributeValueTypeDef] = {
            "pk": _s(f"USER#{owner}"),
            "sk": _s(f"RESULT#{verified_at:012d}#{ref}"),
            "target": _s(f"RESULT#{ref}"),
            "data": _s(body),
            "ttl": _n(ttl),
        }
        client = self.client
        try:
            client.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self.name,
                            "Item": result,
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                    {"Put": {"TableName": self.name, "Item": index}},
                ]
            )
        except client.exceptions.TransactionCanceledException:
            return False
        return True

    def latest_result(self, owner: str, now: int) -> dict[str, Any] | None:
        """The newest unexpired result in the user's index (TTL deletes late, so filter)."""
        paginator = self.client.get_paginator("query")
        for page in paginator.paginate(
            TableName=self.name,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            FilterExpression="#ttl > :now",
            ExpressionAttributeNames={"#ttl": "ttl"},
            ExpressionAttributeValues={":pk": _s(f"USER#{owner}"), ":prefix": _s("RESULT#"), ":now": _n(now)},
            ScanIndexForward=False,
            ConsistentRead=True,
            PaginationConfig={"PageSize": 25},
        ):
            for item in page.get("Items", []):
                found = _item_to_dict(item)
                data: dict[str, Any] = json.loads(found["data"])
                return data
        return None

    # --- erasure ----------------------------------------------------------------------------

    def erase_user(self, owner: str) -> int:
        """Delete every key record and result of ``owner``, and the user's index. Idempotent."""
        keys: list[dict[str, AttributeValueTypeDef]] = []
        paginator = self.client.get_paginator("query")
        for page in paginator.paginate(
            TableName=self.name,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": _s(f"USER#{owner}")},
            ProjectionExpression="pk, sk, target",
            ConsistentRead=True,
        ):
            for item in page.get("Items", []):
                keys.append({"pk": item["pk"], "sk": item["sk"]})
                target = item["target"]["S"]
                keys.append({"pk": _s(target), "sk": _s(target.split("#", 1)[0])})
        for start in range(0, len(keys), 25):
            pending: Any = {self.name: [{"DeleteRequest": {"Key": k}} for k in keys[start : start + 25]]}
            while pending:
                resp = self.client.batch_write_item(RequestItems=pending)
                pending = resp.get("UnprocessedItems") or None
        return len(keys) // 2

    # --- rate limits ------------------------------------------------------------------------

    def take(self, counter: str, limit: int, ttl: int) -> bool:
        """Count one against ``counter`` unless it already reached ``limit``."""
        client = self.client
        try:
            client.update_item(
                TableName=self.name,
                Key={"pk": _s(f"RATE#{counter}"), "sk": _s("RATE")},
                UpdateExpression="ADD #n :one SET #ttl = :ttl",
                ConditionExpression="attribute_not_exists(#n) OR #n < :limit",
                ExpressionAttributeNames={"#n": "n", "#ttl": "ttl"},
                ExpressionAttributeValues={":one": _n(1), ":limit": _n(limit), ":ttl": _n(ttl)},
            )
        except client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def give_back(self, counter: str) -> None:
        """Undo one :meth:`take` (the request it counted did not go through)."""
        client = self.client
        with contextlib.suppress(client.exceptions.ConditionalCheckFailedException):
            client.update_item(
                TableName=self.name,
                Key={"pk": _s(f"RATE#{counter}"), "sk": _s("RATE")},
                UpdateExpression="ADD #n :minus",
                ConditionExpression="attribute_exists(#n) AND #n > :zero",
                ExpressionAttributeNames={"#n": "n"},
                ExpressionAttributeValues={":minus": _n(-1), ":zero": _n(0)},
            )

    # --- leases -----------------------------------------------------------------------------

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
