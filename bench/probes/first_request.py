"""A fresh container's first request: ``first_request.py CODE_DIR LAYER_DIR MODULE``, the event
on stdin. Prints ``{"s": seconds from the first import to the answer, "status": ...}``."""

import json
import os
import sys
import time

started = time.perf_counter()
sys.path[:0] = [entry for arg in sys.argv[1:3] for entry in arg.split(os.pathsep)]
handler = __import__(sys.argv[3]).lambda_handler


class Context:
    function_name = "bench"
    memory_limit_in_mb = 512
    aws_request_id = "r1"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench"

    def get_remaining_time_in_millis(self) -> int:
        return 15000


answer = handler(json.loads(sys.stdin.read()), Context())
print(json.dumps({"s": time.perf_counter() - started, "status": answer.get("statusCode")}))
