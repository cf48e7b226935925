"""The libraries' floor of a first request: what the baseline does (one SecureString, the route's
WeChat call, ``writes`` UpdateItems), made from inside the libraries this project uses for the
job and none of its own code: a route found by the event's routeKey, a msgspec body and answer,
Logger's request context and Metrics' flush around it. The job on stdin as
baseline_first_request.py takes it; ``floor_first_request.py LAYER_DIR LAYER_DIR``; prints
``{"s": seconds, "status": ...}``. What an API function takes over this is its own code."""

import json
import os
import sys
import time

started = time.perf_counter()
sys.path[:0] = [entry for arg in sys.argv[1:3] for entry in arg.split(os.pathsep)]
from typing import Annotated, Any

import boto3
import httpx
import msgspec
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger(service="floor")
metrics = Metrics(namespace="BenchFloor", service="floor")
job = json.loads(sys.stdin.read())


class Ask(msgspec.Struct, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    number: Annotated[str, msgspec.Meta(pattern=r"^[0-9]{17}[0-9X]$")]


class Answer(msgspec.Struct):
    key: str
    expires_in: int


def route(ask: Ask) -> Answer:
    ssm = boto3.client("ssm")
    dynamodb = boto3.client("dynamodb")
    ssm.get_parameter(Name=job["param"], WithDecryption=True)
    answer = httpx.request(job["method"], job["url"], params=job.get("params"), json=job.get("json"))
    if answer.json().get("errcode", 0) != 0:
        sys.exit(answer.text)
    for _ in range(job.get("writes", 1) if job.get("table") else 0):
        dynamodb.update_item(
            TableName=job["table"],
            Key={"pk": {"S": f"BENCH#{time.time()}"}, "sk": {"S": "X"}},
            UpdateExpression="SET n = :n",
            ExpressionAttributeValues={":n": {"N": "1"}},
        )
    metrics.add_metric(name="Floor", unit="Count", value=1)
    logger.info("floor answered")
    return Answer(key="k", expires_in=300)


@logger.inject_lambda_context(log_event=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    assert event["routeKey"] == "POST /floor"
    ask = msgspec.convert(json.loads(event["body"]), type=Ask, strict=True)
    body = msgspec.json.encode(route(ask)).decode()
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": body}


class Context:
    function_name = "bench"
    memory_limit_in_mb = 512
    aws_request_id = "r1"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench"

    def get_remaining_time_in_millis(self) -> int:
        return 15000


event = {
    "version": "2.0",
    "routeKey": "POST /floor",
    "rawPath": "/floor",
    "rawQueryString": "",
    "headers": {"content-type": "application/json"},
    "requestContext": {
        "http": {"method": "POST", "path": "/floor", "sourceIp": "203.0.113.10"},
        "requestId": "r1",
        "routeKey": "POST /floor",
        "stage": "$default",
    },
    "isBase64Encoded": False,
    "body": json.dumps({"name": "floor", "number": "11010519491231002X"}),
}
status = handler(event, Context()).get("statusCode")
print(json.dumps({"s": time.perf_counter() - started, "status": status}))
