"""How the records are written as DynamoDB items and read back: boto3's ``TypeSerializer`` and
``TypeDeserializer``, one function each way per kind of item, so no caller indexes an item by
string and nothing above ``dal`` sees DynamoDB's encoding."""

from __future__ import annotations

import secrets
from decimal import Decimal
from functools import cache
from typing import TYPE_CHECKING, Any

from ..ports.records import (
    AuditEntry,
    KeyRecord,
    OrderRecord,
    OutboxEntry,
    PendingCheck,
    StoredResult,
)

if TYPE_CHECKING:
    from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

Item = dict[str, "AttributeValueTypeDef"]


@cache
def _codec() -> tuple[TypeSerializer, TypeDeserializer]:
    # Imported on first use: boto3.dynamodb.types imports boto3 itself, which a function whose
    # first request does not need it should not pay for at init (docs/benchmarks.md, init).
    from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

    return TypeSerializer(), TypeDeserializer()


def to_item(values: dict[str, str | int | bool | None]) -> Item:
    """A DynamoDB item from plain values (``None`` values are left out, as DynamoDB has no use
    for an empty attribute)."""
    serializer = _codec()[0]
    return {k: serializer.serialize(v) for k, v in values.items() if v is not None}


def values_of(item: dict[str, Any]) -> dict[str, Any]:
    """Plain values of a DynamoDB item; numbers become ``int`` (the table holds no fractions)."""
    deserializer = _codec()[1]
    out: dict[str, Any] = {}
    for key, value in item.items():
        plain = deserializer.deserialize(value)
        out[key] = int(plain) if isinstance(plain, Decimal) else plain
    return out


def audit_item(audit: AuditEntry) -> Item:
    return to_item(
        {
            "pk": f"AUDIT#{audit.owner}",
            "sk": f"{audit.at_ms:015d}#{audit.route}#{secrets.token_hex(3)}",
            "owner": audit.owner,
            "route": audit.route,
            "outcome": audit.outcome,
            "at": audit.at_ms // 1000,
            "ttl": audit.ttl,
            "result_code": audit.result_code,
            "order_id": audit.order_id,
        }
    )


def key_record(item: dict[str, Any]) -> KeyRecord:
    v = values_of(item)
    return KeyRecord(
        owner=v["owner"],
        api_version=2 if v.get("api_version") == 2 else 1,
        issued_at=v.get("issued_at", 0),
        expires_at=v.get("expires_at", 0),
        ttl=v["ttl"],
        id_mac=v.get("id_mac"),
        name_mac=v.get("name_mac"),
        out_seq_no=v.get("out_seq_no"),
        cert_hash=v.get("cert_hash"),
        biz_ref=v.get("biz_ref"),
        order_id=v.get("order_id"),
        photo_ticket=v.get("photo_ticket"),
    )


def key_item(record: KeyRecord, ref: str) -> Item:
    return to_item(
        {
            "pk": f"KEY#{ref}",
            "sk": "KEY",
            "owner": record.owner,
            "api_version": record.api_version,
            "issued_at": record.issued_at,
            "expires_at": record.expires_at,
            "ttl": record.ttl,
            "id_mac": record.id_mac,
            "name_mac": record.name_mac,
            "out_seq_no": record.out_seq_no,
            "cert_hash": record.cert_hash,
            "biz_ref": record.biz_ref,
            "order_id": record.order_id,
            "photo_ticket": record.photo_ticket,
        }
    )


def order_record(item: dict[str, Any]) -> OrderRecord:
    v = values_of(item)
    status = v.get("status", "open")
    return OrderRecord(
        order_id=str(v["pk"]).removeprefix("ORDER#"),
        owner=v["owner"],
        openid_sealed=v["openid_sealed"],
        created_ms=v.get("created_ms", 0),
        expires_at=v.get("expires_at", 0),
        ttl=v["ttl"],
        status=status if status in ("open", "cancelled", "passed") else "open",
        attempts=v.get("attempts", 0),
        rev=v.get("rev", 0),
        biz_ref=v.get("biz_ref"),
        latest_ref=v.get("latest_ref"),
        passed_ref=v.get("passed_ref"),
        results_until=v.get("results_until", 0),
    )


def order_item(order: OrderRecord) -> Item:
    return to_item(
        {
            "pk": f"ORDER#{order.order_id}",
            "sk": "ORDER",
            "owner": order.owner,
            "openid_sealed": order.openid_sealed,
            "created_ms": order.created_ms,
            "expires_at": order.expires_at,
            "ttl": order.ttl,
            "status": order.status,
            "attempts": order.attempts,
            "rev": order.rev,
            "biz_ref": order.biz_ref,
            "latest_ref": order.latest_ref,
            "passed_ref": order.passed_ref,
            "results_until": order.results_until,
        }
    )


def outbox_entry(item: dict[str, Any]) -> OutboxEntry:
    v = values_of(item)
    return OutboxEntry(
        id=v["sk"],
        detail_type=v["detail_type"],
        sealed=v["sealed"],
        due=v.get("due", 0),
        attempts=v.get("attempts", 0),
        ttl=v["ttl"],
        shard=_shard_in(v["pk"]),
    )


def _shard_in(pk: str) -> int:
    """The partition in a queue item's ``pk`` (``OUTBOX#<n>``, ``PENDING#<n>``)."""
    return int(pk.rsplit("#", 1)[1])


def outbox_item(entry: OutboxEntry, shard: int) -> Item:
    return to_item(
        {
            "pk": f"OUTBOX#{shard}",
            "sk": entry.id,
            "detail_type": entry.detail_type,
            "sealed": entry.sealed,
            "due": entry.due,
            "attempts": entry.attempts,
            "ttl": entry.ttl,
        }
    )


def pending_check(item: dict[str, Any]) -> PendingCheck:
    v = values_of(item)
    return PendingCheck(
        ref=v["sk"],
        sealed=v["sealed"],
        check_at=v.get("check_at", 0),
        expires_at=v.get("expires_at", 0),
        ttl=v["ttl"],
        epoch=v.get("epoch", 0),
        shard=_shard_in(v["pk"]),
    )


def pending_item(check: PendingCheck, shard: int) -> Item:
    return to_item(
        {
            "pk": f"PENDING#{shard}",
            "sk": check.ref,
            "sealed": check.sealed,
            "check_at": check.check_at,
            "expires_at": check.expires_at,
            "ttl": check.ttl,
            "epoch": check.epoch,
        }
    )


def stored_result(item: dict[str, Any]) -> StoredResult:
    v = values_of(item)
    return StoredResult(owner=v["owner"], body=v["data"], ttl=v["ttl"], key_ref=v.get("key_ref"))


def result_item(result: StoredResult, ref: str) -> Item:
    return to_item(
        {
            "pk": f"RESULT#{ref}",
            "sk": "RESULT",
            "owner": result.owner,
            "data": result.body,
            "ttl": result.ttl,
            "key_ref": result.key_ref,
        }
    )
