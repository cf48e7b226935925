"""`sam build` (native, no container), then the handlers run from the built artifacts in
.aws-sam/build on the runtime's own Python, isolated from the dev virtualenv."""

from __future__ import annotations

import os
import platform
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.otlp import otlp_receiver
from tests.support.people import CAROL
from tests.support.stack import RunningStack, start_stack
from tests.support.tools import ROOT, runtime_python, tools_bin

pytestmark = pytest.mark.integration

RUNTIME = "3.13"  # template.yaml: Globals.Function.Runtime python3.13


def host_architecture() -> str:
    # An arm64 build carries aarch64 wheels (msgspec, cryptography) that do not import on x86_64.
    return "arm64" if platform.machine() in ("aarch64", "arm64") else "x86_64"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    python = runtime_python(RUNTIME)
    if python is None:
        pytest.skip(
            f"python{RUNTIME} (the Lambda runtime's Python) is not installed: sam build needs it on PATH"
        )
    build_dir = tmp_path_factory.mktemp("sam") / "build"
    env = {
        **os.environ,
        "PATH": f"{Path(python).parent}{os.pathsep}{os.environ['PATH']}",
        "SAM_CLI_TELEMETRY": "0",
    }
    out = subprocess.run(
        [tools_bin("sam"), "build", "--template", str(ROOT / "template.yaml"), "--build-dir", str(build_dir),
         "--cached", "--cache-dir", str(ROOT / ".aws-sam" / "cache"), "--region", "us-east-1",
         "--parameter-overrides", f"Architecture={host_architecture()}"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    return build_dir, python


def test_the_build_holds_each_function_and_a_complete_layer(built: tuple[Path, str]) -> None:
    build_dir, _ = built
    for name, module in (("TokenRefresherFunction", "refresher_handler"), ("SessionFunction", "session_handler"),
                         ("FaceKeysFunction", "keys_handler"), ("FaceResultsFunction", "results_handler"),
                         ("KeyRotatorFunction", "rotator_handler"), ("EventEmitterFunction", "emitter_handler"),
                         ("ResultSweeperFunction", "sweeper_handler")):  # fmt: skip
        assert (build_dir / name / f"{module}.py").is_file()
    layer = build_dir / "WeChatLayer" / "python"
    for package in ("wxface", "msgspec", "httpx", "aws_lambda_powertools", "boto3"):
        assert (layer / package).is_dir(), package
    assert list((layer / "msgspec").glob(f"*cpython-{RUNTIME.replace('.', '')}*.so"))
    assert not (layer / "pydantic").exists()  # the models are msgspec's (docs/benchmarks.md)
    # Nothing of a developer's tools ships: no caches of linters or test runners in the layer.
    assert not [p.name for p in layer.iterdir() if p.name.startswith(".")]
    # No tracing SDK: the AWS X-Ray SDK (maintenance since 2026-02-25, unsupported from 2027-02-25)
    # is not shipped; Lambda's own X-Ray integration traces the invocations.
    assert not (layer / "aws_xray_sdk").exists()


@pytest.fixture(scope="module")
def built_stack(built: tuple[Path, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    build_dir, python = built
    stack = start_stack(
        2,
        tmp_path_factory.mktemp("built") / "stack.log",
        None,
        "--template", str(build_dir / "template.yaml"), "--runtime-python", python,
    )  # fmt: skip
    yield stack
    stack.stop()


def test_the_built_handlers_serve_the_whole_flow(built_stack: RunningStack) -> None:
    stack = built_stack
    openid = f"o-built-{uuid.uuid4().hex[:8]}"
    token = stack.login(openid)
    key = stack.key_of(token, CAROL)
    stack.verify_on_phone(openid, key)
    result = stack.lookup(token, key).json()
    assert result["passed"] is True and result["identity_matched"] is True
    assert stack.call("GET", "/v1/face/results/latest", token).json() == result
    assert stack.call("DELETE", "/v1/me", token).status_code == 204
    log = stack.log_text()
    assert "Traceback" not in log


def test_the_spans_layer_ships_no_other_version_of_a_package_the_shared_layer_has(
    built: tuple[Path, str],
) -> None:
    """Lambda extracts every layer into one /opt: a package in both layers must be one version,
    or the later layer's files would overwrite the earlier's halfway."""
    build_dir, _ = built

    def versions(layer: Path) -> dict[str, str]:
        found = {}
        for info in layer.glob("*.dist-info"):
            name, _, version = info.name[: -len(".dist-info")].partition("-")
            found[name.lower().replace("_", "-")] = version
        return found

    shared, spans = (
        versions(build_dir / "WeChatLayer" / "python"),
        versions(build_dir / "SpansLayer" / "python"),
    )
    assert "opentelemetry-sdk" in spans and "opentelemetry-sdk" not in shared
    both = set(shared) & set(spans)
    assert "urllib3" in both  # botocore's and requests' (the OTLP exporter's)
    assert {name: shared[name] for name in both} == {name: spans[name] for name in both}


def test_the_built_functions_export_spans_with_spans_on(
    built: tuple[Path, str], tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Spans=otlp on the built artifacts (the runtime's own Python, both layers): the OpenTelemetry
    SDK and exporter from the spans layer work where Lambda runs them."""
    build_dir, python = built
    with otlp_receiver() as receiver:
        stack = start_stack(
            2,
            tmp_path_factory.mktemp("built-spans") / "stack.log",
            None,
            "--template", str(build_dir / "template.yaml"), "--runtime-python", python,
            "--parameter-overrides", "Spans=otlp", f"SpansEndpoint={receiver.url}",
        )  # fmt: skip
        try:
            token = stack.login(f"o-built-{uuid.uuid4().hex[:8]}")
            assert stack.issue_key(token, CAROL).status_code == 200
        finally:
            stack.stop()
        names = {(span.service, span.name) for span in receiver.spans()}
    assert ("session", "POST /v1/session") in names and ("face-keys", "POST /v1/face/keys") in names
    assert ("face-keys", "WeChat /cityservice/face/identify/getverifyid") in names
