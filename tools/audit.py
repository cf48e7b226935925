"""Who verified when, with what outcome: the audit trail of one user, for an operator.

    .venv/bin/python tools/audit.py --stack <stack name> --table <table name> --openid <openid>

The openid comes from the operator's own records; the table holds only its HMAC, computed here
with the stack's data key from SSM (``/<stack>/data-hmac-key``; reading it needs
``ssm:GetParameter`` on it and ``kms:Decrypt``). Prints one JSON object per record, oldest
first: ``at`` (ISO 8601, UTC), ``route``, ``outcome``, ``result_code``. AWS credentials, region
and ``AWS_ENDPOINT_URL`` come from the environment as for any boto3 program.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "layers" / "wechat"))

import boto3

from wxface.domain.stack_keys import DataKey


def records(table: str, owner: str, dynamodb: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for page in dynamodb.get_paginator("query").paginate(
        TableName=table,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"AUDIT#{owner}"}},
        ConsistentRead=True,
    ):
        for item in page["Items"]:
            found.append(
                {
                    "at": dt.datetime.fromtimestamp(int(item["at"]["N"]), dt.UTC).isoformat(),
                    "route": item["route"]["S"],
                    "outcome": item["outcome"]["S"],
                    "result_code": int(item["result_code"]["N"]) if "result_code" in item else None,
                }
            )
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--stack", required=True, help="the stack name (its SSM path is /<stack>)")
    parser.add_argument("--table", required=True, help="the stack's table (the TableName output)")
    parser.add_argument("--openid", required=True)
    args = parser.parse_args(argv)
    raw = boto3.client("ssm").get_parameter(Name=f"/{args.stack}/data-hmac-key", WithDecryption=True)
    owner = DataKey(base64.b64decode(raw["Parameter"]["Value"])).owner(args.openid)
    for record in records(args.table, owner, boto3.client("dynamodb")):
        print(json.dumps(record, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
