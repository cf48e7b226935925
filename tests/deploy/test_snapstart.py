"""SnapStart is opt-in (SnapStart=true), on the API functions' published versions only, which
their routes reach through the alias ``live``; not in the China regions; a replaced version is
deleted with its snapshot. Checked on the template as CloudFormation sees it after the SAM
transform, its conditions resolved for each partition."""

from __future__ import annotations

from typing import Any

import pytest

from devstack.template import AWS, AWS_CN, Partition, resolver_for
from tests.support.tools import transform

API_FUNCTIONS = ("SessionFunction", "FaceKeysFunction", "FaceResultsFunction", "FaceOrdersFunction")
SCHEDULED = ("TokenRefresherFunction", "KeyRotatorFunction", "EventEmitterFunction", "ResultSweeperFunction")


@pytest.fixture(scope="module")
def transformed() -> dict[str, Any]:
    return transform()


def applied(template: dict[str, Any], function: str, partition: Partition, **overrides: str) -> Any:
    resolve, _ = resolver_for(template, stack_name="s", overrides=overrides, partition=partition)
    return resolve.value(template["Resources"][function]["Properties"]["SnapStart"]["ApplyOn"])


@pytest.mark.parametrize("function", API_FUNCTIONS)
def test_off_by_default_on_when_asked_never_in_china(transformed: dict[str, Any], function: str) -> None:
    assert applied(transformed, function, AWS) == "None"
    assert applied(transformed, function, AWS, SnapStart="true") == "PublishedVersions"
    assert applied(transformed, function, AWS_CN, SnapStart="true") == "None"
    assert transformed["Resources"][function]["Properties"]["Runtime"] in ("python3.12", "python3.13")


@pytest.mark.parametrize("function", API_FUNCTIONS)
def test_the_routes_invoke_the_alias_of_a_published_version(
    transformed: dict[str, Any], function: str
) -> None:
    resources = transformed["Resources"]
    alias = resources[f"{function}Aliaslive"]
    assert alias["Type"] == "AWS::Lambda::Alias" and alias["Properties"]["Name"] == "live"
    version_id = alias["Properties"]["FunctionVersion"]["Fn::GetAtt"][0]
    version = resources[version_id]
    assert version["Type"] == "AWS::Lambda::Version"
    # A replaced version is deleted (and its snapshot with it), not retained and billed.
    assert version["DeletionPolicy"] == "Delete"
    permissions = [
        r["Properties"]
        for r in resources.values()
        if r["Type"] == "AWS::Lambda::Permission" and r["Properties"]["Principal"] == "apigateway.amazonaws.com"
        and r["Properties"]["FunctionName"] in ({"Ref": function}, {"Ref": f"{function}Aliaslive"})
    ]  # fmt: skip
    assert permissions and all(p["FunctionName"] == {"Ref": f"{function}Aliaslive"} for p in permissions)
    paths = str(resources["HttpApi"]["Properties"]["Body"]["paths"])
    assert f"${{{function}Aliaslive}}/invocations" in paths
    assert f"${{{function}.Arn}}/invocations" not in paths


@pytest.mark.parametrize("function", SCHEDULED)
def test_the_scheduled_functions_stay_unversioned(transformed: dict[str, Any], function: str) -> None:
    props = transformed["Resources"][function]["Properties"]
    assert "SnapStart" not in props
    assert f"{function}Aliaslive" not in transformed["Resources"]
