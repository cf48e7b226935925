"""What the template promises an operator, read from template.yaml itself."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from devstack.template import read

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return read(ROOT / "template.yaml")


def of_type(template: dict[str, Any], kind: str) -> dict[str, Any]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


def test_parameters_an_operator_sets(template: dict[str, Any]) -> None:
    params = template["Parameters"]
    assert params["FaceApiVersion"]["Default"] == "2"
    assert params["FaceApiVersion"]["AllowedValues"] == ["1", "2"]
    for name in ("WeChatAppId", "WeChatAppSecretParamName", "WeChatBaseUrl", "Stage", "ResultRetentionDays",
                 "RefresherReservedConcurrency", "EnableFixedEgressIp", "CustomDomainName", "KmsKeyArn",
                 "AlarmEmail", "Architecture"):  # fmt: skip
        assert name in params
    assert params["EnableFixedEgressIp"]["Default"] == "false"
    assert params["CustomDomainName"]["Default"] == ""
    assert params["RefresherReservedConcurrency"]["Default"] == 1


def test_table_is_on_demand_with_ttl_pitr_and_encryption(template: dict[str, Any]) -> None:
    (table,) = of_type(template, "AWS::DynamoDB::Table").values()
    props = table["Properties"]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["TimeToLiveSpecification"] == {"AttributeName": "ttl", "Enabled": True}
    assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert "SSESpecification" in props


def test_every_function_has_its_log_group_with_retention(template: dict[str, Any]) -> None:
    functions = of_type(template, "AWS::Serverless::Function")
    groups = of_type(template, "AWS::Logs::LogGroup")
    named = {g["Properties"]["LogGroupName"]["Fn::Sub"] for g in groups.values()}
    for name in functions:
        assert f"/aws/lambda/${{{name}}}" in named
    assert all(g["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"} for g in groups.values())


def test_refresher_is_one_scheduled_writer_with_failure_handling(template: dict[str, Any]) -> None:
    props = template["Resources"]["TokenRefresherFunction"]["Properties"]
    assert props["Events"]["Schedule"]["Type"] == "Schedule"
    assert props["Events"]["Schedule"]["Properties"]["DeadLetterConfig"]
    assert props["EventInvokeConfig"]["DestinationConfig"]["OnFailure"]["Type"] == "SQS"
    assert props["ReservedConcurrentExecutions"]["Fn::If"][0] == "ReserveRefresherConcurrency"
    assert props["VpcConfig"]["Fn::If"][0] == "FixedEgressIp"


def test_alarms_go_to_the_topic(template: dict[str, Any]) -> None:
    alarms = of_type(template, "AWS::CloudWatch::Alarm")
    assert set(alarms) >= {"RefresherErrorsAlarm", "RefresherFailuresAlarm", "TokenNotRefreshedAlarm",
                           "WeChatErrorsAlarm", "Api5xxAlarm", "ThrottlesAlarm"}  # fmt: skip
    for alarm in alarms.values():
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": "AlarmTopic"}]
    runbook = (ROOT / "docs" / "runbook.md").read_text(encoding="utf-8")
    for name in alarms:
        assert f"## {name.removesuffix('Alarm')}" in runbook, f"docs/runbook.md explains {name}"


def test_token_alarm_watches_the_metric_the_refresher_emits(template: dict[str, Any]) -> None:
    alarm = template["Resources"]["TokenNotRefreshedAlarm"]["Properties"]
    source = (ROOT / "functions" / "token_refresher" / "refresher_handler.py").read_text()
    assert f'observed.count("{alarm["MetricName"]}"' in source
    # ... with the dimension the alarm watches: the function's service name.
    dimensions = {d["Name"]: d["Value"] for d in alarm["Dimensions"]}
    assert f'for_function("{dimensions["service"]}")' in source
    assert alarm["Threshold"] == 300  # WeChat's overlap of old and new token
    assert alarm["TreatMissingData"] == "breaching"  # a refresher that stopped reporting is an alarm


def test_optional_features_are_off_by_default(template: dict[str, Any]) -> None:
    conditional = {k: v.get("Condition") for k, v in template["Resources"].items()}
    assert conditional["EgressNatGateway"] == "FixedEgressIp"
    assert conditional["ApiDomainName"] == "HasCustomDomain"
    assert template["Outputs"]["EgressIp"]["Condition"] == "FixedEgressIp"


def test_samconfig_has_dev_and_prod() -> None:
    config = tomllib.loads((ROOT / "samconfig.toml").read_text())
    assert (
        config["dev"]["global"]["parameters"]["stack_name"]
        != config["prod"]["global"]["parameters"]["stack_name"]
    )
    for env in ("dev", "prod"):
        deploy = config[env]["deploy"]["parameters"]
        assert deploy["capabilities"] == "CAPABILITY_IAM"
        assert f"Stage={env}" in deploy["parameter_overrides"]


def test_quota_alarm_watches_the_metric_the_guard_emits(template: dict[str, Any]) -> None:
    alarm = template["Resources"]["WeChatQuotaAlarm"]["Properties"]
    source = (ROOT / "layers" / "wechat" / "wxface" / "observability.py").read_text()
    assert f'count("{alarm["MetricName"]}", {{"service": "wechat"}})' in source
    assert alarm["Dimensions"] == [{"Name": "service", "Value": "wechat"}]


def test_the_signing_key_is_rotated_on_a_schedule_by_its_own_function(template: dict[str, Any]) -> None:
    props = template["Resources"]["KeyRotatorFunction"]["Properties"]
    assert props["Events"]["Schedule"]["Properties"]["Schedule"] == {
        "Fn::Sub": "rate(${SigningKeyRotationDays} days)"
    }
    assert props["EventInvokeConfig"]["DestinationConfig"]["OnFailure"]["Type"] == "SQS"
    env = template["Globals"]["Function"]["Environment"]["Variables"]
    for name in ("LOOKUP_LIMIT_PER_HOUR", "SESSION_LIMIT_PER_ADDRESS_PER_HOUR", "WECHAT_DAILY_QUOTAS",
                 "QUOTA_ALARM_PERCENT", "QUOTA_REFUSE_PERCENT", "AUDIT_RETENTION_DAYS", "KEY_CACHE_SECONDS",
                 "SECRET_CACHE_SECONDS"):  # fmt: skip
        assert name in env, name


def test_face_data_erased_waits_for_every_function_that_puts_events_and_is_put_within_90_s(
    template: dict[str, Any],
) -> None:
    """The contract: no FaceVerificationCompleted of a result stored before an erasure, or by a
    request in flight at it, is put after the user's FaceDataErased, which is put within 90 s of
    the 204. A send from memory lasts at most its function's Timeout, so FaceDataErased waits
    longer than the longest Timeout of any function allowed to put events; the emitter, every
    minute, puts it then."""
    from wxface.domain.events import ERASED_DELAY_S

    functions = of_type(template, "AWS::Serverless::Function")
    default_timeout = template["Globals"]["Function"]["Timeout"]
    roles = of_type(template, "AWS::IAM::Role")

    def puts_events(role: dict[str, Any]) -> bool:
        for policy in role["Properties"].get("Policies", []):
            document = policy.get("PolicyDocument", {}) if isinstance(policy, dict) else {}
            for statement in document.get("Statement", []):
                actions = statement.get("Action", [])
                if statement.get("Effect") == "Allow" and "events:PutEvents" in (
                    actions if isinstance(actions, list) else [actions]
                ):
                    return True
        return False

    putting = {
        name: fn["Properties"].get("Timeout", default_timeout)
        for name, fn in functions.items()
        if puts_events(roles[fn["Properties"]["Role"]["Fn::GetAtt"][0]])
    }
    assert set(putting) >= {"FaceResultsFunction", "EventEmitterFunction", "ResultSweeperFunction"}
    assert all(timeout < ERASED_DELAY_S for timeout in putting.values()), putting
    emitter = functions["EventEmitterFunction"]["Properties"]
    (schedule,) = [e for e in emitter["Events"].values() if e["Type"] == "Schedule"]
    assert schedule["Properties"]["Schedule"] == "rate(1 minute)"
    assert ERASED_DELAY_S + 60 + putting["EventEmitterFunction"] <= 90


def test_route_throttles_are_parameters_and_the_results_route_gets_its_two_requests_a_verification(
    template: dict[str, Any],
) -> None:
    """What one deployment sustains is set by parameters: each route's rate and burst, and twice
    both on POST /v1/face/results, which a verification calls twice (the lookup, then the latest
    or a repeat) where it calls every other route once."""
    from tests.support.tools import transform

    stage = next(
        r["Properties"]
        for r in transform().get("Resources", {}).values()
        if r["Type"] == "AWS::ApiGatewayV2::Stage"
    )
    assert stage["DefaultRouteSettings"] == {
        "ThrottlingBurstLimit": {"Ref": "RouteBurstLimit"},
        "ThrottlingRateLimit": {"Ref": "RouteRateLimit"},
    }
    assert stage["RouteSettings"] == {
        "POST /v1/face/results": {
            "ThrottlingBurstLimit": {"Ref": "ResultsRouteBurstLimit"},
            "ThrottlingRateLimit": {"Ref": "ResultsRouteRateLimit"},
        }
    }
    params = template["Parameters"]
    assert params["ResultsRouteRateLimit"]["Default"] == 2 * params["RouteRateLimit"]["Default"]
    assert params["ResultsRouteBurstLimit"]["Default"] == 2 * params["RouteBurstLimit"]["Default"]
    # The defaults stay what a small deployment had: 100 a second, bursts of 200, on each route.
    assert (params["RouteRateLimit"]["Default"], params["RouteBurstLimit"]["Default"]) == (100, 200)


def test_capacity_settings_are_parameters_and_cost_nothing_at_their_defaults() -> None:
    """The outbox's and the pending checks' partitions reach every function (QueueShards, 8 by
    default: about 1,000 verifications a second for a few idle Queries a minute); DynamoDB warm
    throughput is off unless WarmWriteUnits or WarmReadUnits is set (pre-warming is billed when
    raised)."""
    from devstack.template import resolver_for
    from tests.support.tools import transform

    doc = transform()

    def warm(**overrides: str) -> Any:
        resolve, _ = resolver_for(doc, stack_name="s", overrides=overrides)
        value = doc["Resources"]["Table"]["Properties"]["WarmThroughput"]
        while isinstance(value, dict) and "Fn::If" in value:
            name, yes, no = value["Fn::If"]
            value = yes if resolve.condition(name) else no
        return {k: resolve.value(v) for k, v in value.items()} if "Ref" not in value else value["Ref"]

    assert warm() == "AWS::NoValue"
    assert warm(WarmWriteUnits="20000") == {"WriteUnitsPerSecond": "20000"}
    assert warm(WarmReadUnits="60000") == {"ReadUnitsPerSecond": "60000"}
    both = {"WriteUnitsPerSecond": "20000", "ReadUnitsPerSecond": "60000"}
    assert warm(WarmWriteUnits="20000", WarmReadUnits="60000") == both
    default, _ = resolver_for(doc, stack_name="s")
    shards, _ = resolver_for(doc, stack_name="s", overrides={"QueueShards": "16"})
    functions = {k: r for k, r in doc["Resources"].items() if r["Type"] == "AWS::Lambda::Function"}
    for name, fn in functions.items():
        variables = fn["Properties"].get("Environment", {}).get("Variables", {})
        assert default.value(variables["QUEUE_SHARDS"]) == "8", name
        assert shards.value(variables["QUEUE_SHARDS"]) == "16", name
        assert default.value(variables["SWEEP_PARTS"]) == "1", name  # one sweep run a minute
    from wxface.ports.records import DEFAULT_SHARDS, SHARD_COUNTS

    param = doc["Parameters"]["QueueShards"]
    assert param["Default"] == DEFAULT_SHARDS and tuple(param["AllowedValues"]) == SHARD_COUNTS
