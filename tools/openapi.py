"""Generate docs/openapi.yaml from the API functions' own Powertools resolvers and models.

``python tools/openapi.py`` writes the file; ``--check`` exits 1 when the checked-in file differs
(`make test` runs the drift check as a test). Runs in the product's virtualenv, with the layer
and the functions importable (the Makefile sets PYTHONPATH).
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "docs" / "openapi.yaml"
HANDLERS = (
    ("session", "session_handler"),
    ("face_keys", "keys_handler"),
    ("face_results", "results_handler"),
)
DESCRIPTION = """\
The backend of WeChat mini-program face verification (人脸核身). One document serves both face
API versions: a deployment uses 1.0 (`user_id_key`, `verify_result`) or 2.0 (`verify_id`), and
the version-specific bodies are `oneOf` alternatives. Every route but `POST /v1/session` and
the business's `GET /v1/users/{openid}/face/results/latest` needs `Authorization: Bearer <token>`
from `POST /v1/session`; the business's route is authorised by AWS IAM (SigV4), never by a
session. Errors carry `{"error": {"code", "message", "message_zh", "wechat_errcode",
"request_id"}}`; what API Gateway answers itself (IAM refusals) is `{"message": "..."}`.
"""
IAM_SCHEME = {
    "type": "apiKey",
    "name": "Authorization",
    "in": "header",
    "description": "AWS Signature Version 4 (service execute-api), by an IAM identity allowed "
    "execute-api:Invoke on this route: attach the stack's ResultReaderPolicy (stack output) to it",
    "x-amazon-apigateway-authtype": "awsSigv4",
}
GATEWAY_403 = {
    "description": "API Gateway refused the request: unsigned, a signature that does not verify, or a "
    "caller IAM does not allow execute-api:Invoke on the route",
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "properties": {"message": {"type": "string", "examples": ["Forbidden"]}},
                "required": ["message"],
            }
        }
    },
}


def _iam_routes(document: dict[str, Any]) -> dict[str, Any]:
    """The IAM-authorised routes: the SigV4 scheme, and API Gateway's own 403 body."""
    document["components"].setdefault("securitySchemes", {})["iam"] = IAM_SCHEME
    for operations in document["paths"].values():
        for operation in operations.values():
            if any("iam" in requirement for requirement in operation.get("security", [])):
                operation["responses"]["403"] = GATEWAY_403
    return document


def _load(function_dir: str, module: str) -> Any:
    path = ROOT / "functions" / function_dir / f"{module}.py"
    spec = importlib.util.spec_from_file_location(f"openapi_{module}", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _one_of(node: Any) -> Any:
    """The version-specific alternatives exclude each other (unknown fields are refused):
    say so with oneOf, as pydantic's anyOf for a plain union does not."""
    if isinstance(node, dict):
        out = {k: _one_of(v) for k, v in node.items()}
        if "anyOf" in out and all("$ref" in alt for alt in out["anyOf"]):
            out["oneOf"] = out.pop("anyOf")
        return out
    if isinstance(node, list):
        return [_one_of(v) for v in node]
    return node


def _without_422(document: dict[str, Any]) -> dict[str, Any]:
    """Powertools documents 422 for its validation errors; this API answers them with 400."""
    for operations in document["paths"].values():
        for operation in operations.values():
            operation.get("responses", {}).pop("422", None)
            # Powertools gives every answer a default JSON body; a 204 has none.
            operation.get("responses", {}).get("204", {}).pop("content", None)
    schemas = document["components"]["schemas"]
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    return document


class _Dumper(yaml.SafeDumper):
    pass


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def generate() -> str:
    from aws_lambda_powertools.event_handler.openapi.models import APIKey, APIKeyIn, HTTPBearer

    document: dict[str, Any] = {}
    for function_dir, module in HANDLERS:
        app = _load(function_dir, module).app
        schema = app.get_openapi_schema(
            title="WeChat face verification backend",
            version="1.0.0",
            description=DESCRIPTION,
            servers=[{"url": "http://127.0.0.1:3000", "description": "make run"}],
            security_schemes={
                "session": HTTPBearer(bearerFormat="JWT", description="Token from POST /v1/session"),
                "iam": APIKey(
                    name="Authorization", **{"in": APIKeyIn.header}, description=IAM_SCHEME["description"]
                ),
            },
        ).model_dump(mode="json", by_alias=True, exclude_none=True)
        if not document:
            document = schema
            continue
        document["paths"].update(schema["paths"])
        document["components"]["schemas"].update(schema["components"]["schemas"])
    document["paths"] = dict(sorted(document["paths"].items()))
    document["components"]["schemas"] = dict(sorted(document["components"]["schemas"].items()))
    document = _iam_routes(_one_of(_without_422(document)))
    return yaml.dump(document, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if docs/openapi.yaml is not up to date")
    args = parser.parse_args()
    text = generate()
    if args.check:
        if not OUTPUT.exists() or OUTPUT.read_text(encoding="utf-8") != text:
            print("docs/openapi.yaml is out of date: run `make openapi`", file=sys.stderr)
            return 1
        return 0
    OUTPUT.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
