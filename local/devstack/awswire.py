"""AWS on the wire, for the local endpoint: SigV4 verification (botocore's own signer, fed the
secret the local IAM issued), errors in each protocol's format as AWS sends them, injected faults,
and the throughput limits AWS applies (SSM's 40 transactions per second by default)."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import re
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

SIGV4_TIMESTAMP = "%Y%m%dT%H%M%SZ"
# AWS refuses a request signed more than 15 minutes away from its own clock.
MAX_CLOCK_SKEW_S = 15 * 60

_AUTH = re.compile(
    r"^AWS4-HMAC-SHA256\s+Credential=(?P<key>[^/,\s]+)/(?P<date>\d{8})/(?P<region>[^/]+)/(?P<service>[^/]+)/aws4_request,"
    r"\s*SignedHeaders=(?P<signed>[^,\s]+),\s*Signature=(?P<signature>[0-9a-f]{64})\s*$"
)


@dataclass(frozen=True)
class Authorization:
    access_key_id: str
    date: str
    region: str
    service: str
    signed_headers: list[str]
    signature: str


def parse_authorization(header: str) -> Authorization | None:
    match = _AUTH.match(header.strip())
    if not match:
        return None
    return Authorization(
        access_key_id=match["key"],
        date=match["date"],
        region=match["region"],
        service=match["service"],
        signed_headers=match["signed"].split(";"),
        signature=match["signature"],
    )


class SignatureError(Exception):
    """The request's signature is wrong or stale (AWS: InvalidSignatureException)."""


def verify_signature(
    auth: Authorization,
    *,
    secret_access_key: str,
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    now: float | None = None,
) -> None:
    """Recompute the signature with botocore's SigV4 signer and the issued secret.

    ``url`` is the request's URL as sent (scheme, host, raw path and query); ``headers`` every
    header the client sent, lower-cased. Raises :class:`SignatureError` when it does not match.
    """
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    stamp = headers.get("x-amz-date", "")
    try:
        signed_at = dt.datetime.strptime(stamp, SIGV4_TIMESTAMP).replace(tzinfo=dt.UTC).timestamp()
    except ValueError:
        raise SignatureError("the request has no valid X-Amz-Date") from None
    if stamp[:8] != auth.date:
        raise SignatureError("the credential scope's date is not the request's date")
    if abs((now if now is not None else time.time()) - signed_at) > MAX_CLOCK_SKEW_S:
        raise SignatureError(f"Signature expired: {stamp} is more than 15 minutes from the server's time")
    missing = [h for h in auth.signed_headers if h not in headers]
    if missing or "host" not in auth.signed_headers:
        raise SignatureError("a signed header is missing from the request")
    request = AWSRequest(
        method=method, url=url, headers={h: headers[h] for h in auth.signed_headers}, data=body
    )
    request.context["timestamp"] = stamp
    received = hashlib.sha256(body).hexdigest()

    class ReceivedBody(SigV4Auth):
        """The canonical request over the body received, whatever the client declared: a
        declared unsigned or streaming payload must not let a signed request be sent again with
        another body. (AWS's HTTPS endpoints may accept UNSIGNED-PAYLOAD; the SDKs sign the
        body over HTTP, as here, so refusing it makes the local endpoint no more lenient.)"""

        def payload(self, request: AWSRequest) -> str:
            return received

    signer = ReceivedBody(Credentials(auth.access_key_id, secret_access_key), auth.service, auth.region)
    declared = headers.get("x-amz-content-sha256")
    if declared and declared != received:
        raise SignatureError("the x-amz-content-sha256 header does not match the body")
    expected = signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request)
    if not hmac.compare_digest(expected, auth.signature):
        raise SignatureError(
            "The request signature we calculated does not match the signature you provided. "
            "Check your AWS Secret Access Key and signing method."
        )


# --- errors in AWS's wire formats -------------------------------------------------------------

# HTTP status AWS answers each error with (the JSON protocols' models do not carry it).
_STATUS = {
    "AccessDeniedException": 400,
    "UnrecognizedClientException": 400,
    "InvalidSignatureException": 400,
    "MissingAuthenticationTokenException": 400,
    "IncompleteSignatureException": 400,
    "ThrottlingException": 400,
    "ProvisionedThroughputExceededException": 400,
    "RequestLimitExceeded": 400,
    "TransactionCanceledException": 400,
    "TransactionConflictException": 400,
    "TransactionInProgressException": 400,
    "ConditionalCheckFailedException": 400,
    "LimitExceededException": 400,
    "InternalServerError": 500,
    "InternalFailure": 500,
    "InternalServerException": 500,
    "ServiceException": 500,
    "ServiceUnavailable": 503,
    "ServiceUnavailableException": 503,
    "TooManyRequestsException": 429,
}
# REST (Lambda) answers authentication and authorisation errors with 403.
_REST_STATUS = {
    "AccessDeniedException": 403,
    "UnrecognizedClientException": 403,
    "InvalidSignatureException": 403,
    "MissingAuthenticationTokenException": 403,
}
_MESSAGES = {
    "ThrottlingException": "Rate exceeded",
    "ProvisionedThroughputExceededException": "The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API.",
    "RequestLimitExceeded": "Throughput exceeds the current throughput limit for your account. Please contact AWS Support at https://aws.amazon.com/support request a limit increase",
    "InternalServerError": "Internal server error",
    "InternalFailure": "The request processing has failed because of an unknown error, exception or failure.",
    "ServiceException": "The AWS Lambda service encountered an internal error.",
    "ServiceUnavailable": "Service Unavailable",
    "TooManyRequestsException": "Rate Exceeded.",
    "TransactionConflictException": "Transaction is ongoing for the item",
}
_REASON_MESSAGES = {
    "TransactionConflict": "Transaction is ongoing for the item",
    "ConditionalCheckFailed": "The conditional request failed",
    "ThrottlingError": "Throughput exceeds the current capacity for one or more global secondary indexes.",
    "ProvisionedThroughputExceeded": "The level of configured provisioned throughput for the table was exceeded.",
    "ValidationError": "One or more parameter values were invalid.",
}


@dataclass(frozen=True)
class WireError:
    status: str
    headers: list[tuple[str, str]]
    body: bytes


def error(
    service: str,
    protocol: str,
    code: str,
    message: str | None = None,
    *,
    extra: Mapping[str, Any] | None = None,
    headers: list[tuple[str, str]] | None = None,
) -> WireError:
    """An AWS error as the service sends it, so botocore parses exactly what it would from AWS."""
    message = message if message is not None else _MESSAGES.get(code, code)
    rest = protocol.startswith("rest")
    status = (_REST_STATUS.get(code) if rest else None) or _STATUS.get(code, 400)
    request_id = str(uuid.uuid4())
    out_headers = [("x-amzn-RequestId", request_id), *(headers or [])]
    if protocol in ("query", "ec2", "rest-xml"):
        kind = "Receiver" if status >= 500 else "Sender"
        body = (
            f"<ErrorResponse><Error><Type>{kind}</Type><Code>{code}</Code><Message>{_xml(message)}</Message>"
            f"</Error><RequestId>{request_id}</RequestId></ErrorResponse>"
        ).encode()
        out_headers.append(("Content-Type", "text/xml"))
    elif rest:
        payload: dict[str, Any] = {
            "Type": "Service" if status >= 500 else "User",
            "message": message,
            **(extra or {}),
        }
        body = json.dumps(payload).encode()
        out_headers += [("Content-Type", "application/json"), ("x-amzn-ErrorType", code)]
    else:
        # DynamoDB names its errors with its namespace; botocore keeps what follows the "#".
        type_name = f"com.amazonaws.dynamodb.v20120810#{code}" if service == "dynamodb" else code
        key = "Message" if code == "TransactionCanceledException" else "message"
        body = json.dumps({"__type": type_name, key: message, **(extra or {})}).encode()
        out_headers.append(("Content-Type", "application/x-amz-json-1.0"))
    out_headers.append(("Content-Length", str(len(body))))
    return WireError(f"{status} {HTTPStatus(status).phrase}", out_headers, body)


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def cancelled_transaction(reasons: list[str], items: int) -> tuple[str, dict[str, Any]]:
    """DynamoDB's TransactionCanceledException: one reason per item of the request, in order."""
    codes = (reasons + ["None"] * items)[: max(items, len(reasons))]
    listed = [
        {"Code": c, **({"Message": _REASON_MESSAGES[c]} if c in _REASON_MESSAGES else {})} for c in codes
    ]
    message = (
        f"Transaction cancelled, please refer cancellation reasons for specific reasons [{', '.join(codes)}]"
    )
    return message, {"CancellationReasons": listed}


# --- faults on demand -------------------------------------------------------------------------


@dataclass
class Fault:
    error: str  # an AWS error code the call fails with ("" for a delay or a partial failure)
    reasons: list[str]
    remaining: int
    delay_ms: int = 0  # the call is held this long, then served as usual
    failed_entries: int = 0  # PutEvents: the call succeeds, its first N entries fail on their own


# What EventBridge puts in a PutEvents result entry it could not take (an internal failure).
PUT_EVENTS_ENTRY_FAILURE = "InternalFailure"


class Faults:
    """``POST /_devstack/faults``: the next N matching calls fail with a named AWS error, are held
    ``delay_ms`` before being served, or (``PutEvents``) succeed with ``failed_entries`` of their
    entries failed, as EventBridge reports a partial failure."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: dict[tuple[str, str | None], Fault] = {}

    def set(self, spec: Mapping[str, Any]) -> None:
        service = spec.get("service")
        operation = spec.get("operation")
        error_code = spec.get("error")
        times = spec.get("times", 1)
        reasons = spec.get("reasons", [])
        delay_ms = spec.get("delay_ms", 0)
        failed_entries = spec.get("failed_entries", 0)
        if not isinstance(service, str) or not service:
            raise ValueError('service is required (e.g. "dynamodb", "ssm", "lambda")')
        if operation is not None and not isinstance(operation, str):
            raise ValueError("operation must be a string")
        if not isinstance(times, int) or isinstance(times, bool) or times < 0:
            raise ValueError("times must be a whole number, 0 or more")
        for name, value in (("delay_ms", delay_ms), ("failed_entries", failed_entries)):
            if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 60_000:
                raise ValueError(f"{name} must be a whole number from 0 to 60000")
        kinds = sum(1 for given in (error_code is not None, delay_ms > 0, failed_entries > 0) if given)
        if times and kinds != 1:
            raise ValueError("give exactly one of error, delay_ms or failed_entries")
        if (
            times
            and error_code is not None
            and (not isinstance(error_code, str) or not re.fullmatch(r"[A-Za-z]+", error_code))
        ):
            raise ValueError('error must name an AWS error, e.g. "ThrottlingException"')
        if failed_entries and (service.lower(), operation) != ("events", "PutEvents"):
            raise ValueError('failed_entries is for service "events", operation "PutEvents"')
        if not isinstance(reasons, list) or not all(isinstance(r, str) for r in reasons):
            raise ValueError("reasons must be a list of cancellation reason codes")
        key = (service.lower(), operation)
        with self._lock:
            if times == 0:
                self._faults.pop(key, None)
            else:
                self._faults[key] = Fault(
                    str(error_code or ""), list(reasons), times, delay_ms, failed_entries
                )

    def take(self, service: str, operation: str) -> Fault | None:
        """The fault this call meets, if any (the operation's own before the service's)."""
        with self._lock:
            for key in ((service, operation), (service, None)):
                fault = self._faults.get(key)
                if fault is not None:
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        del self._faults[key]
                    return Fault(
                        fault.error, fault.reasons, fault.remaining, fault.delay_ms, fault.failed_entries
                    )
        return None

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()


class TokenBucket:
    """A throughput limit as AWS applies it: ``rate`` transactions per second, with up to one
    second's worth in a burst. ``rate`` 0 means no limit."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self._tokens = max(rate, 1.0)
        self._at = time.monotonic()
        self._lock = threading.Lock()

    def take(self) -> bool:
        if self.rate <= 0:
            return True
        with self._lock:
            now = time.monotonic()
            self._tokens = min(max(self.rate, 1.0), self._tokens + (now - self._at) * self.rate)
            self._at = now
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return True
            return False
