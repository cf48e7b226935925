"""Operations: EMF metrics the alarms read, retention enforced on read, the optional CMK."""

from __future__ import annotations

import json
import time
from typing import Any

import boto3
import pytest

from tests.support.aws import Deployment, clients, fresh_container
from tests.support.container import container
from tests.support.handlers import Context, event, load, login, refresh
from tests.support.simulator import RunningSim
from tests.support.wechat import ClientConfig, wechat_calls
from wxface.api.errors import from_domain
from wxface.dal.table import Table
from wxface.domain.errors import DomainError
from wxface.domain.results import ResultLookup, latest
from wxface.domain.sessions import Session


def emf(captured: str) -> list[dict[str, Any]]:
    records = []
    for line in captured.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            records.append(json.loads(line))
    return records


def metric_names(records: list[dict[str, Any]]) -> set[str]:
    return {m["Name"] for r in records for d in r["_aws"]["CloudWatchMetrics"] for m in d["Metrics"]}


def test_metrics_the_alarms_read_are_emitted(
    deployment: Deployment, fresh_sim: RunningSim, capsys: pytest.CaptureFixture[str]
) -> None:
    refreshed = refresh(deployment)
    records = emf(capsys.readouterr().out)
    (token_left,) = [r for r in records if "TokenSecondsLeft" in r]
    assert token_left["TokenSecondsLeft"] in (
        float(refreshed["expires_in"]),
        [float(refreshed["expires_in"])],
    )
    assert token_left["service"] == "token-refresher"  # the alarm's dimension

    token = login(fresh_sim, "o-metrics")
    keys = load("face_keys", "keys_handler").lambda_handler
    fresh_sim.control("/sim/faults", {"path": "/cityservice/face/identify/getverifyid", "errcode": -1})
    answer = keys(event("face_keys.json", token=token), Context())
    assert answer["statusCode"] == 200
    records = emf(capsys.readouterr().out)
    names = metric_names(records)
    assert {"WeChatErrcodes", "WeChatErrcodesByEndpoint", "WeChatRetries", "KeysIssued"} <= names
    by_endpoint = next(r for r in records if "WeChatErrcodesByEndpoint" in r)
    assert (by_endpoint["errcode"], by_endpoint["endpoint"]) == (
        "-1",
        "/cityservice/face/identify/getverifyid",
    )
    namespaces = {d["Namespace"] for r in records for d in r["_aws"]["CloudWatchMetrics"]}
    assert namespaces == {"UnitTests"}  # the stack's own namespace, as the alarms expect

    verify_id = json.loads(answer["body"])["verify_id"]
    fresh_sim.control("/sim/verify", {"openid": "o-metrics", "verify_id": verify_id, "result_code": 10004})
    results = load("face_results", "results_handler").lambda_handler
    results(event("face_results_v2.json", token=token, body={"verify_id": verify_id}), Context())
    records += emf(capsys.readouterr().out)
    result = next(r for r in records if "ResultsNotPassed" in r)
    assert result["result_code"] == "10004"  # in the record, for Logs Insights to count by
    # Codes are properties, never dimensions: each distinct dimension value is a custom metric
    # billed every month, and WeChat has dozens of errcodes and result codes.
    dimensions = {
        k for r in records for d in r["_aws"]["CloudWatchMetrics"] for ds in d["Dimensions"] for k in ds
    }
    assert not dimensions & {"errcode", "result_code", "function_name"}, dimensions


def test_latency_of_every_wechat_and_aws_call_is_in_the_invocations_one_metrics_record(
    deployment: Deployment, fresh_sim: RunningSim, capsys: pytest.CaptureFixture[str]
) -> None:
    """What tracing showed, kept as metrics: how long each WeChat endpoint and each AWS call took,
    per call (retries of a WeChat call each count; an AWS call's retries are inside its time), all
    in the invocation's one EMF record with unit Milliseconds, so CloudWatch has their
    percentiles; no log line per call."""
    refresh(deployment)
    token = login(fresh_sim, "o-latency")
    capsys.readouterr()
    fresh_container()  # a cold container: the prefetch's SSM read is timed too
    keys = load("face_keys", "keys_handler").lambda_handler
    fresh_sim.control("/sim/faults", {"path": "/cityservice/face/identify/getverifyid", "errcode": -1})
    assert keys(event("face_keys.json", token=token), Context())["statusCode"] == 200
    records = [
        r for r in emf(capsys.readouterr().out) if any(k.startswith(("WeChatMs.", "AwsMs.")) for k in r)
    ]
    assert len(records) == 1  # one record for the invocation
    (record,) = records
    units = {m["Name"]: m["Unit"] for d in record["_aws"]["CloudWatchMetrics"] for m in d["Metrics"]}
    timings = {k: v for k, v in record.items() if k.startswith(("WeChatMs.", "AwsMs."))}
    assert {"WeChatMs.getverifyid", "AwsMs.ssm.GetParameters", "AwsMs.dynamodb.TransactWriteItems",
            "AwsMs.dynamodb.UpdateItem"} <= set(timings)  # fmt: skip
    assert all(units[name] == "Milliseconds" for name in timings)
    assert len(timings["WeChatMs.getverifyid"]) == 2  # the -1 and its retry, each timed
    assert all(
        v >= 0 for values in timings.values() for v in (values if isinstance(values, list) else [values])
    )
    assert record["service"] == "face-keys"


def test_a_successful_request_logs_no_line_per_call_at_the_default_level(
    deployment: Deployment, fresh_sim: RunningSim, capsys: pytest.CaptureFixture[str]
) -> None:
    """Log bytes are billed per request: at INFO (the template's level) a key issuance that went
    well writes its metrics and nothing per WeChat or AWS call (the latency metrics carry them)."""
    refresh(deployment)
    token = login(fresh_sim, "o-quiet")
    keys = load("face_keys", "keys_handler").lambda_handler
    assert keys(event("face_keys.json", token=token), Context())["statusCode"] == 200  # warm
    capsys.readouterr()
    assert keys(event("face_keys.json", token=token), Context())["statusCode"] == 200
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert [line.get("message") for line in lines if "_aws" not in line] == []
    assert any("WeChatMs.getverifyid" in line for line in lines)


def test_a_high_risk_user_is_a_403_in_both_languages_and_not_an_operators_alarm(
    deployment: Deployment, fresh_sim: RunningSim, capsys: pytest.CaptureFixture[str]
) -> None:
    """WeChat's 40226 (the user's login refused as high risk) is about the user: 403 with its own
    code, not a 502, and counted by code but not in WeChatErrcodes, which the alarm watches."""
    session = load("session", "session_handler").lambda_handler
    fresh_sim.control("/sim/faults", {"path": "/sns/jscode2session", "errcode": 40226})
    code = fresh_sim.login_code("o-risky")
    answer = session(event("session.json", body={"code": code}), Context())
    assert answer["statusCode"] == 403
    error = json.loads(answer["body"])["error"]
    assert (error["code"], error["wechat_errcode"]) == ("login_high_risk", 40226)
    assert "high risk" in error["message"] and "高风险" in error["message_zh"]
    names = metric_names(emf(capsys.readouterr().out))
    assert "WeChatErrcodesByEndpoint" in names
    assert "WeChatErrcodes" not in names


def test_expired_results_are_filtered_on_read_before_ttl_deletes_them(
    deployment: Deployment, fresh_sim: RunningSim
) -> None:
    """DynamoDB's TTL deletes late: a result past its retention must already be gone for the API."""
    refresh(deployment)
    token = login(fresh_sim, "o-retention")
    keys = load("face_keys", "keys_handler").lambda_handler
    verify_id = json.loads(keys(event("face_keys.json", token=token), Context())["body"])["verify_id"]
    fresh_sim.control("/sim/verify", {"openid": "o-retention", "verify_id": verify_id})
    results = load("face_results", "results_handler").lambda_handler
    assert (
        results(event("face_results_v2.json", token=token, body={"verify_id": verify_id}), Context())[
            "statusCode"
        ]
        == 200
    )

    table, data_key = Table(deployment.table), container().data_key
    lookup = ResultLookup(
        table, wechat_calls(ClientConfig.of(base_url=fresh_sim.url)), data_key, retention_s=60
    )
    caller = Session("o-retention", int(time.time()) - 60)
    assert latest(caller, table=table, data_key=data_key).passed is True
    later = 10**10  # far past any retention, while the items are still in the table
    with pytest.raises(DomainError) as err:
        latest(caller, table=table, data_key=data_key, now=later)
    assert from_domain(err.value).status == 404
    # Past the key's lookup window too: the stored result is not served and the key is unknown.
    with pytest.raises(DomainError) as err:
        lookup.v2(caller, verify_id, now=later)
    assert from_domain(err.value).status == 404


def test_parameters_the_stack_writes_use_the_customer_managed_key(
    deployment: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    kms = boto3.client("kms", endpoint_url=deployment.endpoint, region_name="us-east-1",
                       aws_access_key_id="testing", aws_secret_access_key="testing")  # fmt: skip
    key_id = kms.create_key(Description="customer-managed")["KeyMetadata"]["Arn"]
    monkeypatch.setenv("SSM_KMS_KEY_ID", key_id)
    name = f"{deployment.path}/cmk-test"
    assert container().params.put(name, "value") is True  # as a function's container writes
    ssm = clients(deployment.endpoint)["ssm"]
    described = ssm.describe_parameters(ParameterFilters=[{"Key": "Name", "Values": [name]}])["Parameters"][0]
    assert described["Type"] == "SecureString"
    assert described["KeyId"] == key_id
    monkeypatch.delenv("SSM_KMS_KEY_ID")
    assert container().params.put(f"{deployment.path}/default-key", "value") is True
    default = ssm.describe_parameters(
        ParameterFilters=[{"Key": "Name", "Values": [f"{deployment.path}/default-key"]}]
    )
    assert default["Parameters"][0]["KeyId"] == "alias/aws/ssm"
