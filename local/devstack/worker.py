"""One warm Lambda container: imports the handler once, then serves invocations.

Started by the function pool as ``python worker.py <code_dir> <layer_dir>... -- <module.func>``
with the function's environment. Requests arrive as JSON lines on stdin; answers leave as JSON
lines on the file descriptor in ``DEVSTACK_RESPONSE_FD``. stdout and stderr are the function's
log, as in Lambda.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
import traceback
from typing import Any


class LambdaContext:
    def __init__(self, request_id: str, deadline: float) -> None:
        self.aws_request_id = request_id
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "local")
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = int(os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"))
        region = os.environ.get("AWS_REGION", "us-east-1")
        self.invoked_function_arn = f"arn:aws:lambda:{region}:123456789012:function:{self.function_name}"
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self.log_stream_name = "local"
        self._deadline = deadline

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.time()) * 1000))


def main() -> int:
    args = sys.argv[1:]
    split = args.index("--")
    paths, handler_spec = args[:split], args[split + 1]
    # As in Lambda: the function's code first, then the layer; not this runner's folder.
    sys.path[:] = [*paths, *[p for p in sys.path[1:] if p not in paths]]
    out = os.fdopen(int(os.environ["DEVSTACK_RESPONSE_FD"]), "w", buffering=1, encoding="utf-8")
    module_name, func_name = handler_spec.rsplit(".", 1)
    try:
        handler = getattr(importlib.import_module(module_name), func_name)
    except Exception as exc:  # an Init error: report it on every invocation
        init_error = {"errorType": type(exc).__name__, "errorMessage": "Init failed"}
        traceback.print_exc()
        handler = None
    for line in sys.stdin:
        request: dict[str, Any] = json.loads(line)
        answer: dict[str, Any] = {"id": request["id"]}
        if handler is None:
            answer["error"] = init_error
        else:
            context = LambdaContext(request["request_id"], request["deadline"])
            started, cpu = time.perf_counter(), time.process_time()
            try:
                answer["result"] = handler(request["event"], context)
            except Exception as exc:
                traceback.print_exc()
                answer["error"] = {"errorType": type(exc).__name__, "errorMessage": "Unhandled"}
            answer["seconds"] = time.perf_counter() - started
            answer["cpu_seconds"] = time.process_time() - cpu  # every thread of the handler's
        sys.stdout.flush()
        sys.stderr.flush()
        out.write(json.dumps(answer, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
