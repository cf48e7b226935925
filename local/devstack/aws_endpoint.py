"""The local AWS endpoint: moto's server app behind what AWS checks before a service serves a
call, plus the Lambda Invoke API for the template's functions.

Every request, in AWS's order:
1. authentication: the access key must be one the local IAM issued (a function's role session
   or the local operator), its session token must match, and the SigV4 signature is recomputed
   with botocore's signer from the issued secret (UnrecognizedClientException,
   InvalidSignatureException otherwise);
2. authorisation: the caller's identity-based policies, as template.yaml defines its role,
   evaluated for every (action, resource) the request needs (AccessDeniedException);
3. throughput: SSM's GetParameter/GetParameters/GetParametersByPath share a per-account limit
   (40 per second unless changed: ThrottlingException);
4. faults injected through ``POST /_devstack/faults``;
5. the service itself (moto, one call at a time: its backends are not thread-safe), or a local
   function for Lambda Invoke.

Control routes (unsigned, local only): ``POST /_devstack/faults``, ``POST /_devstack/lambda-faults``,
``POST /_devstack/schedules``, ``GET /_devstack/calls``
(``POST`` resets the counts; ``dynamodb_capacity`` gives the read and write request units the
DynamoDB calls would have been billed, by capacity.py's rules; ``?detail=1`` adds ``granted``:
every action, resource and condition context each function was authorised for since start).
"""

from __future__ import annotations

import io
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

from werkzeug.serving import BaseWSGIServer, make_server

from . import authz, capacity
from .awswire import (
    PUT_EVENTS_ENTRY_FAILURE,
    Faults,
    SignatureError,
    TokenBucket,
    WireError,
    cancelled_transaction,
    error,
    parse_authorization,
    verify_signature,
)
from .functions import Functions, InvokeError, RuntimeFault
from .iam import AuthzRequest, LocalIam, Principal, evaluate, principal_arn, resource_policy_denies
from .template import ACCOUNT_ID, REGION

log = logging.getLogger("devstack.aws")

StartResponse = Callable[[str, list[tuple[str, str]]], Any]
# SSM Parameter Store's throughput, shared per account and region by these operations: the default,
# and with the higher-throughput setting on (GetParameter, GetParameters).
SSM_DEFAULT_TPS = 40.0
SSM_HIGH_THROUGHPUT_TPS = 3000.0
SSM_THROTTLED = frozenset({"GetParameter", "GetParameters", "GetParametersByPath"})


def scheduled_event() -> dict[str, Any]:
    """The event an EventBridge schedule sends a function (what the local schedules send too)."""
    return {
        "version": "0",
        "id": os.urandom(8).hex(),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT_ID,
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "region": REGION,
        "resources": [],
        "detail": {},
    }


class CallCounter:
    """``GET /_devstack/calls``: calls served, by service and operation and by calling function;
    calls refused by IAM (``denied``) and failed on purpose (``faulted``, which includes
    ``throttled``) are counted apart."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # What each function was authorised for since start (a reset keeps it): the static IAM
        # test checks these against the template as the SAM transform and each partition see it.
        self.granted: dict[str, set[tuple[str, str, str]]] = {}
        self._zero()

    def reset(self) -> None:
        """Zero the counts (what was granted is kept)."""
        with self._lock:
            self._zero()

    def _zero(self) -> None:
        self.by_service: dict[str, dict[str, int]] = {}
        self.by_function: dict[str, dict[str, int]] = {}
        self.denied = 0
        self.faulted = 0
        self.throttled = 0

    def served(self, principal: Principal, op: authz.Operation, grants: list[AuthzRequest]) -> None:
        with self._lock:
            ops = self.by_service.setdefault(op.service, {})
            ops[op.name] = ops.get(op.name, 0) + 1
            if principal.function is not None:
                mine = self.by_function.setdefault(principal.name, {})
                key = f"{op.service}:{op.name}"
                mine[key] = mine.get(key, 0) + 1
                self.granted.setdefault(principal.name, set()).update(
                    (g.action, g.resource, json.dumps(dict(g.context), sort_keys=True)) for g in grants
                )

    def refused(self, kind: str) -> None:
        with self._lock:
            if kind == "denied":
                self.denied += 1
            else:
                self.faulted += 1
                if kind == "throttled":
                    self.throttled += 1

    def snapshot(self, *, detail: bool) -> dict[str, Any]:
        with self._lock:
            body: dict[str, Any] = {
                "by_service": {k: dict(v) for k, v in self.by_service.items()},
                "by_function": {k: dict(v) for k, v in self.by_function.items()},
                "denied": self.denied,
                "faulted": self.faulted,
                "throttled": self.throttled,
            }
            if detail:
                body["granted"] = {
                    fn: [{"action": a, "resource": r, "context": json.loads(c)} for a, r, c in sorted(items)]
                    for fn, items in self.granted.items()
                }
        return body


class AwsGate:
    """WSGI middleware: AWS's checks, then moto or a local function."""

    def __init__(
        self, app: Callable[..., Iterable[bytes]], functions: Functions, iam: LocalIam, *, ssm_tps: float
    ) -> None:
        self.app = app
        self.functions = functions
        self.iam = iam
        self.counter = CallCounter()
        self.capacity = capacity.Meter()
        self.faults = Faults()
        self.ssm_limit = TokenBucket(ssm_tps)
        # moto's backends are not thread-safe (concurrent DynamoDB writes race in deepcopy):
        # one AWS call at a time. Lambda invocations run outside this lock.
        self._moto_lock = threading.Lock()

    # --- control routes -----------------------------------------------------------------

    def _control(self, environ: dict[str, Any], start_response: StartResponse) -> list[bytes] | None:
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "GET")
        if path == "/_devstack/calls":
            if method == "POST":
                self.counter.reset()
                self.capacity.reset()
                for pool in self.functions.pools.values():
                    pool.reset_stats()
                return _json(start_response, "200 OK", {})
            detail = parse_qs(environ.get("QUERY_STRING", "")).get("detail", ["0"])[0] not in ("0", "")
            body = self.counter.snapshot(detail=detail)
            body["invocations"] = {name: pool.stats() for name, pool in self.functions.pools.items()}
            body["dynamodb_capacity"] = self.capacity.snapshot()
            return _json(start_response, "200 OK", body)
        if path == "/_devstack/faults":
            if method != "POST":
                return _json(start_response, "405 Method Not Allowed", {"error": "POST a fault"})
            try:
                spec = json.loads(_read_body(environ) or b"{}")
                if not isinstance(spec, dict):
                    raise ValueError("the body must be a JSON object")
                self.faults.set(spec)
            except ValueError as exc:
                return _json(start_response, "400 Bad Request", {"error": str(exc)})
            return _json(start_response, "200 OK", {})
        if path == "/_devstack/lambda-faults":
            if method != "POST":
                return _json(start_response, "405 Method Not Allowed", {"error": "POST a fault"})
            try:
                self._lambda_fault(json.loads(_read_body(environ) or b"{}"))
            except LookupError as exc:
                return _json(start_response, "404 Not Found", {"error": str(exc.args[0])})
            except ValueError as exc:
                return _json(start_response, "400 Bad Request", {"error": str(exc)})
            return _json(start_response, "200 OK", {})
        if path == "/_devstack/schedules":
            if method != "POST":
                return _json(start_response, "405 Method Not Allowed", {"error": "POST to run schedules now"})
            return self._run_schedules(environ, start_response)
        return None

    def _lambda_fault(self, spec: Any) -> None:
        """``{"function", "kill_after_ms" | "timeout_ms", "times"}``: the function's next
        ``times`` invocations (1 by default; 0 clears) have their worker killed after that long,
        or time out there, as Lambda ends a run past its timeout."""
        if not isinstance(spec, dict):
            raise ValueError("the body must be a JSON object")
        name, times = spec.get("function"), spec.get("times", 1)
        kill, timeout = spec.get("kill_after_ms", 0), spec.get("timeout_ms", 0)
        if not isinstance(name, str) or not name:
            raise ValueError('function is required, e.g. "face-keys"')
        for field, value in (("times", times), ("kill_after_ms", kill), ("timeout_ms", timeout)):
            if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 900_000:
                raise ValueError(f"{field} must be a whole number from 0 to 900000")
        if times and bool(kill) == bool(timeout):
            raise ValueError("give exactly one of kill_after_ms or timeout_ms")
        pool = self._pool_named(name)
        if pool is None:
            raise LookupError(f"no function {name}")
        pool.add_faults(RuntimeFault(kill_after_ms=kill, timeout_ms=timeout) if times else None, times)

    def _pool_named(self, name: str) -> Any:
        """A function by its name, ARN or logical id, or by its name without the stack's prefix
        (``face-keys`` for ``wechat-face-local-face-keys``); None if there is none."""
        return self.functions.pool(name) or next(
            (p for p in self.functions.pools.values() if p.fn.name.endswith(f"-{name}")), None
        )

    def _run_schedules(self, environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        """``POST /_devstack/schedules`` ``{"functions": ["event-emitter", ...]}`` (optional: every
        scheduled function): each runs once now, one after another, with the event its schedule
        sends, and the answer says what each returned (or the error it raised)."""
        try:
            spec = json.loads(_read_body(environ) or b"{}")
            wanted = spec.get("functions") if isinstance(spec, dict) else None
            if wanted is not None and not (
                isinstance(wanted, list) and all(isinstance(w, str) for w in wanted)
            ):
                raise ValueError("functions must be a list of function names")
        except ValueError as exc:
            return _json(start_response, "400 Bad Request", {"error": str(exc)})
        scheduled = sorted(pool.fn.name for pool in self.functions.pools.values() if pool.fn.schedule)
        chosen: list[Any] = []
        for name in wanted if wanted is not None else scheduled:
            pool = self._pool_named(name)
            if pool is None or not pool.fn.schedule:
                return _json(start_response, "404 Not Found", {"error": f"no scheduled function {name}"})
            chosen.append(pool)
        ran: dict[str, Any] = {}
        for pool in chosen:
            try:
                ran[pool.fn.name] = pool.invoke(scheduled_event())
            except InvokeError as err:
                ran[pool.fn.name] = {"error": err.error_type}
        return _json(start_response, "200 OK", ran)

    # --- every AWS call ----------------------------------------------------------------

    def for_containers(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        """The gate on the address containers reach this machine by (``--containers``): function
        roles' credentials only (never the operator's or the business's, which are documented),
        and no control route."""
        return self(environ, start_response, functions_only=True)

    def __call__(
        self, environ: dict[str, Any], start_response: StartResponse, *, functions_only: bool = False
    ) -> Iterable[bytes]:
        if functions_only and environ.get("PATH_INFO", "").startswith("/_devstack"):
            return _json(start_response, "404 Not Found", {"error": "not served on this address"})
        control = self._control(environ, start_response)
        if control is not None:
            return control
        body = _read_body(environ)
        environ["wsgi.input"] = io.BytesIO(body)
        headers = _headers(environ)
        auth = parse_authorization(headers.get("authorization", ""))
        service = auth.service if auth else _guess_service(environ, headers)
        protocol = authz.protocol_of(service)
        if auth is None:
            return self._refuse(
                start_response,
                error(
                    service, protocol, "MissingAuthenticationTokenException", "Missing Authentication Token"
                ),
                "denied",
            )
        principal = self.iam.authenticate(auth.access_key_id, headers.get("x-amz-security-token"))
        # On the containers' address, the operator's or the business's credentials are refused.
        if principal is None or (functions_only and principal.function is None):
            return self._refuse(
                start_response,
                error(
                    service,
                    protocol,
                    "UnrecognizedClientException",
                    "The security token included in the request is invalid.",
                ),
                "denied",
            )
        try:
            verify_signature(
                auth,
                secret_access_key=principal.secret_access_key,
                method=environ.get("REQUEST_METHOD", "GET"),
                url=f"http://{headers.get('host', '')}{environ.get('REQUEST_URI') or environ.get('RAW_URI') or '/'}",
                headers=headers,
                body=body,
            )
        except SignatureError as exc:
            return self._refuse(
                start_response, error(service, protocol, "InvalidSignatureException", str(exc)), "denied"
            )

        op = authz.operation_of(
            service,
            environ.get("REQUEST_METHOD", "GET"),
            environ.get("PATH_INFO", "/"),
            environ.get("QUERY_STRING", ""),
            headers,
            body,
        )
        grants = authz.authorizations(op, auth.region, ACCOUNT_ID)
        for grant in grants:
            decision = evaluate(principal.policies, grant)
            if decision != "allow":
                why = (
                    "an explicit deny in an identity-based policy"
                    if decision == "explicit_deny"
                    else ("no identity-based policy allows the " + grant.action + " action")
                )
                message = f"User: {principal.arn} is not authorized to perform: {grant.action} on resource: {grant.resource} because {why}"
                log.warning(
                    "denied %s %s:%s on %s (%s)",
                    principal.name,
                    op.service,
                    op.name,
                    grant.resource,
                    decision,
                )
                return self._refuse(
                    start_response, error(service, protocol, "AccessDeniedException", message), "denied"
                )

        if op.service == "ssm" and op.name in SSM_THROTTLED and not self.ssm_limit.take():
            return self._refuse(
                start_response, error(service, protocol, "ThrottlingException", "Rate exceeded"), "throttled"
            )
        fault = self.faults.take(op.service, op.name)
        failed_entries = 0
        if fault is not None and fault.delay_ms:
            self.counter.refused("delayed")
            time.sleep(fault.delay_ms / 1000)  # held, then served as usual
            fault = None
        elif fault is not None and fault.failed_entries:
            self.counter.refused("partial")
            failed_entries, fault = fault.failed_entries, None
        if fault is not None:
            extra: dict[str, Any] | None = None
            fault_message: str | None = None
            if fault.error == "TransactionCanceledException":
                fault_message, extra = cancelled_transaction(
                    fault.reasons, len(op.params.get("TransactItems", []))
                )
            headers_out = [("Retry-After", "1")] if fault.error == "TooManyRequestsException" else None
            return self._refuse(
                start_response,
                error(service, protocol, fault.error, fault_message, extra=extra, headers=headers_out),
                "faulted",
            )

        self.counter.served(principal, op, grants)
        if op.service == "lambda" and op.name == "Invoke":
            return self._invoke(op, environ, body, start_response)
        if op.service == "lambda" and op.name in LAMBDA_CONFIGURATION:
            return self._configuration(op, body, start_response)
        with self._moto_lock:
            if op.service == "events" and op.name == "PutEvents":
                return self._put_events(op, auth.region, principal, environ, start_response, failed_entries)
            if op.service != "dynamodb":
                return list(self.app(environ, start_response))
            return self._metered(op, auth.region, principal, environ, start_response)

    def _put_events(
        self,
        op: authz.Operation,
        region: str,
        principal: Principal,
        environ: dict[str, Any],
        start_response: StartResponse,
        failed_entries: int = 0,
    ) -> list[bytes]:
        """PutEvents under each bus's resource policy, as EventBridge applies it: an entry the
        policy denies to the caller (e.g. another principal putting the stack's source on the
        stack's bus) fails on its own, ``NotAuthorizedForSourceException`` in the result; the
        call and the other entries go through. (moto stores bus policies, never applies them.)
        ``failed_entries`` (a fault): the first N entries fail on their own with EventBridge's
        internal failure, the rest go through."""
        from moto.events.models import events_backends

        backend = events_backends[ACCOUNT_ID][region]
        entries = list(op.params.get("Entries", []))
        refused: list[int] = []
        for i, entry in enumerate(entries):
            name = str(entry.get("EventBusName") or "default").rsplit("event-bus/", 1)[-1]
            bus = backend.event_buses.get(name)
            policy = json.loads(bus.policy) if bus is not None and bus.policy else None
            request = AuthzRequest(
                "events:PutEvents",
                f"arn:aws:events:{region}:{ACCOUNT_ID}:event-bus/{name}",
                {
                    "events:source": str(entry.get("Source", "")),
                    "events:detail-type": str(entry.get("DetailType", "")),
                    "aws:PrincipalArn": principal_arn(principal.arn),
                    "aws:PrincipalAccount": ACCOUNT_ID,
                },
            )
            if policy is not None and resource_policy_denies(policy, principal.arn, ACCOUNT_ID, request):
                refused.append(i)
        failing = set(range(min(failed_entries, len(entries)))) - set(refused)
        if not refused and not failing:
            return list(self.app(environ, start_response))
        if refused:
            log.warning("refused %d PutEvents entries of %s under a bus policy", len(refused), principal.name)
        kept = [e for i, e in enumerate(entries) if i not in refused and i not in failing]
        answered: list[dict[str, Any]] = []
        if kept:
            forwarded = json.dumps({**op.params, "Entries": kept}).encode()
            inner = {**environ, "wsgi.input": io.BytesIO(forwarded), "CONTENT_LENGTH": str(len(forwarded))}
            status: list[str] = []
            raw = b"".join(self.app(inner, lambda s, h, *rest: status.append(s)))
            if not status or not status[0].startswith("200"):
                start_response(
                    status[0] if status else "500 Internal Server Error",
                    [("Content-Type", "application/x-amz-json-1.1")],
                )
                return [raw]
            answered = list(json.loads(raw).get("Entries", []))
        denied = {
            "ErrorCode": "NotAuthorizedForSourceException",
            "ErrorMessage": "Not authorized for the source.",
        }
        internal = {"ErrorCode": PUT_EVENTS_ENTRY_FAILURE, "ErrorMessage": "Internal failure (a fault)"}
        merged, taken = [], iter(answered)
        for i in range(len(entries)):
            merged.append(
                dict(denied) if i in refused else dict(internal) if i in failing else next(taken, {})
            )
        failed = sum(1 for e in merged if "ErrorCode" in e)
        payload = json.dumps({"FailedEntryCount": failed, "Entries": merged}).encode()
        start_response(
            "200 OK", [("Content-Type", "application/x-amz-json-1.1"), ("Content-Length", str(len(payload)))]
        )
        return [payload]

    def _metered(
        self,
        op: authz.Operation,
        region: str,
        principal: Principal,
        environ: dict[str, Any],
        start_response: StartResponse,
    ) -> list[bytes]:
        """A DynamoDB call, with the request units DynamoDB would bill for it (capacity.py)."""
        from moto.dynamodb.models import dynamodb_backends

        backend = dynamodb_backends[ACCOUNT_ID][region]

        def lookup(table: str, key: dict[str, Any]) -> dict[str, Any] | None:
            try:
                found = backend.get_item(table, key)
            except Exception:  # no such table or a malformed key: the service answers that
                return None
            return None if found is None else dict(found.to_json()["Attributes"])

        def key_names(table: str) -> list[str]:
            t = backend.get_table(table)
            return [t.hash_key_attr] + ([t.range_key_attr] if t.range_key_attr else [])

        try:
            metered = capacity.before(op.name, dict(op.params), lookup, key_names)
        except Exception:  # a request the service will refuse as malformed is not billed
            metered = None
        answer = list(self.app(environ, start_response))
        if metered is not None:
            units = metered.units(lookup, key_names, b"".join(answer))
            self.capacity.add(principal.function, units, metered.writes)
        return answer

    def _refuse(self, start_response: StartResponse, wire: WireError, kind: str) -> list[bytes]:
        self.counter.refused(kind)
        start_response(wire.status, wire.headers)
        return [wire.body]

    # --- Lambda Invoke for the template's functions -------------------------------------

    def _configuration(self, op: authz.Operation, raw: bytes, start_response: StartResponse) -> list[bytes]:
        """A function's configuration, versions and alias, as Lambda keeps them: an update of
        its environment changes $LATEST (and replaces the execution environments of a function
        invoked unqualified); a function whose routes invoke an alias serves the version the alias
        points at, so the update reaches them once a version is published and the alias moved
        (the operator's emergency rotation relies on both)."""
        name = str(op.params.get("FunctionName", ""))
        pool = self.functions.pool(name)
        if pool is None:
            return _function_not_found(name, start_response)
        try:
            if op.name == "PublishVersion":
                version = pool.publish_version()
                log.info("lambda %s: version %d published", pool.latest.name, version)
                return _json(start_response, "201 Created", pool.configuration(str(version)))
            if op.name == "UpdateAlias":
                update = json.loads(raw) if raw.strip() else {}
                pool.alias(str(op.params.get("Name", "")))  # it exists
                pool.point_alias(int(str(update.get("FunctionVersion", "0"))))
                log.info(
                    "lambda %s: alias at version %d, new environments", pool.latest.name, pool.alias_version
                )
                return _json(start_response, "200 OK", pool.alias(str(op.params["Name"])))
            if op.name == "GetAlias":
                return _json(start_response, "200 OK", pool.alias(str(op.params.get("Name", ""))))
            if op.name == "GetFunctionConfiguration":
                qualifier = op.params.get("Qualifier") or _qualifier(name)
                return _json(start_response, "200 OK", pool.configuration(qualifier))
        except ValueError as err:
            wire = error("lambda", "rest-json", "ResourceNotFoundException", str(err))
            start_response("404 Not Found", wire.headers)
            return [wire.body]
        if op.name == "UpdateFunctionConfiguration":
            try:
                update = json.loads(raw) if raw.strip() else {}
                variables = update["Environment"]["Variables"]
                if not isinstance(variables, dict):
                    raise TypeError
            except (ValueError, KeyError, TypeError):
                wire = error(
                    "lambda",
                    "rest-json",
                    "InvalidParameterValueException",
                    "the local stack updates a function's Environment only",
                )
                start_response(wire.status, wire.headers)
                return [wire.body]
            pool.reconfigure({str(k): str(v) for k, v in variables.items()})
            log.info("lambda %s reconfigured: new execution environments from now on", pool.fn.name)
        return _json(start_response, "200 OK", pool.configuration())

    def _invoke(
        self, op: authz.Operation, environ: dict[str, Any], raw: bytes, start_response: StartResponse
    ) -> list[bytes]:
        name = str(op.params.get("FunctionName", ""))
        pool = self.functions.pool(name)
        if pool is None:
            return _function_not_found(name, start_response)
        qualifier = op.params.get("Qualifier") or _qualifier(name)
        alias = pool.latest.alias
        if alias is not None and qualifier not in (alias, str(pool.alias_version)):
            # The local stack runs such a function at its alias only (its routes' target): an
            # unqualified or other-version invoke is refused rather than run as something else.
            wire = error(
                "lambda",
                "rest-json",
                "InvalidParameterValueException",
                f"the local stack invokes {pool.latest.name} at its alias {alias} only",
            )
            start_response(wire.status, wire.headers)
            return [wire.body]
        try:
            event = json.loads(raw) if raw.strip() else {}
        except json.JSONDecodeError:
            wire = error(
                "lambda",
                "rest-json",
                "InvalidRequestContentException",
                "Could not parse request body into json",
            )
            start_response(wire.status, wire.headers)
            return [wire.body]
        invocation_type = environ.get("HTTP_X_AMZ_INVOCATION_TYPE", "RequestResponse")
        executed = str(pool.alias_version) if alias is not None else "$LATEST"
        if invocation_type == "Event":
            threading.Thread(target=self._quietly, args=(pool.invoke, event), daemon=True).start()
            start_response("202 Accepted", [("Content-Length", "0")])
            return [b""]
        log.info("lambda invoke %s", pool.fn.name)
        try:
            result = pool.invoke(event)
        except InvokeError as err:
            return _json(
                start_response,
                "200 OK",
                {"errorType": err.error_type, "errorMessage": err.message},
                [("X-Amz-Function-Error", "Unhandled"), ("X-Amz-Executed-Version", executed)],
            )
        return _json(start_response, "200 OK", result, [("X-Amz-Executed-Version", executed)])

    @staticmethod
    def _quietly(fn: Callable[[dict[str, Any]], Any], event: dict[str, Any]) -> None:
        try:
            fn(event)
        except InvokeError:
            log.warning("asynchronous invocation failed")


def _read_body(environ: dict[str, Any]) -> bytes:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    return environ["wsgi.input"].read(length) if length else b""


def _headers(environ: dict[str, Any]) -> dict[str, str]:
    out = {k[5:].replace("_", "-").lower(): str(v) for k, v in environ.items() if k.startswith("HTTP_")}
    for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if environ.get(key):
            out[key.replace("_", "-").lower()] = str(environ[key])
    return out


def _guess_service(environ: dict[str, Any], headers: dict[str, str]) -> str:
    """For an unsigned request's error format only."""
    target = headers.get("x-amz-target", "")
    if target.startswith("DynamoDB"):
        return "dynamodb"
    if target.startswith("AmazonSSM"):
        return "ssm"
    if environ.get("PATH_INFO", "").startswith("/2015-03-31/functions/"):
        return "lambda"
    return "sts"


def _json(
    start_response: StartResponse, status: str, body: Any, headers: list[tuple[str, str]] | None = None
) -> list[bytes]:
    data = json.dumps(body).encode()
    start_response(
        status, [("Content-Type", "application/json"), ("Content-Length", str(len(data))), *(headers or [])]
    )
    return [data]


class AwsEndpoint:
    def __init__(
        self, host: str, port: int, functions: Functions, iam: LocalIam, *, ssm_tps: float = SSM_DEFAULT_TPS
    ) -> None:
        # moto's WSGI app itself (not its public ThreadedMotoServer, which owns its socket): the
        # gate must sit in front of it in the same process. Private: tests/unit/test_private_apis.py
        # fails on the moto upgrade that changes it.
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )

        moto_app = DomainDispatcherApplication(create_backend_app)
        self.gate = AwsGate(moto_app, functions, iam, ssm_tps=ssm_tps)
        self.server: BaseWSGIServer = make_server(
            host, port, self.gate, threaded=True, request_handler=MotoRequestHandler
        )
        self.port = self.server.server_port
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._request_handler = MotoRequestHandler
        self._also: list[BaseWSGIServer] = []

    def start(self) -> None:
        self._thread.start()

    def also_listen(self, host: str) -> None:
        """The same endpoint (same checks, same state) on another address and the same port:
        where containers reach this machine (``make run CONTAINERS=<bridge address>``). There it
        takes only the function roles' credentials and serves no control route."""
        server = make_server(
            host, self.port, self.gate.for_containers, threaded=True, request_handler=self._request_handler
        )
        self._also.append(server)
        threading.Thread(target=server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        for server in self._also:
            server.shutdown()


__all__ = ["REGION", "AwsEndpoint", "AwsGate"]


LAMBDA_CONFIGURATION = frozenset(
    {"GetFunctionConfiguration", "UpdateFunctionConfiguration", "PublishVersion", "UpdateAlias", "GetAlias"}
)


def _qualifier(name: str) -> str | None:
    """The qualifier a function name or ARN carries (``name:live``, ``arn:...:function:name:3``)."""
    tail = name.rsplit(":function:", 1)[-1]
    return tail.split(":", 1)[1] if ":" in tail else None


def _function_not_found(name: str, start_response: StartResponse) -> list[bytes]:
    """Lambda's 404 for a function the stack does not have."""
    wire = error("lambda", "rest-json", "ResourceNotFoundException", f"Function not found: {name}")
    start_response("404 Not Found", wire.headers)
    return [wire.body]
