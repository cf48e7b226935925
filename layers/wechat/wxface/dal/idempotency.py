"""The idempotency records in the stack's table: Powertools' DynamoDB persistence layer, each
record in its owner's partition (``IDEMPOTENCY#<owner>``), expiring through the table's TTL, and
completed or deleted only by the request that wrote it (:mod:`wxface.ports.idempotency`)."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

from ..ports.idempotency import WRITER_ATTR, RecordErased, current_owner, current_writer, partition
from .batches import batch_write

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency.persistence.base import BasePersistenceLayer
    from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord
    from mypy_boto3_dynamodb import DynamoDBClient


class IdempotencyTable:
    """:class:`wxface.ports.idempotency.IdempotencyStore` on the stack's table. Powertools'
    Idempotency is imported when the first record is written, not before (most requests carry no
    ``Idempotency-Key``)."""

    def __init__(self, table_name: str, client: DynamoDBClient) -> None:
        self.table_name = table_name
        self.client = client
        self._layer: BasePersistenceLayer | None = None

    def layer(self) -> BasePersistenceLayer:
        if self._layer is None:
            self._layer = _owner_partitioned(self.table_name, self.client)
        return self._layer

    def erase(self, owner: str) -> None:
        """Delete every record of ``owner``."""
        client, table_name = self.client, self.table_name
        keys: list[dict[str, Any]] = []
        for page in client.get_paginator("query").paginate(
            TableName=table_name,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": partition(owner)}},
            ProjectionExpression="pk, sk",
            ConsistentRead=True,
        ):
            keys.extend({"pk": item["pk"], "sk": item["sk"]} for item in page.get("Items", []))
        batch_write(client, table_name, [{"DeleteRequest": {"Key": k}} for k in keys])


def _owner_partitioned(table_name: str, client: DynamoDBClient) -> BasePersistenceLayer:
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

    class Stamped:
        """The DynamoDB client as the layer uses it: the in-progress record it puts carries the
        running request's writer token."""

        def __init__(self, inner: DynamoDBClient) -> None:
            self._inner = inner

        def put_item(self, **request: Any) -> Any:
            request["Item"] = {**request["Item"], WRITER_ATTR: {"S": current_writer()}}
            return self._inner.put_item(**request)

        def __getattr__(self, name: str) -> Any:
            return getattr(self._inner, name)

    class OwnerPartitioned(DynamoDBPersistenceLayer):
        # Powertools puts every record under one static partition; this layer puts each in its
        # owner's, and completes or deletes a record only under its writer token. The methods
        # overridden are private: tests/unit/test_private_apis.py fails on the upgrade that
        # changes them.
        def _get_key(self, idempotency_key: str) -> dict[str, Any]:
            return {"pk": {"S": partition(current_owner())}, "sk": {"S": idempotency_key}}

        def _update_record(self, data_record: DataRecord) -> None:
            values: dict[str, Any] = {
                ":response_data": {"S": data_record.response_data},
                ":expiry": {"N": str(data_record.expiry_timestamp)},
                ":status": {"S": data_record.status},
                ":writer": {"S": current_writer()},
            }
            names = {
                "#response_data": self.data_attr,
                "#expiry": self.expiry_attr,
                "#status": self.status_attr,
                "#writer": WRITER_ATTR,
            }
            update = "SET #response_data = :response_data, #expiry = :expiry, #status = :status"
            if self.payload_validation_enabled:
                update += ", #validation_key = :validation_key"
                values[":validation_key"] = {"S": data_record.payload_hash}
                names["#validation_key"] = self.validation_key_attr
            try:
                client.update_item(
                    TableName=self.table_name,
                    Key=self._get_key(data_record.idempotency_key),
                    UpdateExpression=update,
                    ConditionExpression="#writer = :writer",
                    ExpressionAttributeNames=names,
                    ExpressionAttributeValues=values,
                )
            except client.exceptions.ConditionalCheckFailedException:
                raise RecordErased from None

        def _delete_record(self, data_record: DataRecord) -> None:
            # Gone already (erased), or another request's: then nothing of ours to delete.
            with contextlib.suppress(client.exceptions.ConditionalCheckFailedException):
                client.delete_item(
                    TableName=self.table_name,
                    Key=self._get_key(data_record.idempotency_key),
                    ConditionExpression="#writer = :writer",
                    ExpressionAttributeNames={"#writer": WRITER_ATTR},
                    ExpressionAttributeValues={":writer": {"S": current_writer()}},
                )

    store = OwnerPartitioned(
        table_name=table_name,
        key_attr="pk",
        sort_key_attr="sk",
        expiry_attr="ttl",  # the table's TTL attribute: DynamoDB deletes expired records
        boto3_client=client,
    )
    store.client = Stamped(client)  # type: ignore[assignment]
    return store
