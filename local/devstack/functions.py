"""Lambda-like execution of the template's functions: each function has its own pool of warm
worker processes (its own environment, module state, and the layer on its path)."""

from __future__ import annotations

import itertools
import json
import os
import queue
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TextIO

from .iam import LocalIam, Principal
from .template import ACCOUNT_ID, REGION, Function, Stack

WORKER = Path(__file__).with_name("worker.py")
# Concurrent warm containers per function (Lambda would scale further); DEVSTACK_MAX_WORKERS.
MAX_WORKERS_PER_FUNCTION = int(os.environ.get("DEVSTACK_MAX_WORKERS", "4"))


class InvokeError(Exception):
    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(error_type, message)
        self.error_type = error_type
        self.message = message


@dataclass
class _Worker:
    proc: subprocess.Popen[str]
    responses: TextIO
    generation: int = 0  # the function configuration it was started with


class FunctionPool:
    def __init__(
        self,
        fn: Function,
        stack: Stack,
        env: dict[str, str],
        log: TextIO,
        runtime_python: str | None = None,
        principal: Principal | None = None,
    ) -> None:
        self.fn = fn
        self.principal = principal
        self._runtime_python = runtime_python
        self._stack = stack
        self._env = env
        self._log = log
        self._idle: queue.LifoQueue[_Worker] = queue.LifoQueue()
        self._count = 0
        self._limit = min(fn.reserved_concurrency or MAX_WORKERS_PER_FUNCTION, MAX_WORKERS_PER_FUNCTION)
        self._lock = threading.Lock()
        self._slots = threading.Semaphore(self._limit)
        self._ids = itertools.count()
        self.invocations = 0
        self.cold_starts = 0
        self.handler_seconds = 0.0  # time inside the handler, as the workers measure it
        self.handler_cpu_seconds = 0.0  # the CPU time the handler's process spent (all its threads)
        # What CloudWatch Logs would ingest from the function's own output: its lines' UTF-8
        # bytes (Lambda's START/END/REPORT platform lines are not written by the function).
        self.log_lines = 0
        self.log_bytes = 0
        self.generation = 0  # bumped whenever what the pool serves changes
        # $LATEST: what UpdateFunctionConfiguration changes. A function with an alias
        # (AutoPublishAlias) serves the version its alias points at: a deployment published
        # version 1 and pointed the alias at it; a configuration update changes $LATEST only, and
        # reaches the alias's invocations once a version of it is published and the alias moved.
        self.latest = fn
        self.versions: list[Function] = [fn] if fn.alias else []
        self.alias_version = 1 if fn.alias else 0
        self.last_modified = time.strftime("%Y-%m-%dT%H:%M:%S.000+0000", time.gmtime())
        self._faults: list[RuntimeFault] = []  # POST /_devstack/lambda-faults, for the next invocations

    def reconfigure(self, environment: dict[str, str]) -> None:
        """UpdateFunctionConfiguration, as Lambda applies it to $LATEST. A function without an
        alias: every invocation from now on runs in a new execution environment with the new
        configuration. A function with one: nothing it serves changes until a version of the new
        configuration is published and its alias moved there (:meth:`point_alias`)."""
        with self._lock:
            self.latest = replace(self.latest, environment=dict(environment))
            self.last_modified = time.strftime("%Y-%m-%dT%H:%M:%S.000+0000", time.gmtime())
        if self.latest.alias is None:
            self._serve(self.latest)

    def publish_version(self) -> int:
        """PublishVersion: $LATEST's configuration as the next version (answers its number)."""
        if self.latest.alias is None:
            raise ValueError("the local stack publishes versions of a function with an alias only")
        with self._lock:
            self.versions.append(self.latest)
            return len(self.versions)

    def point_alias(self, version: int) -> None:
        """UpdateAlias: the alias's invocations run ``version`` from now on, each in a new
        execution environment (busy ones end with their invocation)."""
        if not 1 <= version <= len(self.versions):
            raise ValueError(f"version {version} does not exist")
        self.alias_version = version
        self._serve(self.versions[version - 1])

    def _serve(self, fn: Function) -> None:
        """What invocations run from now on: idle environments are dropped at once, busy ones
        when their invocation returns (so within the function's timeout)."""
        with self._lock:
            self.fn = fn
            self.generation += 1
        while True:
            try:
                worker = self._idle.get_nowait()
            except queue.Empty:
                return
            self._retire(worker)

    def add_faults(self, fault: RuntimeFault | None, times: int) -> None:
        """The next ``times`` invocations meet ``fault`` (None or 0 times: cleared)."""
        with self._lock:
            self._faults = [fault] * times if fault is not None else []

    def _next_fault(self) -> RuntimeFault | None:
        with self._lock:
            return self._faults.pop(0) if self._faults else None

    def configuration(self, qualifier: str | None = None) -> dict[str, Any]:
        """GetFunctionConfiguration's answer (of $LATEST, a version or the alias's version), in
        the fields the product's tools read."""
        version, fn = "$LATEST", self.latest
        if qualifier not in (None, "", "$LATEST"):
            number = self.alias_version if qualifier == self.latest.alias else _number(qualifier)
            if not 1 <= number <= len(self.versions):
                raise ValueError(f"{qualifier} is not a version or alias of {self.latest.name}")
            version, fn = str(number), self.versions[number - 1]
        return {
            "FunctionName": fn.name,
            "FunctionArn": f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{fn.name}"
            + ("" if version == "$LATEST" else f":{version}"),
            "Version": version,
            "Timeout": fn.timeout,
            "MemorySize": fn.memory,
            "Environment": {"Variables": dict(fn.environment)},
            "State": "Active",
            "LastUpdateStatus": "Successful",
            "LastModified": self.last_modified,
        }

    def alias(self, name: str) -> dict[str, Any]:
        """GetAlias's answer."""
        if name != self.latest.alias:
            raise ValueError(f"{self.latest.name} has no alias {name}")
        return {
            "AliasArn": f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{self.latest.name}:{name}",
            "Name": name,
            "FunctionVersion": str(self.alias_version),
        }

    def _spawn(self) -> _Worker:
        read_fd, write_fd = os.pipe()
        env = {
            **self._env,
            **self.fn.environment,
            # The role's credentials, as Lambda hands them to the runtime.
            **(self.principal.env() if self.principal else {}),
            "AWS_LAMBDA_FUNCTION_NAME": self.fn.name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(self.fn.memory),
            "AWS_LAMBDA_FUNCTION_TIMEOUT": str(self.fn.timeout),
            "DEVSTACK_RESPONSE_FD": str(write_fd),
            "PYTHONUNBUFFERED": "1",
        }
        env.pop("PYTHONPATH", None)
        paths = [str(self.fn.code_dir), *(str(d) for d in self._stack.layer_dirs)]
        if self._runtime_python:
            # Built artifacts on the runtime's own Python, isolated from any virtualenv: only the
            # standard library, the function's code and the layer, as in Lambda.
            interpreter = [self._runtime_python, "-I", "-S", "-u"]
        else:
            interpreter = [sys.executable, "-u"]
        proc = subprocess.Popen(
            [*interpreter, str(WORKER), *paths, "--", self.fn.handler],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=self.fn.code_dir,
            text=True,
            encoding="utf-8",
            pass_fds=(write_fd,),
        )
        os.close(write_fd)
        threading.Thread(target=self._pump, args=(proc,), daemon=True).start()
        self.cold_starts += 1
        return _Worker(proc, os.fdopen(read_fd, "r", encoding="utf-8"), self.generation)

    def stats(self) -> dict[str, float]:
        return {
            "invocations": self.invocations,
            "cold_starts": self.cold_starts,
            "handler_seconds": round(self.handler_seconds, 6),
            "handler_cpu_seconds": round(self.handler_cpu_seconds, 6),
            "log_lines": self.log_lines,
            "log_bytes": self.log_bytes,
        }

    def reset_stats(self) -> None:
        self.invocations = 0
        self.cold_starts = 0
        self.handler_seconds = 0.0
        self.handler_cpu_seconds = 0.0
        self.log_lines = 0
        self.log_bytes = 0

    def _pump(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        tag = self.fn.logical_id
        for line in proc.stdout:
            self.log_lines += 1
            self.log_bytes += len(line.rstrip("\n").encode())
            self._log.write(f"[{tag}] {line}")
            self._log.flush()

    def invoke(self, event: dict[str, Any]) -> Any:
        """Run the handler on a warm worker (or a new one), with the function's timeout."""
        with self._slots:
            try:
                worker = self._idle.get_nowait()
            except queue.Empty:
                worker = self._spawn()
            request_id = str(uuid.uuid4())
            fault = self._next_fault()
            # A fault's shorter timeout is the function's own for this invocation (the handler's
            # remaining time says so); a kill ends the worker after that long, whatever it does.
            timeout = fault.timeout_ms / 1000 if fault and fault.timeout_ms else float(self.fn.timeout)
            deadline = time.time() + timeout
            request = {"id": next(self._ids), "request_id": request_id, "deadline": deadline, "event": event}
            self.invocations += 1
            assert worker.proc.stdin is not None
            wait = (
                fault.kill_after_ms / 1000 if fault and fault.kill_after_ms else timeout + (0 if fault else 1)
            )
            try:
                worker.proc.stdin.write(json.dumps(request, ensure_ascii=False) + "\n")
                worker.proc.stdin.flush()
                line = _readline(worker.responses, timeout=wait)
            except (OSError, TimeoutError):
                self._kill(worker)
                if fault and fault.kill_after_ms:
                    raise InvokeError(
                        "Runtime.ExitError", "the execution environment was killed (a fault)"
                    ) from None
                raise InvokeError("Sandbox.Timedout", f"Task timed out after {timeout:g} seconds") from None
            if not line:
                self._kill(worker)
                raise InvokeError("Runtime.ExitError", "the worker exited")
            if worker.generation == self.generation:
                self._idle.put(worker)
            else:  # configured before an update: never used again
                self._retire(worker)
        answer = json.loads(line)
        self.handler_seconds += float(answer.get("seconds", 0.0))
        self.handler_cpu_seconds += float(answer.get("cpu_seconds", 0.0))
        if "error" in answer:
            raise InvokeError(answer["error"]["errorType"], answer["error"]["errorMessage"])
        return answer["result"]

    def _retire(self, worker: _Worker) -> None:
        if worker.proc.stdin:
            worker.proc.stdin.close()  # the worker exits at the end of its input
        worker.responses.close()

    def _kill(self, worker: _Worker) -> None:
        worker.proc.kill()
        worker.proc.wait()
        worker.responses.close()

    def stop(self) -> None:
        while True:
            try:
                worker = self._idle.get_nowait()
            except queue.Empty:
                return
            if worker.proc.stdin:
                worker.proc.stdin.close()
            try:
                worker.proc.wait(timeout=3)
            except subprocess.TimeoutExpired:
                worker.proc.kill()


def _number(qualifier: str | None) -> int:
    return int(qualifier) if qualifier and qualifier.isdigit() else 0


@dataclass(frozen=True)
class RuntimeFault:
    """What ``POST /_devstack/lambda-faults`` does to an invocation: its worker killed after
    ``kill_after_ms`` (mid-request: whatever the handler did by then stays done), or the
    function's timeout cut to ``timeout_ms`` (killed there, as Lambda ends a timed-out run)."""

    kill_after_ms: int = 0
    timeout_ms: int = 0


def _readline(stream: TextIO, timeout: float) -> str:
    result: list[str] = []
    done = threading.Event()

    def read() -> None:
        result.append(stream.readline())
        done.set()

    threading.Thread(target=read, daemon=True).start()
    if not done.wait(timeout):
        raise TimeoutError
    return result[0]


class Functions:
    """Every function of the stack, by name, logical id or ARN."""

    def __init__(
        self,
        stack: Stack,
        env: dict[str, str],
        log: TextIO,
        runtime_python: str | None = None,
        iam: LocalIam | None = None,
    ) -> None:
        """With ``iam``, each function calls AWS with credentials of its own role."""
        self.stack = stack
        self.pools = {
            fn.logical_id: FunctionPool(
                fn,
                stack,
                env,
                log,
                runtime_python,
                iam.role_session(
                    account=ACCOUNT_ID,
                    role_name=fn.role.name,
                    session=fn.name,
                    policies=fn.role.policies,
                    function=fn.logical_id,
                )
                if iam
                else None,
            )
            for fn in stack.functions.values()
        }

    def pool(self, name_or_arn: str) -> FunctionPool | None:
        fn = self.stack.function(name_or_arn)
        return self.pools[fn.logical_id] if fn else None

    def stop(self) -> None:
        for pool in self.pools.values():
            pool.stop()
