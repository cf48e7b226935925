"""DynamoDB's batch calls to the end (dal/batches.py): what DynamoDB leaves unprocessed is sent
again, after a growing pause, until every entry is done; batches of 25 writes and 100 gets.
botocore's own Stubber answers for DynamoDB."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from wxface.dal import batches


def key(n: int) -> dict[str, Any]:
    return {"pk": {"S": f"K#{n}"}, "sk": {"S": "K"}}


@pytest.fixture
def pauses(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    slept: list[float] = []
    monkeypatch.setattr("wxface.dal.batches.time.sleep", slept.append)
    return slept


def client() -> Any:
    return boto3.client("dynamodb", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")


def test_writes_go_by_25_and_what_was_left_unprocessed_goes_again(pauses: list[float]) -> None:
    c = client()
    deletes = [{"DeleteRequest": {"Key": key(n)}} for n in range(30)]
    with Stubber(c) as stub:
        stub.add_response(
            "batch_write_item",
            {"UnprocessedItems": {"T": deletes[3:5]}},
            {"RequestItems": {"T": deletes[:25]}},
        )
        stub.add_response(
            "batch_write_item",
            {"UnprocessedItems": {"T": deletes[4:5]}},
            {"RequestItems": {"T": deletes[3:5]}},
        )
        stub.add_response("batch_write_item", {}, {"RequestItems": {"T": deletes[4:5]}})
        stub.add_response("batch_write_item", {}, {"RequestItems": {"T": deletes[25:]}})
        batches.batch_write(c, "T", deletes)
        stub.assert_no_pending_responses()
    assert pauses == [0.05, 0.1]


def test_gets_go_by_100_consistently_and_unprocessed_keys_are_asked_again(pauses: list[float]) -> None:
    c = client()
    keys = [key(n) for n in range(101)]
    item = {**key(1), "n": {"N": "3"}}
    with Stubber(c) as stub:
        first = {"Keys": keys[:100], "ConsistentRead": True, "ProjectionExpression": "pk, n"}
        again = {"Keys": keys[1:2], "ConsistentRead": True, "ProjectionExpression": "pk, n"}
        stub.add_response("batch_get_item", {"Responses": {"T": []}, "UnprocessedKeys": {"T": again}},
                          {"RequestItems": {"T": first}})  # fmt: skip
        stub.add_response("batch_get_item", {"Responses": {"T": [item]}}, {"RequestItems": {"T": again}})
        last = {"Keys": keys[100:], "ConsistentRead": True, "ProjectionExpression": "pk, n"}
        stub.add_response("batch_get_item", {"Responses": {"T": []}}, {"RequestItems": {"T": last}})
        assert batches.batch_get(c, "T", keys, projection="pk, n") == [item]
        stub.assert_no_pending_responses()
    assert pauses == [0.05]
