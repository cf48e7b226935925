"""A few operations on a running local stack (`make run`), with the product's own virtualenv and
nothing else installed (no AWS CLI): what the walkthrough's lines call.

    .venv/bin/python -m devstack.ops events            # the business's queue: each event, once
    .venv/bin/python -m devstack.ops run event-emitter # a scheduled function, now
    .venv/bin/python -m devstack.ops scan              # the table's items by kind (no values)

Every call is signed with the local operator's documented credentials and goes to the local AWS
endpoint (``--aws``, default ``http://127.0.0.1:3002``) only: nothing is read from, or left in,
the shell's environment.
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
import time
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from .iam import OPERATOR_ACCESS_KEY_ID, OPERATOR_SECRET_ACCESS_KEY
from .template import REGION

DEFAULT_AWS = "http://127.0.0.1:3002"
DEFAULT_STACK = "wechat-face-local"


def client(service: str, aws: str) -> Any:
    return boto3.client(
        service,  # type: ignore[call-overload]
        endpoint_url=aws,
        region_name=REGION,
        aws_access_key_id=OPERATOR_ACCESS_KEY_ID,
        aws_secret_access_key=OPERATOR_SECRET_ACCESS_KEY,
        config=Config(retries={"max_attempts": 2, "mode": "standard"}),
    )


def events(aws: str, stack: str, wait_s: float) -> list[dict[str, Any]]:
    """The events the business's queue holds (taken off it: each is shown once), waiting up to
    ``wait_s`` for the first. A receive may come back empty while messages remain, so the queue
    is read until it reports none left (or a bound passes)."""
    sqs = client("sqs", aws)
    url = sqs.get_queue_url(QueueName=f"{stack}-business-events")["QueueUrl"]
    found: list[dict[str, Any]] = []
    first_by = time.monotonic() + wait_s
    give_up = first_by + 30.0
    while True:
        resp = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
        messages = resp.get("Messages", [])
        for message in messages:
            found.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        if messages:
            continue
        now = time.monotonic()
        if now > give_up or (not found and now > first_by):
            return found
        if found and _left(sqs, url) == 0:
            return found
        time.sleep(0.2)


def _left(sqs: Any, url: str) -> int:
    attributes = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return sum(int(v) for v in attributes.values())


def run(aws: str, stack: str, function: str) -> Any:
    """A function of the stack invoked now (as its schedule would), and what it answered."""
    answer = client("lambda", aws).invoke(FunctionName=f"{stack}-{function}", Payload=b"{}")
    body = json.loads(answer["Payload"].read() or b"null")
    if answer.get("FunctionError"):
        raise SystemExit(f"{function} failed: {json.dumps(body)}")
    return body


def items(aws: str, stack: str) -> list[dict[str, str | int]]:
    """Every item of the stack's table, its string and number attributes as plain values."""
    dynamodb = client("dynamodb", aws)
    name = f"{stack}-Table"  # the template's table, as the local stack names it
    out: list[dict[str, str | int]] = []
    for page in dynamodb.get_paginator("scan").paginate(TableName=name):
        for item in page.get("Items", []):
            plain: dict[str, str | int] = {}
            for key, value in item.items():
                if "S" in value:
                    plain[key] = value["S"]
                elif "N" in value:
                    plain[key] = int(float(value["N"]))
            out.append(plain)
    return out


def scan(aws: str, stack: str) -> dict[str, int]:
    """The table's items counted by kind (the part of ``pk`` before ``#``): what is stored, no
    value of it."""
    counts = collections.Counter(str(item["pk"]).split("#", 1)[0] for item in items(aws, stack))
    return dict(sorted(counts.items()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack.ops", description=__doc__.split("\n\n")[0])
    parser.add_argument("--aws", default=DEFAULT_AWS, help=f"the local AWS endpoint (default {DEFAULT_AWS})")
    parser.add_argument(
        "--stack", default=DEFAULT_STACK, help=f"the local stack's name (default {DEFAULT_STACK})"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    listen = commands.add_parser("events", help="the events on the business's queue, each shown once")
    listen.add_argument("--wait", type=float, default=2.0, help="seconds to wait for the first (default 2)")
    invoke = commands.add_parser(
        "run", help="run a scheduled function now (event-emitter, result-sweeper, ...)"
    )
    invoke.add_argument("function")
    commands.add_parser("scan", help="the table's items, counted by kind")
    args = parser.parse_args(argv)
    try:
        if args.command == "events":
            found = events(args.aws, args.stack, args.wait)
            for event in found:
                print(json.dumps(event, ensure_ascii=False))
            if not found:
                print("no events on the queue")
        elif args.command == "run":
            print(json.dumps(run(args.aws, args.stack, args.function), ensure_ascii=False))
        else:
            print(json.dumps(scan(args.aws, args.stack)))
    except (BotoCoreError, ClientError) as err:  # a command line: say what failed, in one line
        print(f"devstack.ops: {type(err).__name__}: {err} (is make run running?)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
