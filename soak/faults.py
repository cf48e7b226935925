"""The soak's fault injector: each second, with the given chance, one fault drawn from a seeded
generator: WeChat (-1, HTTP 5xx, a delay past the client's budget, a quota errcode, every token
expired), AWS (throttling, internal errors, transaction conflicts, a failed or partly failed
PutEvents, a slow call), Lambda (an execution environment killed mid-request, a timeout), or an
operation (the signing key's scheduled rotation, WeChat's access token changing and the refresher
storing the new one, and once a run the runbook's emergency rotation). The seed fixes what is injected and when, not
how the processes interleave."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from typing import Any

from tests.support.stack import RunningStack

FACE = "/cityservice/face/identify"
WECHAT_PATHS = {
    1: [f"{FACE}/getuseridkey", f"{FACE}/getinfo", "/sns/jscode2session"],
    2: [f"{FACE}/getverifyid", f"{FACE}/queryverifyinfo", "/sns/jscode2session"],
}
API_FUNCTIONS = ["session", "face-keys", "face-results", "face-orders"]
STACK = "wechat-face-local"  # the local stack's name (start_stack's default)


class Injector:
    def __init__(self, stack: RunningStack, rng: random.Random, rate: float) -> None:
        self.stack = stack
        self.rng = rng
        self.rate = rate
        self.injected: Counter[str] = Counter()
        self._armed: set[tuple[str, str | None]] = set()
        self.emergency_done = False

    def run(self, stop: threading.Event, emergency_after_s: float | None = None) -> None:
        """Until ``stop``: each second, a fault with the run's chance; once, ``emergency_after_s``
        into the run, the emergency rotation (again at the next second while a fault fails it)."""
        started = time.monotonic()
        while not stop.wait(1.0):
            if (
                emergency_after_s is not None
                and not self.emergency_done
                and time.monotonic() - started >= emergency_after_s
            ):
                self._emergency()
            elif self.rng.random() < self.rate:
                self.inject()

    def inject(self) -> None:
        kind = self.rng.choice(["wechat", "wechat", "aws", "aws", "lambda", "operation"])
        try:
            getattr(self, f"_{kind}")()
        except AssertionError:
            self.injected["refused by a control route"] += 1

    def _wechat(self) -> None:
        path = self.rng.choice(WECHAT_PATHS[self.stack.version])
        choice = self.rng.choice(["busy", "http", "slow", "quota", "tokens"])
        spec: dict[str, Any] = {"path": path, "times": self.rng.randint(1, 3)}
        if choice == "busy":
            spec["errcode"] = -1
        elif choice == "http":
            spec["http_status"] = self.rng.choice([500, 502, 503])
        elif choice == "slow":
            spec["delay_ms"] = 11_000  # past the client's 10 s budget
            spec["times"] = 1
        elif choice == "quota":
            spec["errcode"] = self.rng.choice([45009, 45011])
            spec["times"] = 1
        if choice == "tokens":
            self.stack.sim_control("/sim/expire-tokens")
        else:
            self.stack.sim_control("/sim/faults", spec)
        self.injected[f"wechat {choice}"] += 1

    def _aws(self) -> None:
        choices: list[tuple[str, dict[str, Any]]] = [
            (
                "dynamodb throttled",
                {"service": "dynamodb", "error": "ProvisionedThroughputExceededException"},
            ),
            ("dynamodb internal error", {"service": "dynamodb", "error": "InternalServerError"}),
            (
                "dynamodb transaction conflict",
                {
                    "service": "dynamodb",
                    "operation": "TransactWriteItems",
                    "error": "TransactionCanceledException",
                    "reasons": ["TransactionConflict"],
                },
            ),
            ("ssm throttled", {"service": "ssm", "error": "ThrottlingException"}),
            ("ssm internal error", {"service": "ssm", "error": "InternalServerError"}),
            (
                "putevents throttled",
                {"service": "events", "operation": "PutEvents", "error": "ThrottlingException"},
            ),
            (
                "putevents failed",
                {"service": "events", "operation": "PutEvents", "error": "InternalException"},
            ),
            ("putevents partly failed", {"service": "events", "operation": "PutEvents", "failed_entries": 1}),
            ("dynamodb slow", {"service": "dynamodb", "delay_ms": 800}),
        ]
        name, spec = self.rng.choice(choices)
        spec = {**spec, "times": self.rng.randint(1, 3)}
        self.stack.aws_control("POST", "/_devstack/faults", spec)
        self._armed.add((spec["service"], spec.get("operation")))
        self.injected[f"aws {name}"] += 1

    def _lambda(self) -> None:
        function = self.rng.choice(API_FUNCTIONS)
        if self.rng.random() < 0.5:
            spec = {"function": function, "kill_after_ms": self.rng.randint(20, 400)}
            name = "killed mid-request"
        else:
            spec = {"function": function, "timeout_ms": self.rng.randint(50, 300)}
            name = "timed out"
        self.stack.aws_control("POST", "/_devstack/lambda-faults", spec)
        self.injected[f"lambda {name}"] += 1

    def _operation(self) -> None:
        if self.rng.random() < 0.5:
            # WeChat's token changes under the stack (every issued one stops working) and the
            # refresher, the one writer, stores the new one.
            self.stack.sim_control("/sim/expire-tokens")
            self.stack.aws_control("POST", "/_devstack/schedules", {"functions": ["token-refresher"]})
            self.injected["access token rotated"] += 1
        else:
            self.stack.aws_control("POST", "/_devstack/schedules", {"functions": ["key-rotator"]})
            self.injected["signing key rotated"] += 1

    def _emergency(self) -> None:
        """The runbook's emergency rotation (tools/emergency_rotation.py), as the operator runs
        it: the key set replaced, the token functions' environments replaced."""
        from botocore.exceptions import BotoCoreError, ClientError

        from tools.emergency_rotation import rotate

        try:
            rotate(self.stack.aws_client("lambda"), STACK, wait_s=30)
        except (SystemExit, ClientError, BotoCoreError):
            self.injected["emergency rotation failed (an injected fault), tried again later"] += 1
            return
        self.emergency_done = True
        self.injected["emergency rotation"] += 1

    def clear(self) -> None:
        """Every fault still armed, cleared (the drain runs without faults)."""
        self.stack.sim_control("/sim/reset")
        for service, operation in self._armed:
            spec: dict[str, Any] = {"service": service, "times": 0}
            if operation:
                spec["operation"] = operation
            self.stack.aws_control("POST", "/_devstack/faults", spec)
        for function in API_FUNCTIONS:
            self.stack.aws_control("POST", "/_devstack/lambda-faults", {"function": function, "times": 0})
