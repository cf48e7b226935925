"""Generate docs/openapi-v1.yaml and docs/openapi-v2.yaml, one per face API version, from the API
functions' own routes (wxface.api.router) and models (their JSON Schemas, from msgspec).

``python tools/openapi.py`` writes the files; ``--check`` exits 1 when a checked-in file differs
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
VERSIONS = (1, 2)


def output(version: int) -> Path:
    return ROOT / "docs" / f"openapi-v{version}.yaml"


HANDLERS = (
    ("session", "session_handler"),
    ("face_keys", "keys_handler"),
    ("face_results", "results_handler"),
    ("face_orders", "orders_handler"),
)
DESCRIPTION = """\
The backend of WeChat mini-program face verification (人脸核身), for a deployment of face API
{version}.0 (`FaceApiVersion={version}`: {fields}); the other version has its own document. Every
route but `POST /v1/session` and the business's routes (`GET /v1/users/{{openid}}/face/results/latest`,
the orders and the photo) needs `Authorization: Bearer <token>` from `POST /v1/session`; the
business's routes are authorised by AWS IAM (SigV4), never by a session. Errors carry `{{"error": {{"code", "message", "message_zh",
"wechat_errcode", "request_id"}}}}`; what API Gateway answers itself (IAM refusals, unknown routes)
is `{{"message": "..."}}`.
"""
IAM_SCHEME = {
    "type": "apiKey",
    "name": "Authorization",
    "in": "header",
    "description": "AWS Signature Version 4 (service execute-api), by an IAM identity allowed "
    "execute-api:Invoke on this route: attach the stack's managed policy for it (stack outputs "
    "ResultReaderPolicy: a user's latest result; OrderManagerPolicy: create, read and cancel orders; "
    "OrderPhotoPolicy: the photo)",
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


class _Dumper(yaml.SafeDumper):
    pass


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def _for_version(node: Any, version: int) -> Any:
    """The document of one face API version: where the models offer both versions' bodies
    (``oneOf`` of ``...V1`` and ``...V2``), only this version's; ``api_version`` only this one."""
    suffix = f"V{version}"
    if isinstance(node, dict):
        alternatives = node.get("oneOf")
        if isinstance(alternatives, list) and all("$ref" in a for a in alternatives):
            mine = [a for a in alternatives if a["$ref"].endswith(suffix)]
            if len(mine) == 1 and len(alternatives) == 2:
                rest = {k: v for k, v in node.items() if k not in ("oneOf", "discriminator")}
                return {**rest, **mine[0]} if not rest else {**rest, "allOf": mine}
        out = {k: _for_version(v, version) for k, v in node.items()}
        api_version = out.get("properties", {}).get("api_version", {})
        if api_version.get("enum") == [1, 2]:
            api_version["enum"] = [version]
        return out
    if isinstance(node, list):
        return [_for_version(v, version) for v in node]
    return node


def _refs(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = {node["$ref"].rsplit("/", 1)[1]} if isinstance(node.get("$ref"), str) else set()
        return found.union(*(_refs(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(_refs(v) for v in node))
    return set()


def _referenced(document: dict[str, Any]) -> dict[str, Any]:
    """Drops the schemas nothing refers to any more (the other version's bodies): keeps what the
    paths and the other components refer to, and everything those refer to, at any depth."""
    schemas = document["components"]["schemas"]
    outside = {k: v for k, v in document.items() if k != "components"}
    others = {k: v for k, v in document["components"].items() if k != "schemas"}
    used: set[str] = set()
    pending = _refs(outside) | _refs(others)
    while pending:
        name = pending.pop()
        if name not in used and name in schemas:
            used.add(name)
            pending |= _refs(schemas[name]) - used
    for name in [n for n in schemas if n not in used]:
        del schemas[name]
    return document


REF = "#/components/schemas/{name}"
SECURITY_SCHEMES = {
    "session": {
        "type": "http",
        "description": "Token from POST /v1/session",
        "scheme": "bearer",
        "bearerFormat": "JWT",
    },
    "iam": IAM_SCHEME,
}


def _schema(model: Any, components: dict[str, Any]) -> dict[str, Any]:
    """A model's (or a :class:`OneOf`'s) JSON Schema: each model one component, referred to by
    ``$ref``; what a model documents beyond what it enforces (``DOCUMENTED``) written over it."""
    import msgspec

    from wxface.api.models import DOCUMENTED
    from wxface.api.router import OneOf

    members = model.members if isinstance(model, OneOf) else (model,)
    refs, found = msgspec.json.schema_components(members, ref_template=REF)
    for name, schema in found.items():
        for prop, extra in DOCUMENTED.get(name, {}).items():
            schema["properties"][prop].update(extra)
        components[name] = schema
    if not isinstance(model, OneOf):
        return dict(refs[0])
    union: dict[str, Any] = {"oneOf": list(refs)}
    if not model.name:
        return union
    components[model.name] = {"title": model.name, "description": model.description, **union}
    return {"$ref": REF.format(name=model.name)}


def _operation(route: Any, components: dict[str, Any]) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "tags": list(route.tags),
        "summary": route.summary,
        "operationId": route.operation_id,
    }
    parameters = [
        {
            "name": p.name,
            "in": "path",
            "required": True,
            "description": p.description,
            "schema": {"type": "string", **({"pattern": p.pattern} if p.pattern else {})},
        }
        for p in route.path_params
    ] + [
        {"name": h.name, "in": "header", "required": False, "description": h.description, "schema": h.schema}
        for h in route.headers
    ]
    if parameters:
        operation["parameters"] = parameters
    if route.body is not None:
        operation["requestBody"] = {
            "content": {"application/json": {"schema": _schema(route.body, components)}},
            "required": True,
        }
    answers: dict[str, Any] = {}
    for status, documented in sorted(route.responses.items()):
        answer = {"description": documented["description"]}
        if "content" in documented:
            model = documented["content"]["application/json"]["model"]
            answer["content"] = {"application/json": {"schema": _schema(model, components)}}
        answers[str(status)] = answer
    operation["responses"] = answers
    if route.security is not None:
        operation["security"] = [{route.security: []}]
    return operation


def generate(version: int) -> str:
    paths: dict[str, Any] = {}
    components: dict[str, Any] = {}
    for function_dir, module in HANDLERS:
        for route in _load(function_dir, module).app.routes.values():
            paths.setdefault(route.path, {})[route.method.lower()] = _operation(route, components)
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": "WeChat face verification backend",
            "description": DESCRIPTION.format(
                version=version,
                fields="`user_id_key`, `verify_result`" if version == 1 else "`verify_id`",
            ),
            "version": "1.0.0",
        },
        "servers": [{"url": "http://127.0.0.1:3000", "description": "make run"}],
        "paths": dict(sorted(paths.items())),
        "components": {"schemas": dict(sorted(components.items())), "securitySchemes": SECURITY_SCHEMES},
    }
    document = _iam_routes(_one_of(document))
    document = _referenced(_for_version(document, version))
    return yaml.dump(document, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--check", action="store_true", help="fail if a checked-in document is not up to date"
    )
    args = parser.parse_args()
    for version in VERSIONS:
        text, path = generate(version), output(version)
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                print(f"{path.relative_to(ROOT)} is out of date: run `make openapi`", file=sys.stderr)
                return 1
            continue
        path.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
