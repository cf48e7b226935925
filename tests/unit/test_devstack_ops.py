"""``python -m devstack.ops events`` reads the business's queue to the end: a receive may come back
empty while messages remain (the soak once lost events to an early stop), so it reads until the
queue reports none left."""

from __future__ import annotations

import json

import boto3

from devstack.ops import events


def test_every_event_on_the_queue_is_read_once(moto_endpoint: str) -> None:
    sqs = boto3.client(
        "sqs",
        endpoint_url=moto_endpoint,
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
    )
    url = sqs.create_queue(QueueName="ops-probe-business-events")["QueueUrl"]
    for n in range(35):
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"detail-type": "Probe", "detail": {"n": n}}))
    read = events(moto_endpoint, "ops-probe", wait_s=1.0)
    assert sorted(e["detail"]["n"] for e in read) == list(range(35))
    assert events(moto_endpoint, "ops-probe", wait_s=0.2) == []  # taken off the queue: each once
