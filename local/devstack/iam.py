"""IAM for the local AWS endpoint: identity-based policy evaluation as AWS documents it, and the
credentials the local IAM issues (one set per function role, one for the operator).

Evaluation (AWS's "policy evaluation logic", identity-based policies of one account):
an explicit ``Deny`` in any statement that applies wins; otherwise an ``Allow`` that applies
allows; otherwise the request is implicitly denied. A statement applies when its
``Action``/``NotAction``, its ``Resource``/``NotResource`` and every condition in its
``Condition`` block match. Wildcards ``*`` and ``?`` work in actions (case-insensitive) and in
resource ARNs (case-sensitive, segment by segment, as ``ArnLike`` compares them).

What is not evaluated here (AWS alone checks it; docs/architecture.md lists it): resource-based
policies, KMS key policies, permission boundaries, session policies, service control policies,
and policy variables (``${aws:username}``).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
import secrets
import string
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Literal

Decision = Literal["allow", "explicit_deny", "implicit_deny"]
ContextValue = str | Sequence[str]


class PolicyError(ValueError):
    """A policy AWS would refuse to attach (unknown operator, malformed statement)."""


@dataclass(frozen=True)
class AuthzRequest:
    """One (action, resource) pair to authorise, with the request's condition keys."""

    action: str  # e.g. "ssm:GetParameters"
    resource: str  # an ARN, or "*" for actions without resource-level permissions
    context: Mapping[str, ContextValue] = field(default_factory=dict)


# --- matching -------------------------------------------------------------------------------


@cache
def _glob(pattern: str, *, ignore_case: bool) -> re.Pattern[str]:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(regex, re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def glob_match(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    """IAM's wildcard match: ``*`` any run of characters, ``?`` one character, nothing else special."""
    return _glob(pattern, ignore_case=ignore_case).fullmatch(value) is not None


def action_matches(pattern: str, action: str) -> bool:
    return glob_match(pattern, action, ignore_case=True)


def arn_matches(pattern: str, arn: str) -> bool:
    """``ArnLike``: ``*`` alone matches everything; otherwise the six colon-separated parts of an
    ARN (the last one keeps its own colons) are compared part by part, each with wildcards."""
    if pattern == "*":
        return True
    pat, value = pattern.split(":", 5), arn.split(":", 5)
    if len(pat) != 6 or len(value) != 6:
        return pattern == arn  # not an ARN pattern: only itself
    return all(glob_match(p, v) for p, v in zip(pat, value, strict=True))


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


# --- conditions -----------------------------------------------------------------------------


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _number(value: str) -> float | None:
    try:
        return float(value)
    except ValueError:
        return None


def _date(value: str) -> float | None:
    try:
        return float(value)  # epoch seconds are accepted too
    except ValueError:
        pass
    try:
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _ip(policy: str, value: str) -> bool:
    try:
        return ipaddress.ip_address(value) in ipaddress.ip_network(policy, strict=False)
    except ValueError:
        return False


def _cmp(kind: str, op: str) -> Any:
    def numeric(parse: Any) -> Any:
        ops = {
            "Equals": lambda a, b: a == b,
            "NotEquals": lambda a, b: a == b,  # negated by the caller
            "LessThan": lambda a, b: a < b,
            "LessThanEquals": lambda a, b: a <= b,
            "GreaterThan": lambda a, b: a > b,
            "GreaterThanEquals": lambda a, b: a >= b,
        }

        def compare(policy: str, value: str) -> bool:
            a, b = parse(value), parse(policy)
            return a is not None and b is not None and bool(ops[op](a, b))

        return compare

    table: dict[tuple[str, str], Any] = {
        ("String", "Equals"): lambda p, v: p == v,
        ("String", "NotEquals"): lambda p, v: p == v,
        ("String", "EqualsIgnoreCase"): lambda p, v: p.lower() == v.lower(),
        ("String", "NotEqualsIgnoreCase"): lambda p, v: p.lower() == v.lower(),
        ("String", "Like"): lambda p, v: glob_match(p, v),
        ("String", "NotLike"): lambda p, v: glob_match(p, v),
        ("Arn", "Equals"): arn_matches,
        ("Arn", "NotEquals"): arn_matches,
        ("Arn", "Like"): arn_matches,
        ("Arn", "NotLike"): arn_matches,
        ("Bool", ""): lambda p, v: p.lower() == v.lower(),
        ("Ip", "Address"): _ip,
        ("NotIp", "Address"): _ip,
        ("Binary", "Equals"): lambda p, v: p == v,
    }
    if kind == "Numeric":
        return numeric(_number)
    if kind == "Date":
        return numeric(_date)
    try:
        return table[(kind, op)]
    except KeyError:
        raise PolicyError(f"unknown condition operator {kind}{op}") from None


_OPERATOR = re.compile(
    r"^(?:(?P<set>ForAnyValue|ForAllValues):)?"
    r"(?P<kind>String|Numeric|Date|Bool|Binary|NotIp|Ip|Arn|Null)"
    r"(?P<op>[A-Za-z]*?)(?P<if_exists>IfExists)?$"
)


def _operator_holds(operator: str, key: str, wanted: Any, context: Mapping[str, ContextValue]) -> bool:
    match = _OPERATOR.match(operator)
    if not match:
        raise PolicyError(f"unknown condition operator {operator}")
    kind, op, set_op = match["kind"], match["op"], match["set"]
    policy_values = [_text(v) for v in _as_list(wanted)]
    present = _context_value(context, key)
    if kind == "Null":
        # "true": the key must be absent; "false": present.
        return any((v.lower() == "true") == (present is None) for v in policy_values)
    negated = op.startswith("Not") or kind == "NotIp"
    compare = _cmp(kind, op)
    if present is None:
        if set_op == "ForAllValues":
            return True
        if match["if_exists"]:
            return True
        return negated and set_op is None
    values = [_text(v) for v in _as_list(present)]

    def hit(value: str) -> bool:
        return any(compare(p, value) for p in policy_values)

    if set_op == "ForAllValues":
        return all((not hit(v)) if negated else hit(v) for v in values)
    if set_op == "ForAnyValue":
        return any((not hit(v)) if negated else hit(v) for v in values)
    if negated:
        return not any(hit(v) for v in values)
    return any(hit(v) for v in values)


def _context_value(context: Mapping[str, ContextValue], key: str) -> ContextValue | None:
    # Condition key names are case-insensitive.
    lowered = key.lower()
    for name, value in context.items():
        if name.lower() == lowered:
            return value
    return None


def conditions_hold(
    block: Mapping[str, Mapping[str, Any]] | None, context: Mapping[str, ContextValue]
) -> bool:
    """Every operator, and within it every key, must hold (AND); a key's values are ORed."""
    if not block:
        return True
    if not isinstance(block, Mapping):
        raise PolicyError("Condition must be an object")
    for operator, keys in block.items():
        if not isinstance(keys, Mapping):
            raise PolicyError(f"condition {operator} must map keys to values")
        for key, wanted in keys.items():
            if not _operator_holds(operator, key, wanted, context):
                return False
    return True


# --- statements and policies ----------------------------------------------------------------


def _statements(policy: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [s for s in _as_list(policy.get("Statement")) if isinstance(s, Mapping)]


def statement_applies(statement: Mapping[str, Any], request: AuthzRequest) -> bool:
    if ("Action" in statement) == ("NotAction" in statement):
        raise PolicyError("a statement needs exactly one of Action and NotAction")
    if ("Resource" in statement) == ("NotResource" in statement):
        raise PolicyError("a statement needs exactly one of Resource and NotResource")
    if "Action" in statement:
        if not any(action_matches(p, request.action) for p in _as_list(statement["Action"])):
            return False
    elif any(action_matches(p, request.action) for p in _as_list(statement["NotAction"])):
        return False
    if "Resource" in statement:
        if not any(arn_matches(p, request.resource) for p in _as_list(statement["Resource"])):
            return False
    elif any(arn_matches(p, request.resource) for p in _as_list(statement["NotResource"])):
        return False
    return conditions_hold(statement.get("Condition"), request.context)


def evaluate(policies: Iterable[Mapping[str, Any]], request: AuthzRequest) -> Decision:
    """AWS's order: an explicit deny anywhere wins, then an allow, else an implicit deny."""
    allowed = False
    for policy in policies:
        for statement in _statements(policy):
            effect = statement.get("Effect")
            if effect not in ("Allow", "Deny"):
                raise PolicyError(f"Effect must be Allow or Deny, not {effect!r}")
            if not statement_applies(statement, request):
                continue
            if effect == "Deny":
                return "explicit_deny"
            allowed = True
    return "allow" if allowed else "implicit_deny"


def principal_matches(principal: Any, caller_arn: str, account: str) -> bool:
    """A resource policy's ``Principal`` names the caller: ``*``, or ``{"AWS": ...}`` with ``*``,
    the caller's ARN or its account (as an id or ``arn:aws:iam::<id>:root``)."""
    if principal == "*":
        return True
    named = _as_list(principal.get("AWS")) if isinstance(principal, Mapping) else []
    return any(p in ("*", caller_arn, account, f"arn:aws:iam::{account}:root") for p in named)


def resource_policy_denies(
    policy: Mapping[str, Any], caller_arn: str, account: str, request: AuthzRequest
) -> bool:
    """Whether a resource-based policy explicitly denies ``request`` to the caller (the explicit
    deny that wins over any identity policy's allow; the product's buses rely on nothing else)."""
    return any(
        statement.get("Effect") == "Deny"
        and principal_matches(statement.get("Principal"), caller_arn, account)
        and statement_applies(statement, request)
        for statement in _statements(policy)
    )


def principal_arn(caller_arn: str) -> str:
    """``aws:PrincipalArn``: for a role session, the role's ARN (not the session's)."""
    head, _, rest = caller_arn.partition(":assumed-role/")
    if not rest:
        return caller_arn
    account = head.split(":")[4]
    return f"arn:aws:iam::{account}:role/{rest.split('/', 1)[0]}"


# --- principals and their credentials -------------------------------------------------------


@dataclass
class Principal:
    """Who calls: a function's role session, or the local operator."""

    name: str  # the function's name, or "operator"
    arn: str  # as AWS names the caller in an AccessDenied message
    policies: list[dict[str, Any]]
    access_key_id: str
    secret_access_key: str
    session_token: str | None = None
    function: str | None = None  # the function's logical id, for per-function call counts

    def env(self) -> dict[str, str]:
        """The credentials as Lambda hands them to a function's runtime."""
        out = {"AWS_ACCESS_KEY_ID": self.access_key_id, "AWS_SECRET_ACCESS_KEY": self.secret_access_key}
        if self.session_token:
            out["AWS_SESSION_TOKEN"] = self.session_token
        return out


_KEY_ALPHABET = string.ascii_uppercase + "234567"
OPERATOR_ACCESS_KEY_ID = "AKIALOCALOPERATOR001"
OPERATOR_SECRET_ACCESS_KEY = "local-operator-secret-key-not-for-aws"  # noqa: S105 - a local identity
# The business's server identity: holds the stack's ResultReaderPolicy, OrderManagerPolicy and
# OrderPhotoPolicy (the server-side routes), nothing else.
BUSINESS_ACCESS_KEY_ID = "AKIALOCALBUSINESS001"
BUSINESS_SECRET_ACCESS_KEY = "local-business-secret-key-not-for-aws"  # noqa: S105 - a local identity
ADMINISTRATOR = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


class LocalIam:
    """The credentials this endpoint has issued; anything else is refused."""

    def __init__(self) -> None:
        self._by_key: dict[str, Principal] = {}

    def add(self, principal: Principal) -> Principal:
        self._by_key[principal.access_key_id] = principal
        return principal

    def operator(self, account: str) -> Principal:
        """The local operator: full access, fixed credentials (documented for the AWS CLI)."""
        return self.add(
            Principal(
                name="operator",
                arn=f"arn:aws:iam::{account}:user/local-operator",
                policies=[ADMINISTRATOR],
                access_key_id=OPERATOR_ACCESS_KEY_ID,
                secret_access_key=OPERATOR_SECRET_ACCESS_KEY,
            )
        )

    def business(self, account: str, policies: list[dict[str, Any]]) -> Principal:
        """The business's servers: an IAM user with the stack's managed policies for them attached,
        as the business would attach them to its own roles (fixed credentials, documented)."""
        return self.add(
            Principal(
                name="business",
                arn=f"arn:aws:iam::{account}:user/local-business",
                policies=policies,
                access_key_id=BUSINESS_ACCESS_KEY_ID,
                secret_access_key=BUSINESS_SECRET_ACCESS_KEY,
            )
        )

    def role_session(
        self, *, account: str, role_name: str, session: str, policies: list[dict[str, Any]], function: str
    ) -> Principal:
        """Temporary credentials for a function's role, as Lambda's assumed-role session."""
        return self.add(
            Principal(
                name=session,
                arn=f"arn:aws:sts::{account}:assumed-role/{role_name}/{session}",
                policies=policies,
                access_key_id="ASIA" + "".join(secrets.choice(_KEY_ALPHABET) for _ in range(16)),
                secret_access_key=secrets.token_urlsafe(30)[:40],
                session_token=secrets.token_urlsafe(96),
                function=function,
            )
        )

    def principal(self, access_key_id: str) -> Principal | None:
        return self._by_key.get(access_key_id)

    def authenticate(self, access_key_id: str, session_token: str | None) -> Principal | None:
        """Who signed, if these are credentials this IAM issued (with their session token, for a
        role session); None otherwise. The signature itself is checked with the principal's
        secret (``awswire.verify_signature``)."""
        principal = self._by_key.get(access_key_id)
        if principal is None or (
            principal.session_token is not None and session_token != principal.session_token
        ):
            return None
        return principal

    def principals(self) -> list[Principal]:
        return list(self._by_key.values())
