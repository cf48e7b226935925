"""The local AWS endpoint's IAM: policy evaluation on AWS's documented examples, the request →
action/resource mapping, and SigV4 verification with botocore's signer."""

from __future__ import annotations

import time
from typing import Any

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from hypothesis import given
from hypothesis import strategies as st

from devstack import authz
from devstack.awswire import SignatureError, parse_authorization, verify_signature
from devstack.iam import AuthzRequest, PolicyError, arn_matches, evaluate, glob_match

ACCOUNT = "111122223333"
PARAMS = f"arn:aws:ssm:us-east-1:{ACCOUNT}:parameter"


def policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def put(name: str, *, overwrite: bool) -> AuthzRequest:
    return AuthzRequest(
        "ssm:PutParameter", f"{PARAMS}/{name}", {"ssm:Overwrite": "true" if overwrite else "false"}
    )


# --- AWS's documented examples -------------------------------------------------------------

# Parameter Store's "Preventing changes to existing parameters using ssm:Overwrite".
OVERWRITE_EXAMPLE = policy(
    {"Effect": "Allow", "Action": ["ssm:PutParameter"], "Resource": f"{PARAMS}/*"},
    {
        "Effect": "Deny",
        "Action": ["ssm:PutParameter"],
        "Condition": {"StringEquals": {"ssm:Overwrite": ["true"]}},
        "Resource": f"{PARAMS}/*",
    },
)


def test_the_ssm_overwrite_example_creates_but_never_overwrites() -> None:
    assert evaluate([OVERWRITE_EXAMPLE], put("app/key", overwrite=False)) == "allow"
    assert evaluate([OVERWRITE_EXAMPLE], put("app/key", overwrite=True)) == "explicit_deny"


def test_an_allow_whose_condition_does_not_match_is_no_deny() -> None:
    """moto 5.2.5 treats this as an explicit deny; AWS just does not apply the statement."""
    only_create = policy(
        {
            "Effect": "Allow",
            "Action": "ssm:PutParameter",
            "Resource": f"{PARAMS}/*",
            "Condition": {"StringEquals": {"ssm:Overwrite": "false"}},
        }
    )
    assert evaluate([only_create], put("k", overwrite=False)) == "allow"
    assert evaluate([only_create], put("k", overwrite=True)) == "implicit_deny"
    # A second policy that allows the overwrite makes it allowed: nothing denied it.
    overwrite = policy({"Effect": "Allow", "Action": "ssm:PutParameter", "Resource": "*"})
    assert evaluate([only_create, overwrite], put("k", overwrite=True)) == "allow"


def test_a_statement_scoped_to_an_arn_matches_that_arn_only() -> None:
    """moto 5.2.5 checks every non-S3 request against "*", so this never matched there."""
    scoped = policy({"Effect": "Allow", "Action": "ssm:GetParameters", "Resource": f"{PARAMS}/prod-*"})
    assert evaluate([scoped], AuthzRequest("ssm:GetParameters", f"{PARAMS}/prod-db")) == "allow"
    assert evaluate([scoped], AuthzRequest("ssm:GetParameters", f"{PARAMS}/dev-db")) == "implicit_deny"


def test_each_action_is_authorised_on_its_own() -> None:
    """GetParameter does not grant GetParameters (the bug this endpoint was built to catch)."""
    one = policy({"Effect": "Allow", "Action": "ssm:GetParameter", "Resource": f"{PARAMS}/a"})
    assert evaluate([one], AuthzRequest("ssm:GetParameter", f"{PARAMS}/a")) == "allow"
    assert evaluate([one], AuthzRequest("ssm:GetParameters", f"{PARAMS}/a")) == "implicit_deny"
    star = policy({"Effect": "Allow", "Action": "ssm:GetParameter*", "Resource": f"{PARAMS}/a"})
    assert evaluate([star], AuthzRequest("ssm:GetParameters", f"{PARAMS}/a")) == "allow"
    assert evaluate([star], AuthzRequest("SSM:getparameters", f"{PARAMS}/a")) == "allow"  # actions: any case


def test_explicit_deny_wins_across_policies_and_implicit_deny_is_the_default() -> None:
    allow_all = policy({"Effect": "Allow", "Action": "*", "Resource": "*"})
    deny_iam = policy({"Effect": "Deny", "Action": "iam:*", "Resource": "*"})
    assert evaluate([allow_all, deny_iam], AuthzRequest("iam:CreateUser", "*")) == "explicit_deny"
    assert evaluate([allow_all, deny_iam], AuthzRequest("s3:GetObject", "arn:aws:s3:::b/k")) == "allow"
    assert evaluate([], AuthzRequest("s3:GetObject", "arn:aws:s3:::b/k")) == "implicit_deny"


def test_not_action_and_not_resource() -> None:
    # IAM's "NotAction with Allow": everything but IAM.
    not_iam = policy({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})
    assert evaluate([not_iam], AuthzRequest("dynamodb:GetItem", "arn:aws:dynamodb:x:1:table/t")) == "allow"
    assert evaluate([not_iam], AuthzRequest("iam:CreateUser", "*")) == "implicit_deny"
    # "NotResource with Deny": deny everything outside one table.
    outside = policy(
        {"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"},
        {"Effect": "Deny", "Action": "dynamodb:*", "NotResource": "arn:aws:dynamodb:*:*:table/mine"},
    )
    assert evaluate([outside], AuthzRequest("dynamodb:GetItem", "arn:aws:dynamodb:r:1:table/mine")) == "allow"
    assert (
        evaluate([outside], AuthzRequest("dynamodb:GetItem", "arn:aws:dynamodb:r:1:table/theirs"))
        == "explicit_deny"
    )


def test_kms_via_service_allows_only_through_the_service() -> None:
    via_ssm = policy(
        {
            "Effect": "Allow",
            "Action": ["kms:Decrypt"],
            "Resource": "arn:aws:kms:us-east-1:1:key/k",
            "Condition": {"StringEquals": {"kms:ViaService": ["ssm.us-east-1.amazonaws.com"]}},
        }
    )
    key = "arn:aws:kms:us-east-1:1:key/k"
    assert (
        evaluate(
            [via_ssm], AuthzRequest("kms:Decrypt", key, {"kms:ViaService": "ssm.us-east-1.amazonaws.com"})
        )
        == "allow"
    )
    assert evaluate([via_ssm], AuthzRequest("kms:Decrypt", key)) == "implicit_deny"  # called directly
    assert (
        evaluate(
            [via_ssm], AuthzRequest("kms:Decrypt", key, {"kms:ViaService": "s3.us-east-1.amazonaws.com"})
        )
        == "implicit_deny"
    )


@pytest.mark.parametrize(
    ("operator", "values", "context", "holds"),
    [
        # A key missing from the request: no match, except for negated operators, IfExists and Null.
        ("StringEquals", ["a"], {}, False),
        ("StringNotEquals", ["a"], {}, True),
        ("StringEqualsIfExists", ["a"], {}, True),
        ("StringEqualsIfExists", ["a"], {"k": "b"}, False),
        ("Null", ["true"], {}, True),
        ("Null", ["false"], {}, False),
        ("Null", ["true"], {"k": "x"}, False),
        ("StringLike", ["app/*"], {"k": "app/x"}, True),
        ("StringNotLike", ["app/*"], {"k": "app/x"}, False),
        ("StringEqualsIgnoreCase", ["ABC"], {"k": "abc"}, True),
        ("Bool", ["true"], {"k": "true"}, True),
        ("Bool", ["true"], {"k": "false"}, False),
        ("NumericLessThan", ["10"], {"k": "9"}, True),
        ("NumericLessThan", ["10"], {"k": "10"}, False),
        ("DateGreaterThan", ["2026-01-01T00:00:00Z"], {"k": "2026-11-30T00:00:00Z"}, True),
        ("IpAddress", ["203.0.113.0/24"], {"k": "203.0.113.7"}, True),
        ("NotIpAddress", ["203.0.113.0/24"], {"k": "203.0.113.7"}, False),
        ("ArnLike", ["arn:aws:events:*:*:rule/s-*"], {"k": "arn:aws:events:r:1:rule/s-x"}, True),
        # Set operators on multi-valued keys.
        ("ForAllValues:StringEquals", ["a", "b"], {"k": ["a", "b"]}, True),
        ("ForAllValues:StringEquals", ["a", "b"], {"k": ["a", "c"]}, False),
        ("ForAllValues:StringEquals", ["a"], {}, True),
        ("ForAnyValue:StringEquals", ["a"], {"k": ["c", "a"]}, True),
        ("ForAnyValue:StringEquals", ["a"], {}, False),
    ],
)
def test_condition_operators(operator: str, values: list[str], context: dict[str, Any], holds: bool) -> None:
    p = policy({"Effect": "Allow", "Action": "x:Y", "Resource": "*", "Condition": {operator: {"k": values}}})
    assert (evaluate([p], AuthzRequest("x:Y", "*", context)) == "allow") is holds


def test_condition_keys_are_case_insensitive_and_all_conditions_must_hold() -> None:
    p = policy(
        {
            "Effect": "Allow",
            "Action": "x:Y",
            "Resource": "*",
            "Condition": {"StringEquals": {"SSM:overwrite": "false", "aws:RequestedRegion": "us-east-1"}},
        }
    )
    both = {"ssm:Overwrite": "false", "aws:RequestedRegion": "us-east-1"}
    assert evaluate([p], AuthzRequest("x:Y", "*", both)) == "allow"
    assert (
        evaluate([p], AuthzRequest("x:Y", "*", {**both, "aws:RequestedRegion": "cn-north-1"}))
        == "implicit_deny"
    )


def test_malformed_policies_are_refused_not_guessed() -> None:
    with pytest.raises(PolicyError):
        evaluate(
            [
                policy(
                    {
                        "Effect": "Allow",
                        "Action": "x:Y",
                        "Resource": "*",
                        "Condition": {"StringSoundsLike": {"k": "v"}},
                    }
                )
            ],
            AuthzRequest("x:Y", "*", {"k": "v"}),
        )
    with pytest.raises(PolicyError):
        evaluate([policy({"Effect": "Permit", "Action": "x:Y", "Resource": "*"})], AuthzRequest("x:Y", "*"))
    with pytest.raises(PolicyError):
        evaluate([policy({"Effect": "Allow", "Action": "x:Y"})], AuthzRequest("x:Y", "*"))


def test_arn_wildcards_stay_within_their_segment_but_the_resource_keeps_its_colons() -> None:
    logs = "arn:aws:logs:us-east-1:1:log-group:/aws/lambda/f:*"
    assert arn_matches(logs, "arn:aws:logs:us-east-1:1:log-group:/aws/lambda/f:log-stream:2026/x")
    assert not arn_matches(logs, "arn:aws:logs:us-east-1:1:log-group:/aws/lambda/other:log-stream:x")
    # A wildcard in the region segment cannot reach into the account.
    assert not arn_matches("arn:aws:ssm:*:parameter/x", f"{PARAMS}/x")
    assert arn_matches("*", "anything")
    assert not arn_matches(f"{PARAMS}/x", "*")  # "*" as a request's resource matches only "*"


@given(st.text(max_size=40))
def test_a_pattern_without_wildcards_matches_only_itself(text: str) -> None:
    literal = text.replace("*", "").replace("?", "")
    assert glob_match(literal, literal)
    assert not glob_match(literal, literal + "x")
    assert glob_match("*", text)


@given(st.text(alphabet="ab*?.[]()+", max_size=12), st.text(alphabet="ab.[]()+", max_size=12))
def test_glob_treats_only_star_and_question_mark_as_special(pattern: str, value: str) -> None:
    import fnmatch
    import re

    expected = re.fullmatch(
        "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern), value, re.DOTALL
    )
    assert glob_match(pattern, value) is (expected is not None)
    if "[" not in pattern:
        assert glob_match(pattern, value) is fnmatch.fnmatchcase(value, pattern)


# --- what a request asks IAM for -----------------------------------------------------------


def op(service: str, name: str, params: dict[str, Any]) -> authz.Operation:
    return authz.Operation(service, name, authz.protocol_of(service), params)


def test_get_parameters_is_authorised_for_each_name() -> None:
    grants = authz.authorizations(
        op("ssm", "GetParameters", {"Names": ["/s/a", "b:3"]}), "us-east-1", ACCOUNT
    )
    assert [(g.action, g.resource) for g in grants] == [
        ("ssm:GetParameters", f"{PARAMS}/s/a"),
        ("ssm:GetParameters", f"{PARAMS}/b"),  # a version selector is not part of the ARN
    ]


def test_put_parameter_carries_ssm_overwrite_always() -> None:
    plain = authz.authorizations(op("ssm", "PutParameter", {"Name": "/s/k"}), "us-east-1", ACCOUNT)[0]
    over = authz.authorizations(
        op("ssm", "PutParameter", {"Name": "/s/k", "Overwrite": True}), "us-east-1", ACCOUNT
    )[0]
    assert plain.context["ssm:Overwrite"] == "false"
    assert over.context["ssm:Overwrite"] == "true"
    assert plain.context["aws:RequestedRegion"] == "us-east-1"


def test_a_transaction_is_authorised_item_by_item_as_single_item_actions() -> None:
    items = [
        {"Put": {"TableName": "t"}},
        {"Update": {"TableName": "t"}},
        {"Delete": {"TableName": "u"}},
        {"ConditionCheck": {"TableName": "t"}},
    ]
    grants = authz.authorizations(
        op("dynamodb", "TransactWriteItems", {"TransactItems": items}), "r", ACCOUNT
    )
    table = f"arn:aws:dynamodb:r:{ACCOUNT}:table"
    assert [(g.action, g.resource) for g in grants] == [
        ("dynamodb:PutItem", f"{table}/t"),
        ("dynamodb:UpdateItem", f"{table}/t"),
        ("dynamodb:DeleteItem", f"{table}/u"),
        ("dynamodb:ConditionCheckItem", f"{table}/t"),
    ]


def test_batch_and_index_resources() -> None:
    batch = authz.authorizations(
        op("dynamodb", "BatchGetItem", {"RequestItems": {"a": {}, "b": {}}}), "r", "1"
    )
    assert [g.resource for g in batch] == ["arn:aws:dynamodb:r:1:table/a", "arn:aws:dynamodb:r:1:table/b"]
    query = authz.authorizations(op("dynamodb", "Query", {"TableName": "t", "IndexName": "gsi"}), "r", "1")
    assert query[0].resource == "arn:aws:dynamodb:r:1:table/t/index/gsi"


def test_lambda_invoke_is_invoke_function_on_the_function_arn() -> None:
    by_name = authz.authorizations(op("lambda", "Invoke", {"FunctionName": "f"}), "r", "1")[0]
    assert (by_name.action, by_name.resource) == ("lambda:InvokeFunction", "arn:aws:lambda:r:1:function:f")
    qualified = authz.authorizations(
        op("lambda", "Invoke", {"FunctionName": "f", "Qualifier": "live"}), "r", "1"
    )
    assert qualified[0].resource == "arn:aws:lambda:r:1:function:f:live"
    by_arn = authz.authorizations(
        op("lambda", "Invoke", {"FunctionName": "arn:aws:lambda:r:2:function:g"}), "r", "1"
    )
    assert by_arn[0].resource == "arn:aws:lambda:r:2:function:g"


def test_an_unmapped_operation_is_authorised_only_on_every_resource() -> None:
    grant = authz.authorizations(op("sqs", "SendMessage", {"QueueUrl": "http://q"}), "r", "1")[0]
    assert (grant.action, grant.resource) == ("sqs:SendMessage", "*")
    scoped = policy({"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "arn:aws:sqs:r:1:q"})
    assert evaluate([scoped], grant) == "implicit_deny"  # stricter than AWS, never more lenient


def test_operations_are_recognised_from_the_wire() -> None:
    found = authz.operation_of(
        "ssm", "POST", "/", "", {"x-amz-target": "AmazonSSM.GetParameters"}, b'{"Names": ["/a"]}'
    )
    assert (found.name, dict(found.params)) == ("GetParameters", {"Names": ["/a"]})
    invoke = authz.operation_of("lambda", "POST", "/2015-03-31/functions/my-fn/invocations", "", {}, b"{}")
    assert (invoke.name, invoke.params["FunctionName"]) == ("Invoke", "my-fn")
    query = authz.operation_of("sts", "POST", "/", "", {}, b"Action=GetCallerIdentity&Version=2011-06-15")
    assert query.name == "GetCallerIdentity"


# --- SigV4, verified with botocore's signer ------------------------------------------------


def signed(secret: str = "s3cret", body: bytes = b'{"Name": "/a"}') -> AWSRequest:
    request = AWSRequest(
        method="POST",
        url="http://127.0.0.1:3002/",
        data=body,
        headers={"X-Amz-Target": "AmazonSSM.GetParameter", "Content-Type": "application/x-amz-json-1.1"},
    )
    SigV4Auth(Credentials("ASIAEXAMPLE", secret, "token"), "ssm", "us-east-1").add_auth(request)
    return request


def check(
    request: AWSRequest, *, secret: str = "s3cret", body: bytes | None = None, now: float | None = None
) -> None:
    headers = {k.lower(): v for k, v in request.headers.items()}
    headers["host"] = "127.0.0.1:3002"
    auth = parse_authorization(headers["authorization"])
    assert auth is not None
    verify_signature(
        auth,
        secret_access_key=secret,
        method="POST",
        url=str(request.url),
        headers=headers,
        body=request.body if isinstance(request.body, bytes) and body is None else (body or b""),
        now=now,
    )


def test_a_request_signed_by_botocore_verifies() -> None:
    check(signed())


def test_a_wrong_secret_a_changed_body_or_a_stale_date_is_refused() -> None:
    with pytest.raises(SignatureError, match="does not match"):
        check(signed(), secret="other")
    with pytest.raises(SignatureError, match="does not match"):
        check(signed(), body=b'{"Name": "/b"}')
    with pytest.raises(SignatureError, match="expired"):
        check(signed(), now=time.time() + 16 * 60)
