"""The baseline of a first request: a fresh process that imports boto3 and httpx, reads one
SecureString, makes the route's WeChat call and ``writes`` plain UpdateItems (the write every
API function's role allows; the session role has no PutItem). The job on stdin:
``{"param", "method", "url", "params"?, "json"?, "table"?, "writes"?}``.
``baseline_first_request.py LAYER_DIR LAYER_DIR``; prints ``{"s": seconds}``."""

import json
import os
import sys
import time

started = time.perf_counter()
sys.path[:0] = [entry for arg in sys.argv[1:3] for entry in arg.split(os.pathsep)]
import boto3
import httpx

job = json.loads(sys.stdin.read())
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
print(json.dumps({"s": time.perf_counter() - started}))
