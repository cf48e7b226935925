"""docs/openapi-v1.yaml and docs/openapi-v2.yaml are what the handlers generate, one per face API
version: they cannot drift from the code, and neither admits the other version's bodies."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


def generator() -> object:
    spec = importlib.util.spec_from_file_location("openapi_generator", ROOT / "tools" / "openapi.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


VERSIONS = pytest.mark.parametrize("version", [1, 2])


@VERSIONS
def test_checked_in_document_matches_the_handlers(version: int) -> None:
    generated = generator().generate(version)  # type: ignore[attr-defined]
    checked_in = (ROOT / "docs" / f"openapi-v{version}.yaml").read_text(encoding="utf-8")
    assert generated == checked_in, f"docs/openapi-v{version}.yaml is out of date: run `make openapi`"


@VERSIONS
def test_document_covers_the_contract(version: int) -> None:
    doc = yaml.safe_load((ROOT / "docs" / f"openapi-v{version}.yaml").read_text(encoding="utf-8"))
    operations = {(path, method) for path, ops in doc["paths"].items() for method in ops}
    assert operations == {
        ("/v1/session", "post"), ("/v1/face/keys", "post"), ("/v1/face/results", "post"),
        ("/v1/face/results/latest", "get"), ("/v1/me", "delete"),
        ("/v1/users/{openid}/face/results/latest", "get"),
        ("/v1/face/orders", "post"), ("/v1/face/orders/{order_id}", "get"),
        ("/v1/face/orders/{order_id}", "delete"), ("/v1/face/photos/{order_id}", "get"),
    }  # fmt: skip
    business = "/v1/users/{openid}/face/results/latest"
    for path, method in operations:
        op = doc["paths"][path][method]
        assert ("security" in op) is (path != "/v1/session")
        # The business's routes: IAM (SigV4) only, never a session; the rest: a session only.
        iam = path == business or path.startswith(("/v1/face/orders", "/v1/face/photos"))
        assert op.get("security", []) == (
            [{"iam": []}] if iam else [{"session": []}] if "security" in op else []
        )
        assert "422" not in op["responses"]  # validation errors are 400s here
        for status in ("400", "413", "502", "503"):
            assert op["responses"][status]["content"]["application/json"]["schema"] == {
                "$ref": "#/components/schemas/ErrorAnswer"
            }
    schemas = doc["components"]["schemas"]
    # One version's bodies only: a 1.0 body on a 2.0 stack is not schema-valid (the API refuses it).
    mine, other = f"V{version}", f"V{3 - version}"
    assert [alt["$ref"].rsplit("/", 1)[1] for alt in schemas["KeyAnswer"]["allOf"]] == [f"KeyAnswer{mine}"]
    lookup_body = doc["paths"]["/v1/face/results"]["post"]["requestBody"]["content"]["application/json"][
        "schema"
    ]
    assert lookup_body == {"$ref": f"#/components/schemas/ResultRequest{mine}"}
    assert not [name for name in schemas if name.endswith(other)]
    assert schemas["ResultAnswer"]["properties"]["api_version"]["enum"] == [version]
    # The identity rules JSON Schema can say: lengths and the characters allowed.
    key = schemas["KeyRequestTyped"]["properties"]
    assert (key["name"]["minLength"], key["name"]["maxLength"]) == (2, 64) and key["name"]["pattern"]
    assert key["id_card_number"]["minLength"] == key["id_card_number"]["maxLength"] == 18
    assert key["id_card_number"]["pattern"].startswith("^[0-9]{6}")
    assert schemas["KeyRequestTyped"]["additionalProperties"] is False
    # A key by order: the order alone (anything else is refused), one or the other.
    assert set(schemas["KeyRequestByOrder"]["properties"]) == {"order_id"}
    assert schemas["KeyRequestByOrder"]["additionalProperties"] is False
    key_body = doc["paths"]["/v1/face/keys"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert {alt["$ref"].rsplit("/", 1)[1] for alt in key_body["oneOf"]} == {
        "KeyRequestTyped",
        "KeyRequestByOrder",
    }
    assert {"order_id", "identity_source"} <= set(schemas["ResultAnswer"]["properties"])
    assert "content" not in doc["paths"]["/v1/me"]["delete"]["responses"]["204"]
    # biz_ref on the key request and in the results; the business's answer names the user.
    assert schemas["KeyRequestTyped"]["properties"]["biz_ref"]
    assert "biz_ref" in schemas["ResultAnswer"]["properties"]
    assert {"openid", "biz_ref", "passed"} <= set(schemas["UserResultAnswer"]["properties"])
    scheme = doc["components"]["securitySchemes"]["iam"]
    assert scheme["x-amazon-apigateway-authtype"] == "awsSigv4"
    gateway_403 = doc["paths"][business]["get"]["responses"]["403"]["content"]["application/json"]["schema"]
    assert gateway_403["required"] == ["message"]
