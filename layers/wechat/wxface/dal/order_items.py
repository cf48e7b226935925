"""The business's orders (their sealed identities and photo tickets) and the audit trail."""

from __future__ import annotations

from ..ports.records import (
    AuditEntry,
    OrderChange,
    OrderChanged,
    OrderPhoto,
    OrderRecord,
)
from . import items
from .batches import batch_get
from .items import values_of
from .table_base import TableBase, _n, _order_key, _s, cancellation_reasons


class OrderItems(TableBase):
    """The business's orders (their sealed identities and photo tickets) and the audit trail."""

    def put_order(
        self, record: OrderRecord, identity: str, audit: AuditEntry | None = None, *, epoch: int
    ) -> None:
        """A new order, its sealed identity (kept until the order expires) and the user's index
        entry, in one transaction under the user's erasure epoch (:class:`UserErased`)."""
        self._transact_for_user(
            record.owner,
            epoch,
            [
                {
                    "Put": {
                        "TableName": self.name,
                        "Item": items.order_item(record),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
                {"Put": {"TableName": self.name, "Item": self._order_identity(record, identity)}},
                {"Put": {"TableName": self.name, "Item": self._order_index(record)}},
                *self._audit(audit),
            ],
        )

    def get_order(self, order_id: str, *, identity: bool = False) -> tuple[OrderRecord | None, str | None]:
        """The order (None: unknown or erased) and, with ``identity``, its sealed identity (None
        once dropped; TTL deletes it late after the order's expiry, which readers check on the
        order), in one consistent read."""
        if not identity:
            one = self.client.get_item(TableName=self.name, Key=_order_key(order_id), ConsistentRead=True)
            return (items.order_record(one["Item"]) if "Item" in one else None), None
        order: OrderRecord | None = None
        sealed: str | None = None
        wanted = [_order_key(order_id), _order_key(order_id, "IDENTITY")]
        for item in batch_get(self.client, self.name, wanted):
            if item["sk"] == _s("ORDER"):
                order = items.order_record(item)
            else:
                sealed = str(values_of(item)["sealed"])
        return order, sealed

    def get_order_photo(self, order_id: str) -> OrderPhoto | None:
        resp = self.client.get_item(
            TableName=self.name, Key=_order_key(order_id, "PHOTO"), ConsistentRead=True
        )
        if "Item" not in resp:
            return None
        v = values_of(resp["Item"])
        return OrderPhoto(ticket=v["ticket"], ttl=v["ttl"])

    def change_order(self, change: OrderChange) -> None:
        """An order's change of state made by the business (a cancellation), on condition that
        it is still at the revision read (:class:`OrderChanged`; nothing written)."""
        client = self.client
        try:
            self._transact(self._order_change(change))
        except client.exceptions.TransactionCanceledException as err:
            if cancellation_reasons(err)[:1] == ["ConditionalCheckFailed"]:
                raise OrderChanged from None
            raise

    def count_photo(self, order_id: str, below: int) -> bool:
        """Count one photo fetch of the order unless it already reached ``below``."""
        client = self.client
        try:
            client.update_item(
                TableName=self.name,
                Key=_order_key(order_id),
                UpdateExpression="ADD #n :one",
                ConditionExpression="attribute_exists(pk) AND (attribute_not_exists(#n) OR #n < :below)",
                ExpressionAttributeNames={"#n": "photos"},
                ExpressionAttributeValues={":one": _n(1), ":below": _n(below)},
            )
        except client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def record_audit(self, audit: AuditEntry) -> None:
        """An audit record on its own (what changed nothing else, e.g. a photo fetched)."""
        self.client.put_item(TableName=self.name, Item=items.audit_item(audit))
